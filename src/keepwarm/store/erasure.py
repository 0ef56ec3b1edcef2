"""Erasing a client's rows: the "erasure" secret, the keyed hashes that remain, every row about
the client in every table, and matching an import's staged rows against erased identities.
The caller owns the transaction."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from keepwarm.domain import identity
from keepwarm.store import audit
from keepwarm.store.rhythms import refresh_standing_cuts
from keepwarm.store.tables import (
    activity_changes,
    activity_snapshot,
    bounces,
    client_aliases,
    client_merges,
    clients,
    database_secrets,
    erased_identities,
    erasures,
    households,
    metadata,
    outbox,
)

SECRET = "erasure"
# Secrets a restore carried in from the database it replaced ("erasure.1", ...): the erased
# identities that database recorded are hashed with them.
CARRIED = SECRET + "."
REMOVED = "(removed: it named an erased client)"
# Tables whose rows are about one client but are not found by a client_id column.
OTHER_CLIENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "client_merges": ("kept_id", "merged_id"),
    "duplicate_decisions": ("client_a", "client_b"),
}
# Tables that keep a client's number on purpose: the audit log keeps the fact (redacted).
KEPT = ("audit_log",)


def client_tables() -> list[Table]:
    """Every table with a `client_id` column (the audit log's entries are redacted instead)."""
    return [t for t in metadata.sorted_tables if "client_id" in t.c and t.name not in KEPT]


def secret(conn: Connection, now: dt.datetime) -> str:
    """The database's erasure secret, made on first use (a concurrent first use wins)."""
    query = select(database_secrets.c.value).where(database_secrets.c.name == SECRET)
    value = conn.execute(query).scalar_one_or_none()
    if value is not None:
        return str(value)
    try:
        with conn.begin_nested():
            conn.execute(
                insert(database_secrets).values(
                    name=SECRET, value=secrets.token_hex(32), created_at=now
                )
            )
    except IntegrityError:
        pass
    return str(conn.execute(query).scalar_one())


def keys(conn: Connection) -> list[str]:
    """Every secret the erased identities may be hashed with: the database's own first, then
    those a restore carried in."""
    name = database_secrets.c.name
    rows = conn.execute(
        select(name, database_secrets.c.value)
        .where(or_(name == SECRET, name.like(CARRIED + "%")))
        .order_by(name != SECRET, name)
    )
    return [str(r.value) for r in rows]


def carry_key(conn: Connection, key: str, now: dt.datetime) -> None:
    """Make `key` one of this database's erasure secrets: its own if it has none yet, else a
    carried one (nothing if it is one already)."""
    held = conn.execute(
        select(database_secrets.c.name, database_secrets.c.value).where(
            or_(database_secrets.c.name == SECRET, database_secrets.c.name.like(CARRIED + "%"))
        )
    ).all()
    if any(r.value == key for r in held):
        return
    names = {r.name for r in held}
    name = SECRET
    if SECRET in names:
        name = next(
            f"{CARRIED}{n}" for n in range(1, len(names) + 2) if f"{CARRIED}{n}" not in names
        )
    conn.execute(insert(database_secrets).values(name=name, value=key, created_at=now))


@dataclass(frozen=True)
class Person:
    """What identifies a client, read before their rows go."""

    id: int
    external_id: str
    name: str
    email: str | None
    phone: str | None
    address: str | None
    birthday: dt.date | None
    household_id: int | None
    aliases: tuple[str, ...]

    def identifiers(self) -> list[tuple[str, str]]:
        return identity.identifiers(
            ids=(self.external_id, *self.aliases),
            email=self.email,
            phone=self.phone,
            name=self.name,
            birthday=self.birthday,
        )

    def addresses(self) -> list[str]:
        """Their email and phone as stored, for rows that carry an address without the client."""
        return [a for a in (self.email, self.phone) if a]


def _birthday(value: dt.date | str | None) -> dt.date | None:
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10]) if value else None
    return value


