"""Bringing any database to the newest schema with Alembic, in-process."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from keepwarm.domain.errors import DatabaseError

_MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every revision this keepwarm's migrations know (a backup at another one is newer)."""
    return {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> tuple[str | None, str]:
    """Upgrade the database to the newest schema; returns (revision before, revision after)."""
    before = current_revision(engine)
    config = _config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()
    return before, head_revision()


def require_current(engine: Engine) -> None:
    """Raise DatabaseError with the fix when the database is missing or behind the code."""
    revision = current_revision(engine)
    if revision is None:
        raise DatabaseError(
            f"{engine.url.render_as_string(hide_password=True)} has no keepwarm tables yet: "
            "run `keepwarm init` first"
        )
    if revision != head_revision():
        raise DatabaseError(
            f"the database schema is at {revision}, this keepwarm needs {head_revision()}: "
            "run `keepwarm db migrate`"
        )
