"""Backups and restores: a SQLite database copied with SQLite's online backup API (never a file
copy of a live database), checked before it is kept; a backup put back the same way; and, for
PostgreSQL (backed up with pg_dump), a check that a restored database has the schema this
keepwarm declares.

A consistent copy while others write: the backup's source connection opens a read transaction
first and keeps it for the whole copy. In WAL mode that transaction is a snapshot, so every step
of the backup copies pages of that one snapshot (the backup never restarts because of another
writer's commit, and never mixes two states), and the row counts read in the same transaction
are exactly what the copy must hold.

A restore first builds the restored content in a staging file beside the database: the backup
copied, migrated to the newest schema, the live database's erasures carried in (with the secret
their hashes are keyed with) and every client erased since the backup was made erased again,
and the restore audited. Then it writes the staging file into the live database in one backup
step: one write transaction of the live database, so a running server's connections see either
the old content or the restored one, never a mix, and never a client erased in between (SQLite's
own locking; the step waits for a writer to finish). Before that, the live content is itself
backed up beside it (FILE.before-restore-…), so a wrong restore can be undone; its erasures are
read from that copy, and the restore stops, writing nothing, if the live database records
another erasure before the step.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from keepwarm.domain.errors import DatabaseError, InvalidInput
from keepwarm.services import audit, erasure
from keepwarm.store import (
    activity_snapshot,
    connect,
    current_revision,
    head_revision,
    migrate,
    writing,
)
from keepwarm.store.migrate import known_revisions
from keepwarm.store.tables import metadata

__all__ = [
    "BackupReport",
    "RestoreReport",
    "backup",
    "check_backup",
    "pg_dump_commands",
    "restore",
    "schema_differences",
]

# The tables a report names (all tables are counted and compared).
MAIN_TABLES = ("clients", "activities", "touches", "actions", "outbox", "audit_log")

Progress = Callable[[int, int], None]  # (pages copied, pages in all)


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int  # bytes
    revision: str
    counts: dict[str, int] = field(default_factory=dict)  # every table's rows, at the snapshot
    steps: int = 0
    made_folder: Path | None = None  # the target's folder, when the backup made it


@dataclass(frozen=True)
class RestoreReport:
    source: Path
    database: Path
    saved_as: Path  # the live content before the restore
    revision_before: str  # the backup's revision
    revision_after: str  # after migrating (head)
    counts: dict[str, int] = field(default_factory=dict)  # the restored content's rows
    erased_again: int = 0  # clients in the backup erased since it was made, erased again


def sqlite_path(engine_or_url: Engine | str) -> Path | None:
    """The file of a SQLite database URL; None for PostgreSQL."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise DatabaseError("an in-memory database has nothing to back up")
    return Path(url.database).expanduser().resolve()


def pg_dump_commands(url: str) -> list[str]:
    """How to back up and restore a PostgreSQL database (keepwarm leaves that to pg_dump)."""
    parsed = make_url(url).set(drivername="postgresql")
    target = parsed.render_as_string(hide_password=True)
    return [
        f"pg_dump --format=custom --file=keepwarm.dump '{target}'",
        f"pg_restore --clean --if-exists --no-owner --dbname='{target}' keepwarm.dump",
        f"keepwarm db check --db '{target}'",
    ]


def _table_names() -> list[str]:
    return sorted(metadata.tables)


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return {
        name: int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
        for name in _table_names()
        if name in present
    }


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return None if row is None else str(row[0])


def _integrity(conn: sqlite3.Connection) -> str:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(r[0]) for r in rows[:5])


