"""A believable sample practice, built through the same import path as a real one.

`build_demo` writes the files of `keepwarm.services.demo_data`, creates a database and imports
them with `import_file`, exactly as `keepwarm import` does, so the demo exercises the real code.

The demo never destroys real data: it replaces a SQLite file only when that file holds nothing
but a previous demo, and it builds into PostgreSQL only when the database holds no clients.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, func, inspect, select
from sqlalchemy.engine import make_url

from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput, KeepwarmError
from keepwarm.domain.model import ImportKind, ImportReport, Staff
from keepwarm.domain.quotas import allowance
from keepwarm.services import staff as staff_service
from keepwarm.services.database import init_database, open_database
from keepwarm.services.demo_data import (
    DEMO_STAFF,
    FILE_NAMES,
    PRACTICE,
    Highlight,
    generate_practice,
)
from keepwarm.services.importing import import_file
from keepwarm.services.policy import get_policy
from keepwarm.services.rhythms import RhythmRun, compute_rhythms
from keepwarm.store import connect, reading
from keepwarm.store.tables import activities, clients, touches


@dataclass(frozen=True)
class DemoSummary:
    """What `build_demo` made: where, how much, and a few clients worth a look."""

    practice: str
    location: str  # the SQLite file's path, or the database URL without its password
    replaced: bool  # an earlier demo (or an empty database file) was there and was replaced
    staff: tuple[Staff, ...]
    weekly_quotas: tuple[int, ...]  # the quota in force for each of `staff` (own or default)
    clients: int
    prospects: int
    cancelled: int
    do_not_contact: int
    with_recall: int
    activities: int
    first_activity: dt.date | None
    personal_touches: int
    bulk_touches: int
    reports: tuple[ImportReport, ...]
    highlights: tuple[Highlight, ...]
    rhythms: RhythmRun | None = None


DEMO_STAFF_NAMES = frozenset(s.name for s in DEMO_STAFF)
_KEEPWARM_TABLES = {"staff", "clients", "imports"}
_ANOTHER = "Choose another place for the demo, e.g. keepwarm demo --db keepwarm-demo-2.db"


def build_demo(
    settings: Settings, *, seed: int, today: dt.date, now: dt.datetime, workdir: Path
) -> DemoSummary:
    """Build the demo practice in the settings' database: write the files into `workdir`, add
    the three staff, then import clients, activities and touches with `import_file`, and
    learn every client's rhythm as of `today`.

    Never destroys real data. A SQLite file is replaced only when it holds nothing but an
    earlier demo (every import one of the demo's files, every staff member a demo one); a
    PostgreSQL database is used only when it holds no clients. Otherwise raises InvalidInput
    and changes nothing. The import problems of a demo file (a bug) raise KeepwarmError.
    """
    replaced = _make_room(settings.database_url)
    files = generate_practice(workdir, seed=seed, today=today)
    init_database(settings)
    engine = open_database(settings)
    try:
        _add_staff(engine, now)
        # The demo's files are written for the US; the reader's own region must not matter.
        demo_settings = settings.replace(region="US")
        reports = tuple(
            _import(engine, demo_settings, kind, path, today, now)
            for kind, path in files.in_import_order()
        )
        learned = compute_rhythms(engine, as_of=today, now=now)
        summary = _summarise(engine, settings.database_url, replaced, reports, files.highlights)
        return dataclasses.replace(summary, rhythms=learned)
    finally:
        engine.dispose()


def _add_staff(engine: Engine, now: dt.datetime) -> None:
    existing = {s.name for s in staff_service.list_staff(engine)}
    for member in DEMO_STAFF:
        if member.name not in existing:
            staff_service.add_staff(
                engine,
                member.name,
                email=member.email,
                weekly_quota=member.weekly_quota,
                now=now,
            )


def _import(
    engine: Engine,
    settings: Settings,
    kind: ImportKind,
    path: Path,
    today: dt.date,
    now: dt.datetime,
) -> ImportReport:
    report = import_file(
        engine, settings, kind, path, today=today, now=now, filename=FILE_NAMES[kind]
    )
    if not report.ok:
        shown = "; ".join(p.format(report.filename) for p in report.problems[:3])
        raise KeepwarmError(f"the demo's {kind.value} did not import (a keepwarm bug): {shown}")
    return report


def _summarise(
    engine: Engine,
    url: str,
    replaced: bool,
    reports: tuple[ImportReport, ...],
    highlights: tuple[Highlight, ...],
) -> DemoSummary:
    count = func.count()
    with reading(engine) as conn:
        statuses: dict[str, int] = dict(
            conn.execute(select(clients.c.status, count).group_by("status")).all()
        )

        def how_many(table: Table, *where: ColumnElement[bool]) -> int:
            found: int = conn.execute(select(count).select_from(table).where(*where)).scalar_one()
            return found

        first = conn.execute(select(func.min(activities.c.date))).scalar_one()
        personal = how_many(touches, touches.c.personal.is_(True))
        do_not_contact = how_many(clients, clients.c.do_not_contact.is_(True))
        with_recall = how_many(clients, clients.c.next_due.is_not(None))
        n_activities = how_many(activities)
        bulk = how_many(touches) - personal
    staff = tuple(staff_service.list_staff(engine))
    policy = get_policy(engine)
    return DemoSummary(
        practice=PRACTICE,
        location=_location(url),
        replaced=replaced,
        staff=staff,
        weekly_quotas=tuple(allowance(member, policy).weekly_quota for member in staff),
        clients=sum(statuses.values()),
        prospects=statuses.get("prospect", 0),
        cancelled=statuses.get("cancelled", 0),
        do_not_contact=do_not_contact,
        with_recall=with_recall,
        activities=n_activities,
        first_activity=first,
        personal_touches=personal,
        bulk_touches=bulk,
        reports=reports,
        highlights=highlights,
    )


def _location(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return str(Path(parsed.database).expanduser().resolve())
    return parsed.render_as_string(hide_password=True)


# --- never destroying real data -----------------------------------------------------------------


def _make_room(url: str) -> bool:
    """Check the target holds nothing but an earlier demo; remove a SQLite one. Returns
    whether an earlier demo (or an empty database) was removed. Raises InvalidInput for
    anything else."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        _check_server_database(url)
        return False
    if not parsed.database or parsed.database == ":memory:":
        raise InvalidInput("the demo needs a database file: use e.g. --db keepwarm-demo.db")
    path = Path(parsed.database).expanduser()
    if not path.exists():
        return False
    reason = _sqlite_not_a_demo(path)
    if reason:
        raise InvalidInput(f"{path} {reason}, so the demo will not replace it. {_ANOTHER}")
    held_something = path.stat().st_size > 0
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return held_something


def _sqlite_not_a_demo(path: Path) -> str | None:
    """Why the file at `path` is not an earlier demo, or None when it is (or is empty).
    Opened read-only and without keepwarm's pragmas, so a foreign file is left as it was."""
    if not path.is_file():
        return "is not a file"
    try:
        uri = path.resolve().as_uri() + "?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db:

            def rows(sql: str) -> list[tuple[Any, ...]]:
                return db.execute(sql).fetchall()

            tables = {name for (name,) in rows("SELECT name FROM sqlite_master WHERE type='table'")}
            return _not_a_demo(tables, rows)
    except sqlite3.DatabaseError as exc:
        return f"is not a keepwarm database ({exc})"


def _not_a_demo(tables: set[str], rows: Callable[[str], list[tuple[Any, ...]]]) -> str | None:
    """Why a database with these tables is not an earlier demo, or None when it is one (or
    holds nothing at all)."""
    if not tables - {"alembic_version"}:
        return None
    if not tables >= _KEEPWARM_TABLES:
        return "holds tables keepwarm did not make"
    files = {name for (name,) in rows("SELECT DISTINCT filename FROM imports")}
    foreign = sorted(files - set(FILE_NAMES.values()))
    if foreign:
        return "holds data imported from " + ", ".join(foreign[:3])
    staff_names = {name for (name,) in rows("SELECT name FROM staff")}
    extra = sorted(staff_names - DEMO_STAFF_NAMES)
    if extra:
        return "has staff the demo did not add (" + ", ".join(extra[:3]) + ")"
    if not files and rows("SELECT 1 FROM clients LIMIT 1"):
        return "holds clients"
    return None


def _check_server_database(url: str) -> None:
    """The demo only fills an empty server database: it never deletes anything there."""
    engine = connect(url)
    try:
        tables = set(inspect(engine).get_table_names())
        with reading(engine) as conn:

            def rows(sql: str) -> list[tuple[Any, ...]]:
                return [tuple(r) for r in conn.exec_driver_sql(sql)]

            reason = _not_a_demo(tables, rows)
            if reason is None and "clients" in tables and rows("SELECT 1 FROM clients LIMIT 1"):
                reason = "already holds clients"
    finally:
        engine.dispose()
    if reason:
        target = make_url(url).render_as_string(hide_password=True)
        raise InvalidInput(f"{target} {reason}; the demo only fills an empty database. {_ANOTHER}")
