"""What every command shares: settings, the database option, dates, errors, output and logs."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine

from keepwarm.config import Settings, load_settings
from keepwarm.domain.errors import KeepwarmError
from keepwarm.logs import configure_logging
from keepwarm.services.database import open_database

# Soft wrap: messages carry paths and commands people copy; the terminal wraps, not Rich.
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database: a SQLite file path (practice.db) or a URL (postgresql://host/db). "
        "Default: KEEPWARM_DATABASE_URL, else keepwarm.db here.",
        show_default=False,
    ),
]


VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Log what keepwarm does (steps, counts, durations) to stderr, at "
        "KEEPWARM_LOG_LEVEL (INFO unless set). Put it before the command: "
        "keepwarm --verbose run-daily.",
    ),
]


def start_logging(verbose: bool) -> None:
    """The CLI is silent unless --verbose: then log lines go to stderr at the settings' level,
    in their format, and the command's own output (stdout) stays as it is."""
    with user_errors():
        settings = load_settings(os.environ) if verbose else Settings()
        configure_logging(settings, verbose=verbose)


def database_url(db: str | None) -> str | None:
    if db is None:
        return None
    if "://" in db:
        return db
    return "sqlite:///" + str(Path(db).expanduser())


def settings_for(db: str | None) -> Settings:
    settings = load_settings(os.environ)
    url = database_url(db)
    if url is not None:
        settings = load_settings({**os.environ, "KEEPWARM_DATABASE_URL": url})
    return settings


@contextmanager
def engine_for(db: str | None) -> Iterator[tuple[Settings, Engine]]:
    settings = settings_for(db)
    engine = open_database(settings)
    try:
        yield settings, engine
    finally:
        engine.dispose()


def today() -> dt.date:
    """The local calendar date: the CLI is where keepwarm meets the clock."""
    return dt.date.today()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_date_option(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date like 2024-03-05", param_hint=option
        ) from None


def fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]Error:[/] {message}")
    return typer.Exit(1)


@contextmanager
def user_errors() -> Iterator[None]:
    """Show keepwarm's own errors as one clear line, never a traceback."""
    try:
        yield
    except KeepwarmError as exc:
        raise fail(str(exc)) from None
