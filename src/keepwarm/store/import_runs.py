"""Imports confirmed in the browser (`import_runs`). Never commits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, insert, select, update

from keepwarm.store.tables import import_runs, imports


def start(conn: Connection, **values: Any) -> None:
    """Record a confirmed import as running (values: id, user_id, kind, filename, sha256);
    an earlier attempt under the same id (refused while the server was busy) is replaced."""
    now = values.pop("now")
    conn.execute(delete(import_runs).where(import_runs.c.id == values["id"]))
    conn.execute(
        insert(import_runs).values(**values, status="importing", started_at=now, beat_at=now)
    )


def finish(conn: Connection, run_id: str, status: str, message: str, now: dt.datetime) -> None:
    """Record how the import ended (whatever an earlier restart concluded: this is the truth)."""
    conn.execute(
        update(import_runs)
        .where(import_runs.c.id == run_id)
        .values(status=status, message=message, finished_at=now)
    )


def get(conn: Connection, run_id: str) -> Any | None:
    return conn.execute(select(import_runs).where(import_runs.c.id == run_id)).first()


def settle_unfinished(conn: Connection, now: dt.datetime, *, done: str, failed: str) -> int:
    """Settle every import still marked running (their server stopped): done when the import's
    own transaction committed (its file is in `imports` since the run started), else failed.
    Returns how many were settled."""
    committed = exists().where(
        and_(imports.c.sha256 == import_runs.c.sha256, imports.c.at >= import_runs.c.started_at)
    )
    running = import_runs.c.status == "importing"
    settled = conn.execute(
        update(import_runs)
        .where(running, committed)
        .values(status="done", message=done, finished_at=now)
    ).rowcount
    settled += conn.execute(
        update(import_runs).where(running).values(status="failed", message=failed, finished_at=now)
    ).rowcount
    return int(settled)
