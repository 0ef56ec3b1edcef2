"""`keepwarm backtest`: replay the engine at a past date on the business's own history."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from keepwarm.cli.common import DbOption, console, engine_for, parse_date_option, user_errors
from keepwarm.services.backtest import backtest


def backtest_command(
    as_of: Annotated[str, typer.Option("--as-of", help="The past day to replay (YYYY-MM-DD).")],
    days: Annotated[int, typer.Option(help="How long to watch for a return.", min=1)] = 90,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    db: DbOption = None,
) -> None:
    """Replay the engine at a past date: how many clients it would have flagged as lapsing
    really did not come back, against all clients: evidence you can trust the list.

    Example: keepwarm backtest --as-of 2026-05-01 --days 90
    """
    if output not in ("text", "json"):
        raise typer.BadParameter("choose text or json", param_hint="--format")
    day = parse_date_option(as_of, "--as-of")
    assert day is not None
    with user_errors(), engine_for(db) as (_, engine):
        result = backtest(engine, as_of=day, days=days)
    if output == "json":
        console.print_json(
            json.dumps(
                {
                    "as_of": day.isoformat(),
                    "days": days,
                    "model": result.model,
                    "clients": result.clients,
                    "flagged": result.flagged,
                    "flagged_not_returned": result.flagged_gone,
                    "flagged_rate": round(result.flagged_rate, 4),
                    "base_rate": round(result.base_rate, 4),
                    "lift": None if result.lift is None else round(result.lift, 2),
                    "history_short": result.history_short,
                }
            )
        )
        return
    lift = f" ({result.lift:.1f}x the base rate)" if result.lift else ""
    console.print(
        f"Of the {result.flagged:,} clients keepwarm would have flagged as lapsing on {day}, "
        f"{result.flagged_gone:,} ({result.flagged_rate:.0%}) did not come back within "
        f"{days} days, against {result.base_rate:.0%} of all {result.clients:,} clients with "
        f"a known rhythm{lift}.",
        markup=False,
    )
    if result.history_short:
        console.print(
            f"Note: your history ends before {days} days after {day}, so some clients counted "
            "as not back may simply not have had time.",
            markup=False,
        )
