"""Set-based checks and merges from a staging table into the store. Never commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    ScalarSelect,
    Table,
    and_,
    cast,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy import String as SAString

from keepwarm.domain.fields import CLIENT_FIELDS, ClientField, FieldKind
from keepwarm.domain.model import ImportProblem, ProblemCode
from keepwarm.store.client_search import SEARCHED, refresh_search_text
from keepwarm.store.staging import STAGE_ACTIVITIES, STAGE_CLIENTS, STAGE_TOUCHES
from keepwarm.store.tables import activities, clients, households, imports, staff, touches

PROBLEM_LIMIT = 50


@dataclass(frozen=True)
class MergeResult:
    added: int = 0
    updated: int = 0
    new_clients: int = 0
    new_staff: tuple[str, ...] = ()


def duplicate_id_problems(
    conn: Connection, stage: Table, column: str, header: str
) -> tuple[list[ImportProblem], int]:
    """Rows whose id already appeared earlier in the same file."""
    col = stage.c[column]
    first = (
        select(col.label("value"), func.min(stage.c.line).label("first"))
        .where(col.is_not(None))
        .group_by(col)
        .having(func.count() > 1)
        .subquery()
    )
    query = (
        select(stage.c.line, col, first.c.first)
        .join(first, first.c.value == col)
        .where(stage.c.line > first.c.first)
        .order_by(stage.c.line)
    )
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.limit(PROBLEM_LIMIT)).all()
    return [
        ImportProblem(
            line,
            header,
            f"{value!r} already appears at line {first_line}",
            ProblemCode.DUPLICATE_ID,
            value,
        )
        for line, value, first_line in rows
    ], total


def unknown_client_problems(
    conn: Connection, stage: Table, header: str
) -> tuple[list[ImportProblem], int]:
    missing = ~exists().where(clients.c.external_id == stage.c.client_ext)
    total = conn.execute(select(func.count()).select_from(stage).where(missing)).scalar_one()
    rows = conn.execute(
        select(stage.c.line, stage.c.client_ext)
        .where(missing)
        .order_by(stage.c.line)
        .limit(PROBLEM_LIMIT)
    ).all()
    return [
        ImportProblem(
            line,
            header,
            f"no client with id {value!r} (import clients first, or use --create-missing)",
            ProblemCode.UNKNOWN_CLIENT,
            value,
        )
        for line, value in rows
    ], total


def foreign_staff_problems(
    conn: Connection, header: str, as_staff: str
) -> tuple[list[ImportProblem], int]:
    """Rows of a touches file that name another member of staff than `as_staff` (a staff user
    importing may record only their own touches, as on every other route)."""
    s = STAGE_TOUCHES
    other = and_(s.c.staff.is_not(None), s.c.staff != as_staff)
    total = conn.execute(select(func.count()).select_from(s).where(other)).scalar_one()
    rows = conn.execute(
        select(s.c.line, s.c.staff).where(other).order_by(s.c.line).limit(PROBLEM_LIMIT)
    ).all()
    mine = f"your own ({as_staff})" if as_staff else "none: your user is not a member of staff"
    return [
        ImportProblem(
            line,
            header,
            f"{value!r} is another member of staff; the touches you may record are {mine}",
            ProblemCode.OTHER_STAFF,
            value,
        )
        for line, value in rows
    ], total


def claim_unsigned_touches(conn: Connection, as_staff: str) -> None:
    """Touches without a member of staff, imported by a staff user, are theirs."""
    if as_staff:
        s = STAGE_TOUCHES
        conn.execute(update(s).where(s.c.staff.is_(None)).values(staff=as_staff))


def nameless_new_client_problems(conn: Connection, header: str) -> tuple[list[ImportProblem], int]:
    """Rows of a clients file without a name column whose id is not a client yet."""
    s = STAGE_CLIENTS
    where = (s.c.name.is_(None), ~_known_client(s))
    total = conn.execute(select(func.count()).select_from(s).where(*where)).scalar_one()
    rows = conn.execute(
        select(s.c.line, s.c.id).where(*where).order_by(s.c.line).limit(PROBLEM_LIMIT)
    ).all()
    return [
        ImportProblem(
            line,
            header,
            f"{value!r} is not a client yet, and the file has no name column "
            "(name, or first_name and last_name) to add them",
            ProblemCode.NEW_CLIENT_WITHOUT_NAME,
            value,
        )
        for line, value in rows
    ], total


def create_missing_clients(conn: Connection, stage: Table, now: dt.datetime) -> int:
    """Add a bare client (named by its id) for each unknown client id in the stage; every
    other field is empty or its default."""
    missing = (
        select(stage.c.client_ext)
        .where(~exists().where(clients.c.external_id == stage.c.client_ext))
        .distinct()
        .subquery()
    )
    result = conn.execute(
        insert(clients).from_select(
            ["external_id", "name", "created_at", "updated_at"],
            select(
                missing.c.client_ext,
                missing.c.client_ext,
                literal(now, clients.c.created_at.type),
                literal(now, clients.c.updated_at.type),
            ),
        )
    )
    refresh_search_text(conn)
    return result.rowcount


def create_missing_staff(
    conn: Connection, stage: Table, column: str, now: dt.datetime
) -> list[str]:
    col = stage.c[column]
    names = [
        name
        for (name,) in conn.execute(
            select(col)
            .where(col.is_not(None), ~exists().where(staff.c.name == col))
            .distinct()
            .order_by(col)
        )
    ]
    if names:
        conn.execute(
            insert(staff),
            [
                {"name": n, "active": True, "joined_on": now.date(), "created_at": now}
                for n in names
            ],
        )
    return names


def number_repeated_rows(conn: Connection, stage: Table) -> int:
    """Rows arrive keyed 'fp:<fingerprint>:1'; where a file holds identical rows (two identical
    visits on one day), renumber them 1, 2, 3... in file order so they stay distinct.
    Returns how many rows were renumbered."""
    repeated = (
        select(stage.c.fingerprint)
        .where(stage.c.fingerprint.is_not(None))
        .group_by(stage.c.fingerprint)
        .having(func.count() > 1)
    )
    numbered = (
        select(
            stage.c.line,
            func.row_number()
            .over(partition_by=stage.c.fingerprint, order_by=stage.c.line)
            .label("n"),
        )
        .where(stage.c.fingerprint.in_(repeated))
        .subquery()
    )
    return conn.execute(
        update(stage)
        .where(stage.c.line == numbered.c.line, numbered.c.n > 1)
        .values(key=literal("fp:") + stage.c.fingerprint + ":" + cast(numbered.c.n, SAString))
    ).rowcount


def _client_id_of(stage: Table) -> ScalarSelect[Any]:
    return select(clients.c.id).where(clients.c.external_id == stage.c.client_ext).scalar_subquery()


def merge_activities(conn: Connection) -> MergeResult:
    s = STAGE_ACTIVITIES
    client_id = _client_id_of(s)
    fields = ("external_id", "date", "amount_cents", "quantity", "kind", "note")
    changed = or_(
        activities.c.client_id != client_id,
        *(activities.c[f].is_distinct_from(s.c[f]) for f in fields),
    )
    updated = 0
    # Rows keyed by content can never differ from their stored twin; only ids can change.
    if conn.execute(select(s.c.line).where(s.c.external_id.is_not(None)).limit(1)).first():
        updated = conn.execute(
            update(activities)
            .where(activities.c.key == s.c.key, changed)
            .values(client_id=client_id, **{f: s.c[f] for f in fields})
        ).rowcount
    added = conn.execute(
        insert(activities).from_select(
            ["client_id", "key", *fields],
            select(client_id, s.c.key, *(s.c[f] for f in fields))
            .where(~exists().where(activities.c.key == s.c.key))
            .order_by(s.c.line),
        )
    ).rowcount
    return MergeResult(added=added, updated=updated)


def merge_touches(conn: Connection, now: dt.datetime) -> MergeResult:
    s = STAGE_TOUCHES
    staff_id = select(staff.c.id).where(staff.c.name == s.c.staff).scalar_subquery()
    added = conn.execute(
        insert(touches).from_select(
            [
                "client_id",
                "key",
                "date",
                "channel",
                "staff_id",
                "note",
                "outcome",
                "personal",
                "created_at",
            ],
            select(
                _client_id_of(s),
                s.c.key,
                s.c.date,
                s.c.channel,
                staff_id,
                s.c.note,
                s.c.outcome,
                s.c.personal,
                literal(now, touches.c.created_at.type),
            )
            .where(~exists().where(touches.c.key == s.c.key))
            .order_by(s.c.line),
        )
    ).rowcount
    return MergeResult(added=added)


def _known_client(s: Table) -> ColumnElement[bool]:
    """Whether the staged client row's id is a client's already."""
    return exists().where(clients.c.external_id == s.c.id)


def _staged_value(s: Table, f: ClientField) -> ColumnElement[Any]:
    """The staged value of field `f` as its `clients` column stores it (a member of staff,
    staged by name, as their id)."""
    if f.kind is FieldKind.STAFF:
        return select(staff.c.id).where(staff.c.name == s.c[f.name]).scalar_subquery()
    if f.kind is FieldKind.HOUSEHOLD:  # staged as the household's key (store.households)
        return select(households.c.id).where(households.c.key == s.c[f.name]).scalar_subquery()
    return s.c[f.name]


def merge_clients(conn: Connection, present: set[str], now: dt.datetime) -> MergeResult:
    """Insert new clients; update existing ones, but only in the fields the file has (`present`
    names them: fields of the register, keepwarm.domain.fields)."""
    s = STAGE_CLIENTS
    values: dict[str, ColumnElement[Any]] = {}
    differences: list[ColumnElement[bool]] = []
    for f in CLIENT_FIELDS:
        if f.name in present and f.kind is not FieldKind.ID:
            staged = _staged_value(s, f)
            values[f.column] = staged
            differences.append(clients.c[f.column].is_distinct_from(staged))
    if present & SEARCHED:
        values["search_text"] = null()  # refilled below (keepwarm.store.client_search)
    updated = 0
    if differences:
        updated = conn.execute(
            update(clients)
            .where(clients.c.external_id == s.c.id, or_(*differences))
            .values(**values, updated_at=now)
        ).rowcount
    added = conn.execute(
        insert(clients).from_select(
            [*(f.column for f in CLIENT_FIELDS), "created_at", "updated_at"],
            select(
                *(_staged_value(s, f) for f in CLIENT_FIELDS),
                literal(now, clients.c.created_at.type),
                literal(now, clients.c.updated_at.type),
            )
            .where(~_known_client(s))
            .order_by(s.c.line),
        )
    ).rowcount
    refresh_search_text(conn)
    return MergeResult(added=added, updated=updated)


def record_import(
    conn: Connection,
    *,
    kind: str,
    filename: str,
    sha256: str,
    rows: int,
    added: int,
    updated: int,
    unchanged: int,
    now: dt.datetime,
) -> None:
    conn.execute(
        insert(imports).values(
            kind=kind,
            filename=filename[-1000:],
            sha256=sha256,
            rows=rows,
            added=added,
            updated=updated,
            unchanged=unchanged,
            at=now,
        )
    )


__all__ = [
    "MergeResult",
    "claim_unsigned_touches",
    "create_missing_clients",
    "create_missing_staff",
    "duplicate_id_problems",
    "foreign_staff_problems",
    "merge_activities",
    "merge_clients",
    "merge_touches",
    "nameless_new_client_problems",
    "number_repeated_rows",
    "record_import",
    "unknown_client_problems",
]
