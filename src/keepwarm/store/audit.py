"""The audit log's rows: appending one, finding them by filters, redacting a client's. The
table is append-only (triggers, migration 0024): nothing here updates or deletes otherwise.
The caller owns the transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    func,
    insert,
    or_,
    select,
    true,
    update,
)

from keepwarm.store.tables import audit_log, client_merges, clients

REDACTED = "(erased client)"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    action: str
    client_id: int | None
    subject: str | None  # what it was about, in words: "Kim Morris (C-1042)"
    details: dict[str, Any] = field(default_factory=dict)
    redacted_at: dt.datetime | None = None


@dataclass(frozen=True)
class AuditFilter:
    """Which entries: each given field narrows the list (all of them at once)."""

    action: str | None = None
    actor: str | None = None  # exact, e.g. "owner@example.com"
    client_id: int | None = None
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive


def append(
    conn: Connection,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    client_id: int | None = None,
    subject: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> int:
    row = conn.execute(
        insert(audit_log)
        .values(
            at=at,
            actor=actor,
            action=action,
            client_id=client_id,
            subject=subject,
            details=json.dumps(dict(details or {}), ensure_ascii=False, default=str),
        )
        .returning(audit_log.c.id)
    ).one()
    return int(row.id)


def about(conn: Connection, client_id: int) -> ColumnElement[bool]:
    """Which entries are about the client: their own since their row was made, and those of
    the clients merged into them (and into those), each up to its merge.

    Not simply `client_id = X`: SQLite gives the internal id of the newest client, once erased
    or merged away, to the next new client, whose entries start when their row was made; and a
    merged client's entries are about the same person as the kept one."""
    a, m = audit_log.c, client_merges.c
    created = conn.execute(
        select(clients.c.created_at).where(clients.c.id == client_id)
    ).scalar_one_or_none()
    parts: list[ColumnElement[bool]] = [
        a.client_id == client_id
        if created is None
        else (a.client_id == client_id) & (a.at >= created)
    ]
    kept, seen = [client_id], {client_id}
    while kept:
        merges = conn.execute(
            select(m.merged_id, m.merged_at).where(m.kept_id.in_(kept), m.undone_at.is_(None))
        ).all()
        kept = [r.merged_id for r in merges if r.merged_id not in seen]
        seen.update(kept)
        parts.extend((a.client_id == r.merged_id) & (a.at <= r.merged_at) for r in merges)
    return or_(*parts)


def _where(f: AuditFilter, conn: Connection) -> ColumnElement[bool]:
    a = audit_log.c
    conditions: list[ColumnElement[bool]] = [true()]
    if f.action is not None:
        conditions.append(a.action == f.action)
    if f.actor is not None:
        conditions.append(a.actor == f.actor)
    if f.client_id is not None:
        conditions.append(about(conn, f.client_id))
    if f.since is not None:
        conditions.append(a.at >= f.since)
    if f.until is not None:
        conditions.append(a.at < f.until)
    return and_(*conditions)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives back naive datetimes; every time keepwarm stores is in UTC."""
    return value.replace(tzinfo=dt.UTC) if value and value.tzinfo is None else value


def _entry(r: Any) -> AuditEntry:
    at = _utc(r.at)
    assert at is not None
    details = json.loads(r.details)
    return AuditEntry(
        r.id, at, r.actor, r.action, r.client_id, r.subject, details, _utc(r.redacted_at)
    )


def find(
    conn: Connection, f: AuditFilter, *, limit: int | None = None, offset: int = 0
) -> list[AuditEntry]:
    """Entries matching `f`, newest first."""
    query: Select[Any] = (
        select(audit_log).where(_where(f, conn)).order_by(audit_log.c.id.desc()).offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_entry(r) for r in conn.execute(query)]


def count(conn: Connection, f: AuditFilter) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(audit_log).where(_where(f, conn))
        ).scalar_one()
    )


def actors(conn: Connection) -> list[str]:
    """Everyone with an entry, for the filter's choices."""
    query = select(audit_log.c.actor).distinct().order_by(audit_log.c.actor)
    return list(conn.execute(query).scalars())


def redact(conn: Connection, client_id: int, at: dt.datetime) -> int:
    """Remove the personal data of the entries about the client (`about`: call it while the
    client's row and merges are still there) — subject and details — keeping when, who and
    what; returns how many entries were redacted."""
    a = audit_log.c
    result = conn.execute(
        update(audit_log)
        .where(about(conn, client_id), a.redacted_at.is_(None))
        .values(subject=REDACTED, details="{}", redacted_at=at)
    )
    return int(result.rowcount)
