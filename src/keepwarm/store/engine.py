"""Opening the database: SQLite set up right on every connection, PostgreSQL by URL.

Every SQLite connection gets WAL, synchronous=FULL, foreign_keys=ON and a busy timeout; write
transactions start with BEGIN IMMEDIATE so two writers queue instead of failing half-way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from keepwarm.domain.errors import DatabaseError

SQLITE_PRAGMAS = (
    ("journal_mode", "WAL"),
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
    ("busy_timeout", "10000"),
    # Imports build large indexes; SQLite's default 2 MB page cache makes that disk-bound.
    ("cache_size", "-65536"),
    # Deleted content is overwritten with zeros, so an erased client leaves no bytes behind.
    ("secure_delete", "ON"),
)

_WRITE = "keepwarm_write"


def connect(url: str, *, create: bool = False, **engine_options: Any) -> Engine:
    """Return an Engine for `url`; SQLite files get keepwarm's pragmas on every connection.

    A SQLite file that does not exist is an error unless `create` is set, so a mistyped path
    never leaves an empty database behind."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database).expanduser().resolve()
            if not path.parent.is_dir():
                raise DatabaseError(f"folder {path.parent} does not exist (database URL {url})")
            if not create and not path.exists():
                raise DatabaseError(
                    f"there is no keepwarm database at {path}: create one with `keepwarm init`"
                    " (or name another with --db / KEEPWARM_DATABASE_URL)"
                )
        engine = create_engine(parsed, **engine_options)
        _set_up_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine_options.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **engine_options)
    raise DatabaseError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://"
    )


def _set_up_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module; we issue BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for name, value in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {name}={value}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back on any exception."""
    shared = _SHARED.get()
    if shared is not None:
        shared.written = True  # later reads must see this write: no more sharing
    try:
        options = {_WRITE: True, "preserve_rowcount": True}
        with engine.connect().execution_options(**options) as conn, conn.begin():
            yield conn
    except OperationalError as exc:
        raise DatabaseError(_describe(engine, exc)) from exc


_SNAPSHOT = {"isolation_level": "REPEATABLE READ"}


@dataclass
class _Shared:
    engine: Engine
    conn: Connection
    written: bool = False


_SHARED: ContextVar[_Shared | None] = ContextVar("keepwarm_shared_reading", default=None)


@contextmanager
def one_snapshot(engine: Engine) -> Iterator[None]:
    """Every `reading(engine)` in the block shares one read transaction: a page that asks
    several services for what it shows reads one state of the database, and pays for one
    transaction (one connection checked out, one BEGIN, one COMMIT) instead of one per
    service (26 on a client's page). After a `writing` in the block, each reading has its own
    transaction again, so it sees what was written."""
    if _SHARED.get() is not None:
        yield
        return
    with reading(engine) as conn:
        token = _SHARED.set(_Shared(engine, conn))
        try:
            yield
        finally:
            _SHARED.reset(token)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """One read transaction (a consistent snapshot). SQLite's transactions are snapshots
    already; PostgreSQL's default, READ COMMITTED, lets each statement see a different state,
    so a page that reads several queries (today's list, a client's page) could mix the state
    before and after a write. REPEATABLE READ gives every statement the transaction's first
    snapshot; a read-only transaction at that level never fails to serialise. Inside
    `one_snapshot(engine)`, the block's transaction is shared."""
    shared = _SHARED.get()
    if shared is not None and shared.engine is engine and not shared.written:
        yield shared.conn
        return
    try:
        options = _SNAPSHOT if engine.dialect.name == "postgresql" else {}
        with engine.connect().execution_options(**options) as conn, conn.begin():
            yield conn
    except OperationalError as exc:
        raise DatabaseError(_describe(engine, exc)) from exc


def _describe(engine: Engine, exc: OperationalError) -> str:
    target = engine.url.render_as_string(hide_password=True)
    return f"database {target}: {str(exc.orig).strip().splitlines()[0]}"
