"""Imports confirmed in the browser outlive the server's memory: each is recorded when it
starts and when it ends, and when the server starts again every import still marked running
is settled — done if its transaction had committed (an import is one transaction), failed
otherwise, with a message that says nothing from the file was saved."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from keepwarm.domain.model import ImportKind
from keepwarm.store import import_runs as q
from keepwarm.store import reading, writing

INTERRUPTED = (
    "keepwarm stopped while this file was being imported, so nothing from it was saved "
    "(an import is all or nothing). Upload the file again."
)
COMMITTED = (
    "The import finished, but keepwarm stopped before it could show the report. Everything in "
    "the file was saved; the client list shows it."
)


@dataclass(frozen=True)
class ImportRun:
    id: str
    user_id: int
    kind: ImportKind
    filename: str
    status: str  # importing | done | failed
    message: str


def start_run(
    engine: Engine,
    run_id: str,
    *,
    user_id: int,
    kind: ImportKind,
    filename: str,
    sha256: str,
    now: dt.datetime,
) -> None:
    with writing(engine) as conn:
        q.start(
            conn,
            id=run_id,
            user_id=user_id,
            kind=kind.value,
            filename=filename,
            sha256=sha256,
            now=now,
        )


def finish_run(engine: Engine, run_id: str, *, ok: bool, message: str, now: dt.datetime) -> None:
    with writing(engine) as conn:
        q.finish(conn, run_id, "done" if ok else "failed", message, now)


def find_run(engine: Engine, run_id: str) -> ImportRun | None:
    with reading(engine) as conn:
        row = q.get(conn, run_id)
    if row is None:
        return None
    return ImportRun(
        row.id, row.user_id, ImportKind(row.kind), row.filename, row.status, row.message
    )


def settle_interrupted(engine: Engine, now: dt.datetime) -> int:
    """At start-up: settle the imports a stopped server left marked running."""
    with writing(engine) as conn:
        return q.settle_unfinished(conn, now, done=COMMITTED, failed=INTERRUPTED)
