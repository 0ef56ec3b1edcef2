"""Households: families and companies whose members are written to once. Reads and writes;
never commits (callers own transactions).

A household's `key` is unique: the folded name or id an import wrote (keepwarm.domain.search),
or "s:<member ids>" for one the owner accepted from a suggestion. An import's value finds its
household by key first, then by folded name, so an export (which writes the name) imports back
to the same household."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update

from keepwarm.domain.search import fold
from keepwarm.store.tables import clients, household_decisions, households


@dataclass(frozen=True)
class Household:
    id: int
    key: str
    name: str
    members: int = 0


@dataclass(frozen=True)
class Member:
    """A client as the household pages show them."""

    id: int  # internal
    external_id: str
    name: str


@dataclass(frozen=True)
class Candidate:
    """What suggestions are made from: one client's name, address and phone."""

    id: int
    name: str
    last_name: str | None
    address: str | None
    phone: str | None
    household_id: int | None


def _lookup(conn: Connection) -> dict[str, int]:
    """Folded name or key -> household id (a key wins over another household's name; of two
    households with one name, the older)."""
    rows = conn.execute(select(households.c.id, households.c.key, households.c.name)).all()
    out: dict[str, int] = {}
    for hid, _key, name in sorted(rows, key=lambda r: -r.id):
        out[fold(name)] = hid
    for hid, key, _name in rows:
        out[key] = hid
    return out


def resolve_staged(conn: Connection, stage: Table, column: str, now: dt.datetime) -> list[str]:
    """Make each household a staged import names (by name or id) if new, and replace the
    staged values by their household's key, for the merge to look up. Returns the names of the
    households made."""
    col = stage.c[column]
    first = func.min(stage.c.line)
    written = [  # in file order: a new household is named as its first line writes it
        v
        for (v, _) in conn.execute(
            select(col, first).where(col.is_not(None)).group_by(col).order_by(first)
        )
    ]
    if not written:
        return []
    known = _lookup(conn)
    keys = {hid: key for hid, key in conn.execute(select(households.c.id, households.c.key)).all()}
    made: list[str] = []
    replace: list[dict[str, Any]] = []
    for value in written:
        folded = fold(value)
        hid = known.get(folded)
        if hid is None:
            hid = conn.execute(
                insert(households)
                .values(key=folded[:250], name=value, created_at=now)
                .returning(households.c.id)
            ).scalar_one()
            known[folded] = hid
            keys[hid] = folded[:250]
            made.append(value)
        replace.append({"written": value, "key": keys[hid]})
    conn.execute(
        update(stage).where(col == bindparam("written")).values({column: bindparam("key")}),
        replace,
    )
    return made


def named(conn: Connection, name: str) -> Household | None:
    """The household whose key or folded name is `name`'s folded form."""
    hid = _lookup(conn).get(fold(name))
    return by_id(conn, hid) if hid is not None else None


def by_id(conn: Connection, household_id: int) -> Household | None:
    count = (
        select(func.count())
        .where(clients.c.household_id == households.c.id)
        .scalar_subquery()
        .label("members")
    )
    row = conn.execute(
        select(households.c.id, households.c.key, households.c.name, count).where(
            households.c.id == household_id
        )
    ).first()
    return Household(row.id, row.key, row.name, row.members) if row else None


def all_households(conn: Connection) -> list[Household]:
    """Every household with members, by name."""
    count = func.count(clients.c.id)
    rows = conn.execute(
        select(households.c.id, households.c.key, households.c.name, count.label("members"))
        .join(clients, clients.c.household_id == households.c.id)
        .group_by(households.c.id, households.c.key, households.c.name)
        .order_by(func.lower(households.c.name), households.c.id)
    ).all()
    return [Household(r.id, r.key, r.name, r.members) for r in rows]


def members(conn: Connection, household_ids: Iterable[int]) -> dict[int, list[Member]]:
    """Household id -> its members, by name."""
    ids = list(household_ids)
    out: dict[int, list[Member]] = {hid: [] for hid in ids}
    if not ids:
        return out
    rows = conn.execute(
        select(clients.c.household_id, clients.c.id, clients.c.external_id, clients.c.name)
        .where(clients.c.household_id.in_(ids))
        .order_by(func.lower(clients.c.name), clients.c.id)
    ).all()
    for hid, cid, ext, name in rows:
        out[hid].append(Member(cid, ext, name))
    return out


def household_of(conn: Connection, client_id: int) -> int | None:
    return conn.execute(
        select(clients.c.household_id).where(clients.c.id == client_id)
    ).scalar_one_or_none()


def households_of(conn: Connection, client_ids: Iterable[int]) -> dict[int, int]:
    """Client id -> household id, for those of `client_ids` in a household (read as every
    client in a household: an audience may hold 100,000 ids, too many for one IN)."""
    wanted = set(client_ids)
    rows = conn.execute(
        select(clients.c.id, clients.c.household_id).where(clients.c.household_id.is_not(None))
    ).all()
    return {cid: hid for cid, hid in rows if cid in wanted}


def names(conn: Connection, household_ids: Iterable[int]) -> dict[int, str]:
    """Household id -> name."""
    ids = list(household_ids)
    if not ids:
        return {}
    rows = conn.execute(
        select(households.c.id, households.c.name).where(households.c.id.in_(ids))
    ).all()
    return {hid: name for hid, name in rows}


def create(conn: Connection, *, key: str, name: str, now: dt.datetime) -> int:
    return int(
        conn.execute(
            insert(households)
            .values(key=key[:250], name=name, created_at=now)
            .returning(households.c.id)
        ).scalar_one()
    )


def rename(conn: Connection, household_id: int, name: str) -> None:
    conn.execute(update(households).where(households.c.id == household_id).values(name=name))


def set_household(
    conn: Connection, client_ids: Sequence[int], household_id: int | None, now: dt.datetime
) -> None:
    conn.execute(
        update(clients)
        .where(clients.c.id.in_(list(client_ids)))
        .values(household_id=household_id, updated_at=now)
    )


def candidates(conn: Connection) -> list[Candidate]:
    """Every client with an address or a phone, for suggestions."""
    c = clients.c
    rows = conn.execute(
        select(c.id, c.name, c.last_name, c.address, c.phone, c.household_id).where(
            (c.address.is_not(None)) | (c.phone.is_not(None))
        )
    ).all()
    return [Candidate(*row) for row in rows]


def decided_keys(conn: Connection) -> set[str]:
    return set(conn.execute(select(household_decisions.c.key)).scalars())


def record_decision(
    conn: Connection,
    *,
    key: str,
    decision: str,
    household_id: int | None,
    by: str,
    now: dt.datetime,
) -> None:
    conn.execute(
        insert(household_decisions).values(
            key=key, decision=decision, household_id=household_id, decided_by=by, decided_at=now
        )
    )


def client_names(conn: Connection, client_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Internal id -> (business id, name)."""
    rows = conn.execute(
        select(clients.c.id, clients.c.external_id, clients.c.name).where(
            clients.c.id.in_(list(client_ids))
        )
    ).all()
    return {cid: (ext, name) for cid, ext, name in rows}


__all__ = [
    "Candidate",
    "Household",
    "Member",
    "all_households",
    "by_id",
    "candidates",
    "client_names",
    "create",
    "decided_keys",
    "household_of",
    "households_of",
    "members",
    "named",
    "names",
    "record_decision",
    "rename",
    "resolve_staged",
    "set_household",
]
