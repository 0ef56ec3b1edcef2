"""`keepwarm backtest`: replay the engine at a past date on the business's own history."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from keepwarm.cli.common import (
    DbOption,
    console,
    engine_for,
    now,
    parse_date_option,
    user_errors,
)
from keepwarm.services.backtest import (
    BASELINES,
    GROUPS,
    KEEPWARM,
    REFERENCE,
    Backtest,
    backtest,
)

_GROUP_WORDS = {"repeat": "clients with two or more visits", "all": "all clients with a visit"}


def backtest_command(
    as_of: Annotated[str, typer.Option("--as-of", help="The past day to replay (YYYY-MM-DD).")],
    days: Annotated[int, typer.Option(help="How long to watch for a return.", min=1)] = 90,
    recall_days: Annotated[
        float | None,
        typer.Option(
            "--recall-days",
            help="The fixed recall interval of the baseline (default: the business's typical "
            "gap between visits).",
        ),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    db: DbOption = None,
) -> None:
    """Replay the engine at a past date: does keepwarm's lapse score find the clients who then
    did not come back better than "days since the last visit" and recall-interval lists?

    Each ranking is judged by its ROC AUC for "no visit within --days" and by the share of
    such clients at the top of lists of 20, 50 and 1% of the clients.

    Example: keepwarm backtest --as-of 2026-05-01 --days 90
    """
    if output not in ("text", "json"):
        raise typer.BadParameter("choose text or json", param_hint="--format")
    day = parse_date_option(as_of, "--as-of")
    assert day is not None
    with user_errors(), engine_for(db) as (_, engine):
        result = backtest(engine, as_of=day, days=days, today=now().date(), recall_days=recall_days)
    if output == "json":
        console.print_json(json.dumps(report_json(result)))
        return
    for line in report_lines(result):
        console.print(line, markup=False, highlight=False)


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def report_json(result: Backtest) -> dict[str, Any]:
    """The backtest in the documented JSON shape: `auc` and `precision_at` by group
    (`repeat`, `all`) and ranking (`keepwarm`, each baseline, each reference score)."""
    return {
        "as_of": result.as_of.isoformat(),
        "days": result.days,
        "model": result.model,
        "recall_days": round(result.recall_days, 1),
        "clients": result.clients,
        "all_clients": result.all_clients,
        "not_returned": result.not_returned,
        "list_sizes": {
            g: dict(zip(("20", "50", "1%"), k, strict=True)) for g, k in result.list_sizes.items()
        },
        "score": KEEPWARM,
        "baselines": BASELINES,
        "reference": REFERENCE,
        "auc": {
            g: {name: _r(r.auc) for name, r in ranks.items()}
            for g, ranks in result.rankings.items()
        },
        "precision_at": {
            g: {name: {k: _r(v) for k, v in r.precision_at.items()} for name, r in ranks.items()}
            for g, ranks in result.rankings.items()
        },
        "beats_baselines": {g: result.beats_baselines(g) for g in GROUPS},
        "behind": {
            g: [
                {"baseline": name, "measure": what, "keepwarm": _r(ours), "baseline_value": _r(b)}
                for name, what, ours, b in result.behind(g)
            ]
            for g in GROUPS
        },
        "flagged": result.flagged,
        "flagged_not_returned": result.flagged_gone,
        "flagged_rate": round(result.flagged_rate, 4),
        "base_rate": round(result.base_rate, 4),
        "lift": None if result.lift is None else round(result.lift, 2),
    }


def _by(measure: str, ours: float, theirs: float, sizes: tuple[int, ...]) -> str:
    """' (0.4 of 20 clients)': how many clients a precision gap at a list size amounts to
    (fractions: clients tied at the cut count at their expected share)."""
    if measure == "auc":
        return ""
    k = dict(zip(("top 20", "top 50", "top 1%"), sizes, strict=True))[measure]
    return f" ({(theirs - ours) * k:.1f} of {k:,} clients)"


def _fmt(measure: str, value: float) -> str:
    return f"{value:.3f}" if measure == "auc" else f"{value:.0%}"


def _clients(n: int) -> str:
    return f"{n:,} client" if n == 1 else f"{n:,} clients"


def report_lines(result: Backtest) -> list[str]:
    days = f"{result.days} day" if result.days == 1 else f"{result.days} days"
    lines = [
        f"Replayed on {result.as_of} with the {result.model} model; a client counts as not "
        f"back if they had no visit within {days}.",
    ]
    if result.flagged:
        lift = f" ({result.lift:.1f}x the base rate)" if result.lift else ""
        lines.append(
            f"Flagged as lapsing that day: {_clients(result.flagged)} with a known rhythm; "
            f"{result.flagged_gone:,} ({result.flagged_rate:.0%}) did not come back within "
            f"{days}, against {result.base_rate:.0%} of all {_clients(result.clients)} with a "
            f"known rhythm{lift}."
        )
    names = [KEEPWARM, *BASELINES, *REFERENCE]
    width = max(len(n) for n in names) + 2
    for group in GROUPS:
        n = result.clients if group == "repeat" else result.all_clients
        gone = result.not_returned[group]
        ks = result.list_sizes[group]
        lines.append("")
        lines.append(
            f"{_GROUP_WORDS[group].capitalize()}: {_clients(n)}, {gone:,} not back "
            f"({gone / n:.0%})."
            if n
            else f"{_GROUP_WORDS[group].capitalize()}: none."
        )
        header = f"  {'ranking':<{width}}{'AUC':>7}" + "".join(f"{f'top {k:,}':>12}" for k in ks)
        lines.append(header)
        for name in names:
            r = result.rankings[group][name]
            cells = "".join(f"{v:>12.0%}" for v in r.precision_at.values())
            value = "   n/a" if r.auc is None else f"{r.auc:7.3f}"
            tag = " (reference)" if name in REFERENCE else ""
            lines.append(f"  {name:<{width}}{value:>7}{cells}{tag}")
        verdict = result.beats_baselines(group)
        if verdict:
            lines.append(
                "  keepwarm's lapse score beats every baseline (AUC, and the top of the list)."
            )
        elif verdict is not None:
            misses = "; ".join(
                f"{what}: {_fmt(what, ours)} against {_fmt(what, theirs)} for {name}"
                + _by(what, ours, theirs, result.list_sizes[group])
                for name, what, ours, theirs in result.behind(group)
            )
            lines.append(f"  keepwarm's lapse score does NOT beat every baseline: {misses}.")
    lines.append("")
    lines.append(
        f"Fixed recall interval of the baseline: {result.recall_days:.0f} days. "
        "AUC: the chance a client who did not come back ranks above one who did (0.5 is a "
        "coin toss); top k: the share not back among the first k of the list."
    )
    return lines
