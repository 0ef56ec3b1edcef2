"""Merging one client into another, and undoing it, as set-based SQL. Never commits.

Every table with a foreign key to `clients.id` is found from the schema (so a table added later
is covered without a change here). The merged client's rows move to the kept client, except
where a unique constraint would clash with a row the kept client already has (one campaign
membership per client, one feedback request per visit, one contact flag per field, one rhythm
per client): those are set aside (kept whole in the snapshot) and deleted, so undo can put them
back. The merged client's rhythm is always set aside: the daily job learns the kept client's
again from the combined activities. Import resolves the merged client's business id through
`client_aliases` (`resolve_aliases`)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Table,
    UniqueConstraint,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.types import Date, DateTime, LargeBinary

from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.fields import CLIENT_FIELDS, FieldKind
from keepwarm.store.client_search import refresh_search_text
from keepwarm.store.tables import client_aliases, client_merges, clients, metadata, rhythms

# Rows of these tables are always set aside, never moved.
_ALWAYS_SET_ASIDE = {rhythms.name, "duplicate_decisions"}


@dataclass(frozen=True)
class ClientLink:
    """A column of `table` that refers to a client."""

    table: Table
    column: Column[Any]

    @property
    def key(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def client_links() -> list[ClientLink]:
    """Every column in the schema with a foreign key to `clients.id`, in dependency order."""
    links = []
    for table in metadata.sorted_tables:
        if table is clients:
            continue
        for column in table.columns:
            if any(fk.column is clients.c.id for fk in column.foreign_keys):
                links.append(ClientLink(table, column))
    return links


def _unique_sets(table: Table) -> list[tuple[str, ...]]:
    sets: list[tuple[str, ...]] = []
    if table.primary_key.columns:
        sets.append(tuple(c.name for c in table.primary_key.columns))
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            sets.append(tuple(c.name for c in constraint.columns))
    for index in table.indexes:
        if index.unique:
            sets.append(tuple(c.name for c in index.columns))
    for column in table.columns:
        if column.unique:
            sets.append((column.name,))
    return sets


def _row_id_column(table: Table) -> Column[Any] | None:
    pk = list(table.primary_key.columns)
    return pk[0] if len(pk) == 1 and pk[0].foreign_keys == set() else None


def _encode(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, dt.date):  # datetimes too
            out[name] = value.isoformat()
        elif isinstance(value, bytes | memoryview):
            out[name] = base64.b64encode(bytes(value)).decode()
        else:
            out[name] = value
    return out


def _decode(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        kind = table.c[name].type
        if value is not None and isinstance(kind, DateTime):
            out[name] = dt.datetime.fromisoformat(value)
        elif value is not None and isinstance(kind, Date):
            out[name] = dt.date.fromisoformat(value)
        elif value is not None and isinstance(kind, LargeBinary):
            out[name] = base64.b64decode(value)
        else:
            out[name] = value
    return out


def _clashes(conn: Connection, link: ClientLink, kept: int, merged: int) -> list[dict[str, Any]]:
    """The merged client's rows of `link` that would break a unique constraint on the kept
    client (whole rows)."""
    t, col = link.table, link.column
    if t.name in _ALWAYS_SET_ASIDE:
        return [dict(r._mapping) for r in conn.execute(select(t).where(col == merged))]
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for names in _unique_sets(t):
        if col.name not in names:
            continue
        others = [t.c[n] for n in names if n != col.name]
        mine = t.alias("mine")
        query = select(t).where(col == merged)
        if others:
            query = query.where(
                select(mine.c[col.name])
                .where(mine.c[col.name] == kept, *(mine.c[o.name] == o for o in others))
                .exists()
            )
        else:
            query = query.where(select(mine.c[col.name]).where(mine.c[col.name] == kept).exists())
        for r in conn.execute(query):
            row = dict(r._mapping)
            found[tuple(sorted((k, str(v)) for k, v in row.items()))] = row
    return list(found.values())


def _where_row(table: Table, row: Mapping[str, Any]) -> Any:
    rid = _row_id_column(table)
    if rid is not None:
        return rid == row[rid.name]
    return and_(*(table.c[c.name] == row[c.name] for c in table.primary_key.columns))


def move_rows(
    conn: Connection, kept: int, merged: int
) -> tuple[dict[str, list[Any]], dict[str, list[dict[str, Any]]]]:
    """Move every row referring to `merged` to `kept`; returns (moved row ids per link,
    set-aside rows per table, encoded for JSON)."""
    moved: dict[str, list[Any]] = {}
    aside: dict[str, list[dict[str, Any]]] = {}
    for link in client_links():
        t, col = link.table, link.column
        for row in _clashes(conn, link, kept, merged):
            aside.setdefault(t.name, []).append(_encode(t, row))
            conn.execute(delete(t).where(_where_row(t, row)))
        rid = _row_id_column(t)
        if rid is None:
            rest = [dict(r._mapping) for r in conn.execute(select(t).where(col == merged))]
            if rest:
                raise InvalidInput(f"cannot merge: rows of {t.name} have no id to move by")
            continue
        ids = sorted(conn.execute(select(rid).where(col == merged)).scalars())
        if ids:
            conn.execute(update(t).where(col == merged).values({col.name: kept}))
            moved[link.key] = ids
    return moved, aside


# Fields a merge may fill on the kept client when theirs is empty (status, flags and ids are
# the kept client's own; a do-not-contact flag is carried over: the stricter wish wins).
_FILLED = [
    f.column
    for f in CLIENT_FIELDS
    if f.kind not in (FieldKind.ID, FieldKind.STATUS, FieldKind.FLAG)
]
_CARRIED_FLAGS = [f.column for f in CLIENT_FIELDS if f.kind is FieldKind.FLAG]


def client_row(conn: Connection, internal_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(clients).where(clients.c.id == internal_id)).first()
    return None if row is None else dict(row._mapping)


def _empty(value: Any) -> bool:
    return value is None or value == ""


def fill_kept(
    conn: Connection, kept: Mapping[str, Any], other: Mapping[str, Any], now: dt.datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fill the kept client's empty fields from the other's; returns the kept client's values
    before and after, of the columns changed (with `updated_at` when any was)."""
    changes: dict[str, Any] = {}
    for name in [*_FILLED, "household_id"]:
        if _empty(kept[name]) and not _empty(other[name]):
            changes[name] = other[name]
    for name in _CARRIED_FLAGS:
        if other[name] and not kept[name]:
            changes[name] = True
    if changes:
        conn.execute(
            update(clients)
            .where(clients.c.id == kept["id"])
            .values(**changes, search_text=None, updated_at=now)
        )
        refresh_search_text(conn, kept["id"])
        changes["updated_at"] = now
    return {name: kept[name] for name in changes}, changes


