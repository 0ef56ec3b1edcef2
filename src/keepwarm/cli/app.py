"""Command definitions. Each command parses options, calls one service and prints the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from keepwarm import __version__
from keepwarm.cli import campaigns as campaigns_cli
from keepwarm.cli import clients, data, staff
from keepwarm.cli import feedback as feedback_cli
from keepwarm.cli import outbox as outbox_cli
from keepwarm.cli import reports as reports_cli
from keepwarm.cli import rhythm as rhythm_cli
from keepwarm.cli import segments as segments_cli
from keepwarm.cli.audit import audit_command
from keepwarm.cli.backtest import backtest_command
from keepwarm.cli.backup import backup_command, db_check, restore_command
from keepwarm.cli.common import (
    DbOption,
    VerboseOption,
    console,
    settings_for,
    start_logging,
    user_errors,
)
from keepwarm.cli.consent import bounces_app, consent
from keepwarm.cli.duplicates import duplicates, merge, merges
from keepwarm.cli.households import household, households_app
from keepwarm.cli.policy import policy_app
from keepwarm.cli.printing import print_command
from keepwarm.cli.privacy import erase_command
from keepwarm.cli.today import (
    calendar,
    dismiss,
    done,
    feed_command,
    quota,
    remind,
    reopen_command,
    run_daily_command,
    snooze,
    today,
    undo_command,
    waiting,
)
from keepwarm.cli.users import serve, user_app
from keepwarm.services.database import init_database

app = typer.Typer(
    name="keepwarm",
    help="keepwarm: every morning, whom to contact today, why, and what to say.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(
    help="Database maintenance.\n\nExample: keepwarm db migrate", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(data.import_app, name="import")
app.add_typer(data.export_app, name="export")
app.add_typer(staff.staff_app, name="staff")
app.add_typer(policy_app, name="policy")
app.add_typer(user_app, name="user")
app.add_typer(outbox_cli.outbox_app, name="outbox")
app.add_typer(bounces_app, name="bounces")
app.add_typer(campaigns_cli.campaign_app, name="campaign")
app.add_typer(feedback_cli.feedback_app, name="feedback")
app.add_typer(segments_cli.segment_app, name="segment")
app.add_typer(reports_cli.report_app, name="report")
app.add_typer(households_app, name="households")
app.command("serve")(serve)
app.command("clients")(clients.clients)
app.command("client")(clients.client)
app.command("touch")(clients.touch)
app.command("demo")(data.demo)
app.command("rhythm")(rhythm_cli.rhythm)
app.command("run-daily")(run_daily_command)
app.command("today")(today)
app.command("done")(done)
app.command("snooze")(snooze)
app.command("dismiss")(dismiss)
app.command("undo")(undo_command)
app.command("reopen")(reopen_command)
app.command("remind")(remind)
app.command("feed")(feed_command)
app.command("quota")(quota)
app.command("waiting")(waiting)
app.command("calendar")(calendar)
app.command("send")(outbox_cli.send)
app.command("backtest")(backtest_command)
app.command("consent")(consent)
app.command("erase")(erase_command)
app.command("print")(print_command)
app.command("audit")(audit_command)
app.command("duplicates")(duplicates)
app.command("merge")(merge)
app.command("merges")(merges)
app.command("household")(household)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
db_app.command("check")(db_check)


def _version(value: bool) -> None:
    if value:
        console.print(f"keepwarm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    verbose: VerboseOption = False,
) -> None:
    """keepwarm: every morning, whom to contact today, why, and what to say."""
    start_logging(verbose)


@app.command()
def init(db: DbOption = None) -> None:
    """Create an empty keepwarm database (or bring an existing one up to date).

    Example: keepwarm init --db practice.db
    """
    with user_errors():
        settings = settings_for(db)
        before, after = init_database(settings)
    where = settings.database_url
    if before is None:
        console.print(f"Created a keepwarm database at [bold]{where}[/] (schema {after}).")
    elif before == after:
        console.print(f"{where} is ready (schema {after}, already up to date).")
    else:
        console.print(f"Upgraded {where} from schema {before} to {after}.")


@db_app.command("migrate")
def migrate(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Bring the database to the newest schema (safe to run any time).

    Example: keepwarm db migrate --db postgresql://localhost/keepwarm
    """
    with user_errors():
        before, after = init_database(settings_for(db))
    if as_json:
        console.print_json(json.dumps({"before": before, "after": after}))
    elif before == after:
        console.print(f"Already at the newest schema ({after}).")
    else:
        console.print(f"Migrated from {before or 'an empty database'} to {after}.")


def main() -> None:
    app()


__all__ = ["Path", "app", "main"]
