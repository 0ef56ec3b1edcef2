"""The audit log: who did what, when, to which client — sign-ins, imports, edits, merges,
consent changes, exports, erasures, sends. One function writes an entry, in the transaction of
the change it records (so an entry exists exactly when the change does); the owner reads them
(keepwarm.web.audit, `keepwarm audit`).

What an entry may hold: `subject` names the client or thing in words ("Kim Morris (C-1042)")
and `details` any facts (old and new values of an edit). Personal data of a client goes only
into entries with that client's `client_id`, never into another client's entry (a merge writes
one entry per client), because erasing a client redacts exactly their entries.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Connection, Engine, select

from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.store import audit as store
from keepwarm.store import reading
from keepwarm.store.audit import AuditEntry, AuditFilter
from keepwarm.store.queries import client_internal_id
from keepwarm.store.tables import clients

__all__ = [
    "ACTIONS",
    "AuditEntry",
    "AuditFilter",
    "AuditPage",
    "as_json",
    "client_key",
    "client_subject",
    "details_text",
    "entries",
    "page",
    "record",
    "write_csv",
]

# Every kind of entry, with how the owner's page says it.
ACTIONS: dict[str, str] = {
    "sign-in": "Signed in",
    "sign-in-failed": "Sign-in refused",
    "import": "Imported a file",
    "client-edit": "Edited a client",
    "client-delete": "Deleted a client",
    "merge": "Merged two clients",
    "merge-undone": "Undid a merge",
    "household": "Changed a household",
    "consent": "Changed contact preferences",
    "export": "Exported data",
    "erase": "Erased a client",
    "send": "Sent a message",
    "print": "Printed letters",
    "user": "Changed a user",
    "settings": "Changed settings",
    "backup": "Made a backup",
    "restore": "Restored a backup",
}


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    now: dt.datetime,
    client_id: int | None = None,
    subject: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> int:
    """Append an entry in the caller's transaction. `actor`: the user's email address, or
    who else acted ("command line", "keepwarm", "the client (unsubscribe link)")."""
    if action not in ACTIONS:
        raise InvalidInput(f"audit action: one of {', '.join(ACTIONS)}, not {action!r}")
    return store.append(
        conn,
        at=now,
        actor=actor,
        action=action,
        client_id=client_id,
        subject=subject,
        details=details,
    )


def client_subject(conn: Connection, client_id: int) -> str | None:
    """How an entry names the client: "Kim Morris (C-1042)"; None if there is no such client."""
    row = conn.execute(
        select(clients.c.name, clients.c.external_id).where(clients.c.id == client_id)
    ).one_or_none()
    return None if row is None else f"{row.name} ({row.external_id})"


def entries(
    engine: Engine, f: AuditFilter | None = None, *, limit: int | None = 200, offset: int = 0
) -> list[AuditEntry]:
    """Entries matching `f` (default: all), newest first."""
    f = f or AuditFilter()
    if f.action is not None and f.action not in ACTIONS:
        raise InvalidInput(f"action: one of {', '.join(ACTIONS)}, not {f.action!r}")
    with reading(engine) as conn:
        return store.find(conn, f, limit=limit, offset=offset)


def client_key(engine: Engine, external_id: str) -> int:
    """The internal id of the client with this business id (a filter names clients so)."""
    with reading(engine) as conn:
        found = client_internal_id(conn, external_id.strip())
    if found is None:
        raise NotFound(f"no client with id {external_id!r}")
    return found


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int  # entries matching the filter
    actors: list[str]  # everyone with an entry, for the filter's choices
    clients: dict[int, str]  # client id -> business id, for the clients that still exist


def page(engine: Engine, f: AuditFilter, *, limit: int, offset: int) -> AuditPage:
    """One page of entries (newest first) with what the owner's page shows beside them, read
    from one snapshot."""
    if f.action is not None and f.action not in ACTIONS:
        raise InvalidInput(f"action: one of {', '.join(ACTIONS)}, not {f.action!r}")
    with reading(engine) as conn:
        found = store.find(conn, f, limit=limit, offset=offset)
        ids = {e.client_id for e in found if e.client_id is not None}
        query = select(clients.c.id, clients.c.external_id).where(clients.c.id.in_(ids))
        existing = {r.id: r.external_id for r in conn.execute(query)} if ids else {}
        return AuditPage(found, store.count(conn, f), store.actors(conn), existing)


def details_text(details: Mapping[str, Any]) -> str:
    """Details in words: "rows_added: 12; email: kim@old.example → kim@new.example"."""
    parts = []
    for key, value in details.items():
        if isinstance(value, Mapping) and set(value) == {"old", "new"}:
            shown = f"{value['old'] if value['old'] not in (None, '') else '(none)'} → "
            shown += f"{value['new'] if value['new'] not in (None, '') else '(none)'}"
        elif isinstance(value, list | tuple):
            shown = ", ".join(str(v) for v in value)
        elif value is None or value == "":
            shown = "(none)"
        else:
            shown = str(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


CSV_COLUMNS = ("id", "at", "actor", "action", "client_id", "subject", "details", "redacted_at")


def as_json(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "action": e.action,
        "what": ACTIONS.get(e.action, e.action),
        "client_id": e.client_id,
        "subject": e.subject,
        "details": e.details,
        "redacted_at": e.redacted_at.isoformat() if e.redacted_at else None,
    }


def write_csv(out: IO[str], found: list[AuditEntry]) -> None:
    """Entries as CSV (details as JSON in one column), a header first."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in found:
        row = as_json(e)
        row["details"] = json.dumps(e.details, ensure_ascii=False, default=str)
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
