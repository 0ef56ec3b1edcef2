"""`keepwarm report retention`: retention by member of staff over a period (the same numbers
as the Reports page and its CSV)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from keepwarm.cli.common import DbOption, console, engine_for, parse_date_option, today, user_errors
from keepwarm.services import retention as svc

report_app = typer.Typer(
    help="Reports at the command line.\n\nExample: keepwarm report retention --format csv",
    no_args_is_help=True,
)


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


@report_app.command("retention")
def retention(
    from_: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD); default 90 days ago.")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day; default today.")] = None,
    output: Annotated[str, typer.Option("--format", help="text, json or csv.")] = "text",
    db: DbOption = None,
) -> None:
    """Per member of staff: clients active at the start still active at the end, clients won
    back after a personal touch, weeks the quota was met, and NPS.

    Example: keepwarm report retention --from 2026-01-01 --to 2026-03-31 --format json
    """
    if output not in ("text", "json", "csv"):
        raise typer.BadParameter("choose text, json or csv", param_hint="--format")
    start, end = svc.default_period(today())
    start = parse_date_option(from_, "--from") or start
    end = parse_date_option(to, "--to") or end
    with user_errors(), engine_for(db) as (_, engine):
        found = svc.retention(engine, start, end)
    if output == "json":
        console.print_json(json.dumps(found.as_json()))
        return
    if output == "csv":
        typer.echo(found.csv(), nl=False)
        return
    table = Table(
        "Staff", "Active at start", "Still active", "Retention %", "Won back", "Quota weeks", "NPS"
    )
    for r in found.rows:
        table.add_row(
            r.staff,
            str(r.active_at_start),
            str(r.still_active),
            _cell(r.retention_pct),
            str(r.won_back),
            f"{r.quota_weeks_met}/{r.quota_weeks}",
            f"{_cell(r.nps)} ({r.nps_answers})",
        )
    console.print(f"Retention from {start.isoformat()} to {end.isoformat()}", markup=False)
    console.print(table)