def write_merge(
    conn: Connection,
    *,
    kept: Mapping[str, Any],
    other: Mapping[str, Any],
    score: float | None,
    explanation: str,
    snapshot: Mapping[str, Any],
    by: str,
    now: dt.datetime,
) -> int:
    merge_id = conn.execute(
        insert(client_merges)
        .values(
            kept_id=kept["id"],
            merged_id=other["id"],
            merged_external_id=other["external_id"],
            score=score,
            explanation=explanation,
            snapshot=json.dumps(snapshot, sort_keys=True),
            merged_by=by,
            merged_at=now,
        )
        .returning(client_merges.c.id)
    ).scalar_one()
    conn.execute(
        insert(client_aliases).values(
            external_id=other["external_id"],
            client_id=kept["id"],
            merge_id=merge_id,
            created_at=now,
        )
    )
    return int(merge_id)


def encode_client(row: Mapping[str, Any]) -> dict[str, Any]:
    return _encode(clients, row)


def decode_client(row: Mapping[str, Any]) -> dict[str, Any]:
    return _decode(clients, row)


def _links_by_key() -> dict[str, ClientLink]:
    return {link.key: link for link in client_links()}


def undo_problems(
    conn: Connection, merge: Mapping[str, Any], snapshot: Mapping[str, Any]
) -> list[str]:
    """Why the merge cannot be undone now (empty: it can)."""
    problems: list[str] = []
    kept, merged = merge["kept_id"], merge["merged_id"]
    other = snapshot["merged"]
    if conn.execute(select(clients.c.id).where(clients.c.id == merged)).first() is not None:
        problems.append(f"the merged client's internal id {merged} is used by another client now")
    taken = conn.execute(
        select(clients.c.id).where(clients.c.external_id == other["external_id"])
    ).first()
    if taken is not None:
        problems.append(
            f"a client with id {other['external_id']} exists again (imported after the merge?)"
        )
    links = _links_by_key()
    for key, ids in snapshot["moved"].items():
        link = links.get(key)
        if link is None:
            problems.append(f"table {key} no longer exists")
            continue
        rid = _row_id_column(link.table)
        assert rid is not None
        elsewhere = conn.execute(
            select(rid).where(rid.in_(ids), link.column != kept, link.column.is_not(None))
        ).first()
        if elsewhere is not None:
            problems.append(
                f"a row of {link.table.name} moved by the merge now belongs to another client"
            )
    return problems


