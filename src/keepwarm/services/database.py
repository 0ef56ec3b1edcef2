"""Opening and preparing the database named by the settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from keepwarm.config import Settings
from keepwarm.store import connect, migrate, one_snapshot, require_current


def open_database(settings: Settings) -> Engine:
    """An engine for the configured database, checked to be at the newest schema."""
    engine = connect(settings.database_url)
    require_current(engine)
    return engine


def init_database(settings: Settings) -> tuple[str | None, str]:
    """Create the database (or bring it up to date); returns (revision before, after)."""
    engine = connect(settings.database_url, create=True)
    try:
        return migrate(engine)
    finally:
        engine.dispose()


@contextmanager
def one_read(engine: Engine) -> Iterator[None]:
    """What the services read in the block comes from one read transaction: a page showing
    several services' answers shows one state of the database, and opens one transaction
    (keepwarm.store.one_snapshot; a write in the block ends the sharing)."""
    with one_snapshot(engine):
        yield