@contextlib.contextmanager
def _sqlite(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    uri = f"{path.as_uri()}?mode=ro" if read_only else path.as_uri()
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        yield conn
    finally:
        conn.close()


def _copy(
    source: Path, target: Path, *, pages: int, progress: Progress | None
) -> tuple[dict[str, int], str | None, int]:
    """Copy `source` into a new file `target` from one snapshot; returns the snapshot's counts,
    its revision and the number of steps taken."""
    steps = 0

    def step(_status: int, remaining: int, total: int) -> None:
        nonlocal steps
        steps += 1
        if progress is not None:
            progress(total - remaining, total)

    with _sqlite(source) as src, _sqlite(target) as dst:
        src.execute("BEGIN")  # the snapshot: counts and every page come from it
        try:
            counts = _counts(src)
            revision = _revision(src)
            src.backup(dst, pages=pages, progress=step)
        finally:
            src.execute("COMMIT")
        # the copy stands alone: no -wal file beside it
        dst.execute("PRAGMA journal_mode=DELETE")
    return counts, revision, steps


def check_backup(path: Path) -> tuple[str, dict[str, int]]:
    """Refuse (InvalidInput, nothing changed) a file that is not a sound keepwarm backup this
    keepwarm can use: a SQLite file, integrity ok, keepwarm's tables, a revision equal to or
    older than the newest. Returns (revision, row counts)."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    with open(path, "rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise InvalidInput(f"{path} is not a SQLite database (not a keepwarm backup)")
    try:
        with _sqlite(path, read_only=True) as conn:
            integrity = _integrity(conn)
            if integrity != "ok":
                raise InvalidInput(f"{path} is damaged (integrity check: {integrity})")
            revision = _revision(conn)
            counts = _counts(conn)
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{path} cannot be read as a SQLite database: {exc}") from None
    if revision is None or "clients" not in counts:
        raise InvalidInput(
            f"{path} is a SQLite database but not a keepwarm one (no keepwarm tables)"
        )
    if revision not in known_revisions():
        raise InvalidInput(
            f"{path} is at schema {revision}, which this keepwarm does not know (newest: "
            f"{head_revision()}): it was made by a newer keepwarm; restore it with that version"
        )
    return revision, counts


def backup(
    engine: Engine,
    target: Path,
    *,
    actor: str,
    now: dt.datetime,
    pages_per_step: int = 1024,
    progress: Progress | None = None,
) -> BackupReport:
    """Back up the SQLite database of `engine` into `target` (replaced if it exists), checked:
    integrity ok, same revision, every table's row count equal to the source's at the snapshot.
    The backup is audited in the source database."""
    source = sqlite_path(engine)
    if source is None:
        commands = "\n  ".join(pg_dump_commands(engine.url.render_as_string(hide_password=False)))
        raise DatabaseError(
            "keepwarm backs up SQLite databases only; PostgreSQL's backups are made with "
            f"pg_dump, for example:\n  {commands}"
        )
    target = target.expanduser().resolve()
    if target == source:
        raise InvalidInput(f"{target} is the database itself: name another file")
    if pages_per_step == 0 or pages_per_step < -1:
        raise InvalidInput("pages per step: a positive number (or -1 for all at once)")
    made_folder = _make_folder(target.parent)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        counts, revision, steps = _copy(source, partial, pages=pages_per_step, progress=progress)
        with _sqlite(partial, read_only=True) as conn:
            integrity = _integrity(conn)
            copied_revision = _revision(conn)
            copied = _counts(conn)
        if integrity != "ok":
            raise DatabaseError(f"the copy failed its integrity check ({integrity}); kept nothing")
        if copied_revision != revision or revision is None:
            raise DatabaseError(
                f"the copy is at schema {copied_revision}, the database at {revision}; kept nothing"
            )
        if copied != counts:
            wrong = [t for t in counts if counts[t] != copied.get(t)]
            raise DatabaseError(f"the copy's row counts differ in {', '.join(wrong)}; kept nothing")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    size = target.stat().st_size
    with writing(engine) as conn:
        audit.record(
            conn,
            actor=actor,
            action="backup",
            now=now,
            subject=target.name,
            details={
                "file": str(target),
                "bytes": size,
                "revision": revision,
                **{t: counts.get(t, 0) for t in MAIN_TABLES},
            },
        )
    return BackupReport(target, size, revision, counts, steps, made_folder)


def _make_folder(folder: Path) -> Path | None:
    """Make the backup's folder (and its parents) if it does not exist; returns it if made."""
    if folder.is_dir():
        return None
    for above in (folder, *folder.parents):
        if above.exists() and not above.is_dir():
            raise InvalidInput(f"{above} is not a folder: name a backup file in a folder")
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        raise InvalidInput(f"cannot make the folder {folder}: {exc.strerror}") from None
    return folder


def restore(engine_url: str, source: Path, *, actor: str, now: dt.datetime) -> RestoreReport:
    """Put the backup `source` back as the content of the SQLite database at `engine_url`,
    after checking it (nothing changes if it is refused) and saving the live content beside
    the database; a backup from an older keepwarm is migrated to the newest schema, and every
    erasure the live database knew still holds (see the module's docstring)."""
    database = sqlite_path(engine_url)
    if database is None:
        raise DatabaseError(
            "keepwarm restores SQLite backups only; restore a PostgreSQL database with "
            "pg_restore, then check it with `keepwarm db check`"
        )
    source = source.expanduser().resolve()
    revision, _ = check_backup(source)
    if not database.exists():
        raise DatabaseError(
            f"there is no keepwarm database at {database}: create one with `keepwarm init` "
            "first (the restore fills it)"
        )
    if source == database:
        raise InvalidInput(f"{source} is the database itself")
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    saved = database.with_name(f"{database.name}.before-restore-{stamp}")
    stage = database.with_name(f".{database.name}.restoring-{os.getpid()}")
    _remove(stage)
    try:
        with _sqlite(source, read_only=True) as src, _sqlite(stage) as dst:
            src.backup(dst, pages=-1)
        staged = connect(f"sqlite:///{stage}")
        try:
            _, after = migrate(staged)
            _copy(database, saved, pages=-1, progress=None)
            known, erased, touched = _carry_erasures(
                staged, saved, actor=actor, now=now, source=source
            )
            with _sqlite(stage) as conn:
                counts = _counts(conn)
            with writing(staged) as conn:
                audit.record(
                    conn,
                    actor=actor,
                    action="restore",
                    now=now,
                    subject=source.name,
                    details={
                        "file": str(source),
                        "revision": revision,
                        "migrated_to": after,
                        "saved_before_restore": str(saved),
                        "erased_again": len(erased),
                        **{t: counts.get(t, 0) for t in MAIN_TABLES},
                    },
                )
            if touched:
                erasure.make_unrecoverable(staged, touched)
        finally:
            staged.dispose()
        with _sqlite(stage) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")
        with _sqlite(database) as live:
            if _erasure_signature(live) != known:
                raise DatabaseError(
                    "a client was erased while the restore ran, after the live content was "
                    f"saved: nothing was restored (the database is as it was; {saved.name} is "
                    "an older copy of it). Run the restore again."
                )
            # one step: one write transaction of the live database, atomic for its readers
            with _sqlite(stage, read_only=True) as src:
                src.backup(live, pages=-1)
    finally:
        _remove(stage)
    return RestoreReport(source, database, saved, revision, after, counts, len(erased))


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[Connection]:
    """A read transaction on a SQLite file opened read-only (the saved copy stays as it is)."""
    engine = sa.create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True),
        poolclass=NullPool,
    )
    try:
        with engine.connect() as conn, conn.begin():
            yield conn
    finally:
        engine.dispose()