def people(conn: Connection) -> list[Person]:
    """Every client as a Person, in three queries (`person` reads one)."""
    c = clients.c
    also: dict[int, list[str]] = {}
    for client_id, ref in conn.execute(
        select(client_aliases.c.client_id, client_aliases.c.external_id).order_by(
            client_aliases.c.client_id, client_aliases.c.external_id
        )
    ):
        also.setdefault(int(client_id), []).append(str(ref))
    for client_id, ref in conn.execute(
        select(client_merges.c.kept_id, client_merges.c.merged_external_id).order_by(
            client_merges.c.kept_id, client_merges.c.id
        )
    ):
        also.setdefault(int(client_id), []).append(str(ref))
    rows = conn.execute(
        select(
            c.id, c.external_id, c.name, c.email, c.phone, c.address, c.birthday, c.household_id
        ).order_by(c.id)
    )
    return [
        Person(
            r.id,
            r.external_id,
            r.name,
            r.email,
            r.phone,
            r.address,
            _birthday(r.birthday),
            r.household_id,
            tuple(dict.fromkeys(also.get(r.id, []))),
        )
        for r in rows
    ]


def person(conn: Connection, client_id: int) -> Person | None:
    c = clients.c
    row = conn.execute(
        select(
            c.id, c.external_id, c.name, c.email, c.phone, c.address, c.birthday, c.household_id
        ).where(c.id == client_id)
    ).one_or_none()
    if row is None:
        return None
    aliases = conn.execute(
        select(client_aliases.c.external_id).where(client_aliases.c.client_id == client_id)
    ).scalars()
    merged = conn.execute(
        select(client_merges.c.merged_external_id).where(client_merges.c.kept_id == client_id)
    ).scalars()
    birthday = _birthday(row.birthday)
    return Person(
        row.id,
        row.external_id,
        row.name,
        row.email,
        row.phone,
        row.address,
        birthday,
        row.household_id,
        tuple(dict.fromkeys([*aliases, *merged])),
    )


def record_erasure(
    conn: Connection,
    who: Person,
    *,
    reason: str,
    erased_by: str,
    now: dt.datetime,
    key: str,
) -> int:
    digests = {identity.digest(key, kind, value): kind for kind, value in who.identifiers()}
    return _insert_erasure(conn, reason, erased_by, now, digests)


def _insert_erasure(
    conn: Connection, reason: str, erased_by: str, at: dt.datetime, digests: dict[str, str]
) -> int:
    """One `erasures` row and its identities' digests (kind by digest), leaving out digests
    an earlier erasure already holds; returns the erasure's id."""
    erasure_id = int(
        conn.execute(
            insert(erasures)
            .values(reason=reason, erased_by=erased_by, erased_at=at)
            .returning(erasures.c.id)
        ).scalar_one()
    )
    known = set(
        conn.execute(
            select(erased_identities.c.digest).where(erased_identities.c.digest.in_(digests))
        ).scalars()
    )
    rows = [
        {"digest": d, "erasure_id": erasure_id, "kind": kind}
        for d, kind in digests.items()
        if d not in known
    ]
    if rows:
        conn.execute(insert(erased_identities), rows)
    return erasure_id


