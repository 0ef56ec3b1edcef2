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

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, select

from keepwarm.domain.errors import InvalidInput
from keepwarm.store import audit as store
from keepwarm.store import reading
from keepwarm.store.audit import AuditEntry, AuditFilter
from keepwarm.store.tables import clients

__all__ = ["ACTIONS", "AuditEntry", "AuditFilter", "client_subject", "entries", "record"]

# Every kind of entry, with how the owner's page says it.
ACTIONS: dict[str, str] = {
    "sign-in": "Signed in",
    "sign-in-failed": "Sign-in refused",
    "import": "Imported a file",
    "client-edit": "Edited a client",
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
