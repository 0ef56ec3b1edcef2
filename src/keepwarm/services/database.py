"""Opening and preparing the database named by the settings."""

from __future__ import annotations

from sqlalchemy import Engine

from keepwarm.config import Settings
from keepwarm.store import connect, migrate, require_current


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