def undo_rows(
    conn: Connection, merge: Mapping[str, Any], snapshot: Mapping[str, Any], now: dt.datetime
) -> None:
    """Put the merged client back (with its internal id), move exactly the moved rows back,
    restore the set-aside rows and the kept client's filled fields, and drop the alias."""
    kept, merged = merge["kept_id"], merge["merged_id"]
    row = decode_client(snapshot["merged"])
    conn.execute(insert(clients).values(**row))
    links = _links_by_key()
    for key, ids in snapshot["moved"].items():
        link = links[key]
        rid = _row_id_column(link.table)
        assert rid is not None
        for start in range(0, len(ids), 500):
            conn.execute(
                update(link.table)
                .where(rid.in_(ids[start : start + 500]), link.column == kept)
                .values({link.column.name: merged})
            )
    tables = {t.name: t for t in metadata.sorted_tables}
    for name in [t.name for t in metadata.sorted_tables if t.name in snapshot["set_aside"]]:
        table = tables[name]
        for aside in snapshot["set_aside"][name]:
            conn.execute(insert(table).values(**_decode(table, aside)))
    before = _decode(clients, snapshot["kept_before"])
    filled = _decode(clients, snapshot["kept_after"])
    current = client_row(conn, kept) or {}
    # Only fields nobody changed since the merge filled them.
    restore = {n: v for n, v in before.items() if _same(current.get(n), filled.get(n))}
    if restore:
        conn.execute(
            update(clients).where(clients.c.id == kept).values(**restore, search_text=None)
        )
        refresh_search_text(conn, kept)
    conn.execute(delete(client_aliases).where(client_aliases.c.merge_id == merge["id"]))


def _same(x: Any, y: Any) -> bool:
    """Equal values; a datetime read back from SQLite has lost its time zone (UTC)."""
    if isinstance(x, dt.datetime) and isinstance(y, dt.datetime):
        return (
            x.replace(tzinfo=None) == y.astimezone(dt.UTC).replace(tzinfo=None)
            if (x.tzinfo is None)
            else x == y
        )
    return bool(x == y)


def resolve_aliases(conn: Connection, stage: Table, column: str) -> int:
    """Rewrite a staged import's client ids that are aliases (a merged client's business id)
    to the id of the client they were merged into. Returns how many rows were rewritten."""
    if conn.execute(select(client_aliases.c.id).limit(1)).first() is None:
        return 0  # no merge yet: spare a large import the scan
    col = stage.c[column]
    target = (
        select(clients.c.external_id)
        .join(client_aliases, client_aliases.c.client_id == clients.c.id)
        .where(client_aliases.c.external_id == col)
        .scalar_subquery()
    )
    aliased = select(client_aliases.c.id).where(client_aliases.c.external_id == col).exists()
    if column == "id":  # a clients file: its empty cells must not empty the merged client's
        conn.execute(
            update(stage)
            .where(aliased)
            .values(
                {
                    name: func.coalesce(stage.c[name], _kept_value(col, clients.c[name]))
                    for name in _KEPT_ON_REIMPORT
                    if name in stage.c
                }
            )
        )
    return conn.execute(update(stage).where(aliased).values({column: target})).rowcount


# Fields a merged client's own export leaves as they are when its cell is empty (the kept
# client's email, say, came from the other export): stored as the file has them.
_KEPT_ON_REIMPORT = [
    f.name
    for f in CLIENT_FIELDS
    if f.name == f.column
    and f.kind not in (FieldKind.ID, FieldKind.STAFF, FieldKind.STATUS, FieldKind.FLAG)
]


def _kept_value(alias: Any, column: Column[Any]) -> Any:
    return (
        select(column)
        .join(client_aliases, client_aliases.c.client_id == clients.c.id)
        .where(client_aliases.c.external_id == alias)
        .scalar_subquery()
    )


def merges(
    conn: Connection, *, limit: int | None = 100, merge_id: int | None = None
) -> list[dict[str, Any]]:
    m = client_merges.c
    kept = clients.alias("kept")
    query = (
        select(
            m.id,
            m.kept_id,
            m.merged_id,
            m.merged_external_id,
            m.score,
            m.explanation,
            m.merged_by,
            m.merged_at,
            m.undone_by,
            m.undone_at,
            kept.c.external_id.label("kept_external_id"),
            kept.c.name.label("kept_name"),
        )
        .join(kept, kept.c.id == m.kept_id)
        .order_by(m.id.desc())
        .limit(limit)
    )
    if merge_id is not None:
        query = query.where(m.id == merge_id)
    rows = conn.execute(query)
    return [dict(r._mapping) for r in rows]


def merge_row(conn: Connection, merge_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(client_merges).where(client_merges.c.id == merge_id)).first()
    return None if row is None else dict(row._mapping)


__all__ = [
    "ClientLink",
    "client_links",
    "client_row",
    "fill_kept",
    "merge_row",
    "merges",
    "move_rows",
    "resolve_aliases",
    "undo_problems",
    "undo_rows",
    "write_merge",
]


def alias_target(conn: Connection, external_id: str) -> str | None:
    """The business id of the client `external_id` is an alias of (a merge kept it), if any."""
    query = (
        select(clients.c.external_id)
        .join(client_aliases, client_aliases.c.client_id == clients.c.id)
        .where(client_aliases.c.external_id == external_id)
    )
    return conn.execute(query).scalar_one_or_none()