def _erasure_signature(conn: sqlite3.Connection) -> tuple[int, ...]:
    """Changes whenever the database records an erasure or an erasure secret."""
    try:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM erasures), (SELECT coalesce(max(id), 0) FROM erasures),"
            " (SELECT count(*) FROM erased_identities),"
            " (SELECT count(*) FROM database_secrets WHERE name = ? OR name LIKE ?)",
            (erasure.SECRET, erasure.CARRIED + "%"),
        ).fetchone()
    except sqlite3.OperationalError:  # a database older than erasures (0024): none
        return ()
    return tuple(int(n) for n in row)


def _carry_erasures(
    staged: Engine, saved: Path, *, actor: str, now: dt.datetime, source: Path
) -> tuple[tuple[int, ...], list[str], list[str]]:
    """Carry the erasures of the live content saved in `saved` into the staged restore and
    erase again who they erased; returns the saved copy's erasure signature, the business ids
    erased again and the tables touched."""
    with _sqlite(saved, read_only=True) as conn:
        signature = _erasure_signature(conn)
    if not signature:
        return signature, [], []
    with _read_only(saved) as conn:
        known = erasure.known_erasures(conn)
    why = f"erased since the backup {source.name} was made; restored from it"
    with writing(staged) as conn:
        erased, touched = erasure.erase_again(conn, known, actor=actor, now=now, why=why)
    return signature, erased, touched


