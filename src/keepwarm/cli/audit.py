"""`keepwarm audit`: the audit log (who did what, when, to which client), filtered."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Annotated

import typer
from rich.table import Table

from keepwarm.cli.common import DbOption, console, engine_for, parse_date_option, user_errors
from keepwarm.services import audit


def audit_command(
    action: Annotated[
        str | None,
        typer.Option("--action", help=f"Only this kind: {', '.join(audit.ACTIONS)}."),
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Only what this user did (their email).")
    ] = None,
    client: Annotated[
        str | None, typer.Option("--client", help="Only entries about this client (their id).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this day on (2026-12-01), UTC.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to and including this day, UTC.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (newest first).", min=1)] = 200,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    db: DbOption = None,
) -> None:
    """Show the audit log, newest first: sign-ins, imports, edits, merges, consent changes,
    exports, erasures, sends, backups.

    Example: keepwarm audit --action sign-in-failed --since 2026-12-01 --format csv
    """
    if output not in ("table", "csv", "json"):
        raise typer.BadParameter("choose table, csv or json", param_hint="--format")
    start = parse_date_option(since, "--since")
    end = parse_date_option(until, "--until")
    with user_errors(), engine_for(db) as (_, engine):
        client_id = audit.client_key(engine, client) if client else None
        found = audit.entries(
            engine,
            audit.AuditFilter(
                action=action,
                actor=actor,
                client_id=client_id,
                since=_midnight(start),
                until=_midnight(end + dt.timedelta(days=1)) if end else None,
            ),
            limit=limit,
        )
    if output == "json":
        console.print_json(json.dumps([audit.as_json(e) for e in found]))
        return
    if output == "csv":
        buffer = io.StringIO()
        audit.write_csv(buffer, found)
        typer.echo(buffer.getvalue(), nl=False)
        return
    if not found:
        console.print("No entries match.")
        return
    table = Table("When (UTC)", "Who", "What", "About", "Details")
    for e in found:
        table.add_row(
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.actor,
            audit.ACTIONS.get(e.action, e.action),
            e.subject or "",
            audit.details_text(e.details),
        )
    console.print(table)


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, dt.time(), dt.UTC)


__all__ = ["audit_command"]