def delete_client(conn: Connection, who: Person, now: dt.datetime) -> dict[str, int]:
    """Delete every row about the client, redact their audit entries; returns rows per table."""
    counts: dict[str, int] = {}

    def count(name: str, n: int) -> None:
        if n:
            counts[name] = counts.get(name, 0) + n

    # First, while their row and merges say which entries are theirs (keepwarm.store.audit.about)
    count("audit_log (redacted)", audit.redact(conn, who.id, now))

    # Rows that carry their address without naming a client (a bounce not matched to a client,
    # a message to an address only); the same address on another client's rows (a family
    # sharing an email) is that client's too and stays.
    addresses = [a.casefold() for a in who.addresses()]
    nobody_at = [
        (bounces, bounces.c.client_id, bounces.c.address),
        (outbox, outbox.c.client_id, outbox.c.to_address),
    ]
    for table, client_id, address in nobody_at:
        where = client_id == who.id
        if addresses:
            where = or_(where, client_id.is_(None) & func.lower(address).in_(addresses))
        count(table.name, conn.execute(delete(table).where(where)).rowcount)
    for name, columns in OTHER_CLIENT_COLUMNS.items():
        table = metadata.tables[name]
        where = or_(*(table.c[col] == who.id for col in columns))
        count(name, conn.execute(delete(table).where(where)).rowcount)
    for table in client_tables():
        count(table.name, conn.execute(delete(table).where(table.c.client_id == who.id)).rowcount)
    count(
        "outbox (named them)",
        _redact_messages_naming(conn, [who.name, who.external_id, *who.aliases, *addresses]),
    )
    count("clients", conn.execute(delete(clients).where(clients.c.id == who.id)).rowcount)
    refresh_standing_cuts(conn)  # their rhythm went: the others' ranks moved
    # The rhythm engine's packed copy of every activity holds theirs: it goes (the next daily
    # run reads every activity afresh), and so do the change rows deleting theirs just wrote.
    conn.execute(delete(activity_snapshot))
    conn.execute(delete(activity_changes).where(activity_changes.c.client_id == who.id))
    if who.household_id is not None:
        empty = ~exists().where(clients.c.household_id == who.household_id)
        count(
            "households",
            conn.execute(
                delete(households).where(households.c.id == who.household_id, empty)
            ).rowcount,
        )
    return counts


def _redact_messages_naming(conn: Connection, words: Sequence[str]) -> int:
    """Messages about no one client (a member's morning list) that name the client: their
    text goes, the fact they were sent stays."""
    terms = [w.casefold() for w in words if w and len(w.strip()) >= 3]
    if not terms:
        return 0
    o = outbox.c
    text = func.lower(o.body + literal(" ") + func.coalesce(o.subject, ""))
    mentions = or_(*(text.contains(t, autoescape=True) for t in terms))
    result = conn.execute(
        update(outbox)
        .where(o.client_id.is_(None), o.body != REMOVED, mentions)
        .values(body=REMOVED, subject=None)
    )
    return int(result.rowcount)


def any_erased(conn: Connection) -> bool:
    return bool(conn.execute(select(exists().select_from(erased_identities))).scalar_one())


@dataclass(frozen=True)
class ErasedMatch:
    erased_at: dt.datetime
    reason: str


def matches(conn: Connection, digests: Iterable[str]) -> dict[str, ErasedMatch]:
    """Which of `digests` belong to an erased client, with when and why they were erased."""
    wanted = list(set(digests))
    found: dict[str, ErasedMatch] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = conn.execute(
            select(erased_identities.c.digest, erasures.c.erased_at, erasures.c.reason)
            .join(erasures, erasures.c.id == erased_identities.c.erasure_id)
            .where(erased_identities.c.digest.in_(chunk))
        )
        for r in rows:
            at = r.erased_at if r.erased_at.tzinfo else r.erased_at.replace(tzinfo=dt.UTC)
            found[r.digest] = ErasedMatch(at, r.reason)
    return found


@dataclass(frozen=True)
class ErasureRecord:
    """One erasure as another database recorded it: when, why, by whom, and the keyed hashes
    (digest, kind) of the erased client's identifiers."""

    erased_at: dt.datetime
    reason: str
    erased_by: str
    digests: tuple[tuple[str, str], ...]

    @property
    def fact(self) -> tuple[dt.datetime, str, str]:
        """What makes it this erasure: a backup of the same database holds the same row."""
        return (_utc(self.erased_at), self.reason, self.erased_by)


def _utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def records(conn: Connection) -> list[ErasureRecord]:
    """Every erasure this database recorded, oldest first."""
    digests: dict[int, list[tuple[str, str]]] = {}
    for r in conn.execute(
        select(erased_identities).order_by(erased_identities.c.erasure_id, erased_identities.c.kind)
    ):
        digests.setdefault(r.erasure_id, []).append((r.digest, r.kind))
    rows = conn.execute(select(erasures).order_by(erasures.c.erased_at, erasures.c.id))
    return [
        ErasureRecord(r.erased_at, r.reason, r.erased_by, tuple(digests.get(r.id, ())))
        for r in rows
    ]