def _ours(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    # each database's own search indexes: SQLite's full-text tables, PostgreSQL's trigram ones
    if name is None:
        return True
    fts = kind == "table" and name.startswith("clients_fts")
    return not (fts or (kind == "index" and name.endswith("_trgm")))


def _household_fk(diff: Any) -> bool:
    # SQLite cannot reflect the inline REFERENCES of clients.household_id (migration 0024)
    if diff[0] not in ("add_fk", "remove_fk"):
        return False
    fk = diff[1]
    return [c.name for c in fk.columns] == ["household_id"] and fk.referred_table.name == (
        "households"
    )


def _describe(diff: Any) -> str:
    kind = diff[0]
    if isinstance(kind, tuple | list):  # modifications come grouped per column
        return "; ".join(_describe(d) for d in diff)
    if kind in ("add_table", "remove_table"):
        where = "missing" if kind == "add_table" else "not declared by keepwarm"
        return f"table {diff[1].name}: {where}"
    if kind in ("add_column", "remove_column"):
        where = "missing" if kind == "add_column" else "not declared by keepwarm"
        return f"column {diff[2]}.{diff[3].name}: {where}"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        where = "missing" if kind == "add_index" else "not declared by keepwarm"
        columns = ", ".join(getattr(c, "name", None) or str(c) for c in index.expressions)
        return f"index {index.name} on {index.table.name} ({columns}): {where}"
    if kind in ("add_fk", "remove_fk", "add_constraint", "remove_constraint"):
        where = "missing" if kind.startswith("add") else "not declared by keepwarm"
        constraint = diff[1]
        return f"constraint {constraint.name or ''} on {constraint.table.name}: {where}"
    if kind.startswith("modify_"):
        return (
            f"column {diff[2]}.{diff[3]}: {kind[7:]} is {diff[5]!r}, keepwarm declares {diff[6]!r}"
        )
    return repr(diff)


def schema_differences(engine: Engine) -> list[str]:
    """How the database's schema differs from what this keepwarm declares (tables, columns,
    indexes, constraints), plus its revision if not the newest; [] when they agree."""
    problems: list[str] = []
    revision = current_revision(engine)
    if revision is None:
        return ["no keepwarm schema (no alembic_version): run `keepwarm init` or restore a dump"]
    if revision != head_revision():
        problems.append(f"schema revision {revision}, this keepwarm needs {head_revision()}")
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        context = MigrationContext.configure(conn, opts={"include_object": _ours})
        diff = compare_metadata(context, metadata)
        missing = activity_snapshot.missing_triggers(conn)
    if engine.dialect.name == "sqlite":
        diff = [d for d in diff if not _household_fk(d)]
    problems.extend(_describe(d) for d in diff)
    problems.extend(
        f"trigger {name} on activities: missing (the daily job then reads every activity each "
        "morning; restore with PostgreSQL's pg_restore, which keeps triggers)"
        for name in missing
    )
    return problems


def server_notes(engine: Engine) -> list[str]:
    """Settings of the database server that keepwarm relies on and finds off (advice, not a
    schema difference): on PostgreSQL, autovacuum, which reclaims the rhythms the daily job
    replaces every morning and keeps the query planner's statistics current."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        autovacuum = conn.exec_driver_sql("SHOW autovacuum").scalar_one()
    if autovacuum == "on":
        return []
    return [
        "autovacuum is off on this PostgreSQL server: the daily job replaces every client's "
        "rhythm each morning, and without autovacuum the old rows are never reclaimed (the "
        "table grows by one row per client a day) nor the statistics refreshed; turn it on "
        "(autovacuum = on in postgresql.conf) or run VACUUM ANALYZE after each morning"
    ]
