"""`keepwarm campaign results`: did a campaign (or every campaign of a kind) work?
Registered on the `keepwarm campaign` group in keepwarm.cli.campaigns."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from keepwarm.cli.common import DbOption, console, engine_for, now, user_errors
from keepwarm.services.campaign_results import as_json, pooled, results
from keepwarm.services.daily_job import local_today
from keepwarm.services.policy import get_policy

KINDS = ("win_back", "holiday", "welcome", "custom")


def _rate(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def results_command(
    name: Annotated[str | None, typer.Argument(help="The campaign's name.")] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            help="Instead of one campaign, every campaign of this kind pooled: "
            + ", ".join(KINDS)
            + "."
        ),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """Did it work? Clients who got the campaign against those held out: how many came back
    within the return window, the difference with its 95% interval, and the verdict.

    Example: keepwarm campaign results spring-winback --format json

    Example: keepwarm campaign results --kind win_back
    """
    if output not in ("table", "json"):
        raise typer.BadParameter("choose table or json", param_hint="--format")
    if (name is None) == (kind is None):
        raise typer.BadParameter("give a campaign's name or --kind, not both", param_hint="NAME")
    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"one of {', '.join(KINDS)}", param_hint="--kind")
    with user_errors(), engine_for(db) as (_, engine):
        today = local_today(get_policy(engine), now())
        if name is not None:
            data = as_json(results(engine, name, today=today))
        else:
            assert kind is not None
            data = as_json(pooled(engine, kind, today=today))
    if output == "json":
        console.print_json(json.dumps(data))
        return
    table = Table("", "Clients", "Came back", "Rate")
    table.add_row("Got it", str(data["treated"]), str(data["treated_returned"]),
                  _rate(data["treated_rate"]))  # fmt: skip
    table.add_row("Held out", str(data["holdout"]), str(data["holdout_returned"]),
                  _rate(data["holdout_rate"]))  # fmt: skip
    console.print(table)
    if data["difference"] is not None:
        console.print(
            f"Difference: {data['difference'] * 100:+.1f} points "
            f"(95% interval {data['ci_low'] * 100:+.1f} to {data['ci_high'] * 100:+.1f})"
        )
    console.print(f"Verdict: {data['verdict']}")
    console.print(data["sentence"])
    if "status" in data:
        console.print(data["status"])
    elif data["campaigns"]:
        names = ", ".join(c["name"] for c in data["campaigns"])
        console.print(f"Pooled: {names} (counts summed; see each for its own result).")