def erased_by(
    everyone: Iterable[Person], hashed_with: Sequence[str], erased: Sequence[ErasureRecord]
) -> list[tuple[Person, ErasureRecord]]:
    """The people of `everyone` that one of `erased` erased (its hashes keyed with one of
    `hashed_with`): one of their business ids, or their name with birthday, hashes as one the
    erasure recorded, or two of their identifiers do. An email or a phone alone is not enough:
    a family shares them."""
    owner = {d: (n, kind) for n, r in enumerate(erased) for d, kind in r.digests}
    found: list[tuple[Person, ErasureRecord]] = []
    for who in everyone:
        kinds: dict[int, set[str]] = {}
        for kind, value in who.identifiers():
            for key in hashed_with:
                hit = owner.get(identity.digest(key, kind, value))
                if hit is not None:
                    kinds.setdefault(hit[0], set()).add(kind)
        for n, matched in kinds.items():
            if len(matched) >= 2 or matched & {"id", "name_birthday"}:
                found.append((who, erased[n]))
                break
    return found


def carry_records(conn: Connection, carried: Sequence[ErasureRecord]) -> list[ErasureRecord]:
    """Record here the erasures of `carried` this database does not hold (its secret carried
    with `carry_key` first); returns them."""
    held = {r.fact for r in records(conn)}
    new = [r for r in carried if r.fact not in held]
    for record in new:
        _insert_erasure(
            conn, record.reason, record.erased_by, record.erased_at, dict(record.digests)
        )
    return new


def staged_rows(conn: Connection, stage: Table, columns: Sequence[str]) -> Iterable[Any]:
    present = [stage.c[c] for c in columns if c in stage.c]
    return conn.execute(select(stage.c.line, *present).order_by(stage.c.line))


def drop_lines(conn: Connection, stage: Table, lines: Sequence[int]) -> None:
    for start in range(0, len(lines), 500):
        conn.execute(delete(stage).where(stage.c.line.in_(lines[start : start + 500])))


SHOWN_SKIPS = 20
_WHY = {"request": "at the client's request", "retention": "by the retention policy"}


def skip_erased(conn: Connection, stage: Table, client_column: str) -> tuple[list[str], int]:
    """Drop the staged rows of erased clients (matched by any identifier's keyed hash, with
    each of the database's erasure secrets); returns a note per dropped row ("line 7: C-1042
    was erased on 3 Dec 2026 at the client's request — not restored"), the first SHOWN_SKIPS
    of them and how many more, and how many rows were dropped. Costs nothing when no client
    was ever erased."""
    if not any_erased(conn):
        return [], 0
    hashed_with = keys(conn) or [secret(conn, dt.datetime.now(dt.UTC))]
    fields = (client_column, "email", "phone", "name", "birthday")
    by_line: dict[int, tuple[str, list[str]]] = {}
    for r in staged_rows(conn, stage, fields):
        values = r._mapping
        found = identity.identifiers(
            ids=[values[client_column]],
            email=values.get("email"),
            phone=values.get("phone"),
            name=values.get("name"),
            birthday=values.get("birthday"),
        )
        by_line[r.line] = (
            str(values[client_column]),
            [identity.digest(key, kind, v) for key in hashed_with for kind, v in found],
        )
    erased = matches(conn, (d for _, ds in by_line.values() for d in ds))
    notes: list[str] = []
    dropped: list[int] = []
    for line, (ref, digests) in sorted(by_line.items()):
        hit = next((erased[d] for d in digests if d in erased), None)
        if hit is None:
            continue
        dropped.append(line)
        if len(notes) < SHOWN_SKIPS:
            notes.append(
                f"line {line}: {ref} was erased on {hit.erased_at:%-d %b %Y} "
                f"{_WHY.get(hit.reason, hit.reason)} — not restored"
            )
    if len(dropped) > SHOWN_SKIPS:
        notes.append(f"... and {len(dropped) - SHOWN_SKIPS:,} more rows of erased clients")
    drop_lines(conn, stage, dropped)
    return notes, len(dropped)
