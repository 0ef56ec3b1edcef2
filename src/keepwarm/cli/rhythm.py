"""`keepwarm rhythm`: learn every client's rhythm, or report how the fit went."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from keepwarm.cli.common import (
    DbOption,
    console,
    engine_for,
    err_console,
    now,
    parse_date_option,
    today,
    user_errors,
)
from keepwarm.domain.model import RhythmFit
from keepwarm.services import rhythms, spark_rhythms

MODEL_LABEL = {"bgnbd": "BG/NBD", "paretonbd": "Pareto/NBD", "own_gaps": "each client's own gaps"}


def rhythm(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Use only activities up to this date (YYYY-MM-DD)."),
    ] = None,
    report: Annotated[
        bool, typer.Option("--report", help="Print the fit and its holdout check; save nothing.")
    ] = False,
    output: Annotated[str, typer.Option("--format", help="text or json (with --report).")] = "text",
    holdout_weeks: Annotated[
        int | None,
        typer.Option(
            help="Weeks held out for the check (default: 26, or a third of history).", min=4
        ),
    ] = None,
    engine_name: Annotated[
        str,
        typer.Option(
            "--engine",
            help="local, or spark: run the summary and scoring on Apache Spark "
            '(pip install "keepwarm[spark]"; Java 17).',
        ),
    ] = "local",
    master: Annotated[
        str, typer.Option(help="With --engine spark: the Spark master URL, e.g. spark://host:7077.")
    ] = "local[*]",
    activities: Annotated[
        Path | None,
        typer.Option(
            help="With --engine spark: a folder of Parquet files written by "
            "'keepwarm export activities --format parquet' (default: read the store).",
            file_okay=False,
        ),
    ] = None,
    partitions: Annotated[
        int | None, typer.Option(help="With --engine spark: partitions of the activities.", min=1)
    ] = None,
    db: DbOption = None,
) -> None:
    """Learn each client's rhythm (usual gap, chance still active, expected visits and spend,
    trend, the day their silence becomes unusual) and save it.

    Example: keepwarm rhythm --as-of 2026-06-30 --report --format json

    On Apache Spark: keepwarm rhythm --engine spark --master local[2]
    """
    if output not in ("text", "json"):
        raise typer.BadParameter("choose text or json", param_hint="--format")
    if engine_name not in ("local", "spark"):
        raise typer.BadParameter("choose local or spark", param_hint="--engine")
    if engine_name == "spark" and report:
        raise typer.BadParameter("--report runs on the local engine", param_hint="--engine")
    if engine_name == "local" and (activities is not None or partitions is not None):
        raise typer.BadParameter("--activities and --partitions are for --engine spark")
    day = parse_date_option(as_of, "--as-of") or today()
    with user_errors(), engine_for(db) as (_, engine), _progress() as progress:
        if report:
            fit = rhythms.rhythm_report(
                engine, as_of=day, now=now(), holdout_weeks=holdout_weeks, progress=progress
            )
        elif engine_name == "spark":
            run = spark_rhythms.compute_rhythms_spark(
                engine,
                as_of=day,
                now=now(),
                master=master,
                activities=activities,
                partitions=partitions,
                progress=progress,
            )
            fit = run.fit
        else:
            run = rhythms.compute_rhythms(engine, as_of=day, now=now(), progress=progress)
            fit = run.fit
    if report:
        _print_report(fit, output)
        return
    console.print(
        f"Learned the rhythm of {run.clients:,} clients from {run.activities:,} activities "
        f"up to {day.isoformat()}.",
        markup=False,
    )
    console.print(f"Model: {_model_sentence(fit)}", markup=False)
    console.print(
        f"{run.needing_attention:,} clients have been quiet for longer than usual for them.",
        markup=False,
    )


class _progress:
    """A Rich progress bar fed by the service's (stage, done, total) callbacks."""

    def __enter__(self) -> _progress:
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
        )
        self.bar.__enter__()
        self.tasks: dict[str, TaskID] = {}
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            for task in self.tasks.values():
                self.bar.update(task, completed=self.bar.tasks[task].total or 1)
            self.tasks[stage] = self.bar.add_task(stage, total=total or None)
        self.bar.update(self.tasks[stage], completed=done)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.bar.__exit__(exc_type, exc, traceback)


def _model_sentence(fit: RhythmFit) -> str:
    return f"{MODEL_LABEL.get(fit.model, fit.model)} — {fit.reason}"


def report_json(fit: RhythmFit) -> dict[str, Any]:
    model = fit.population.get("model")
    params = (
        {k: v for k, v in model.items() if k not in ("model", "diagnostics", "log_likelihood")}
        if isinstance(model, dict)
        else {}
    )
    return {
        "as_of": fit.as_of.isoformat(),
        "model": fit.model,
        "time_unit": fit.time_unit,
        "params": params,
        "spend_params": fit.population.get("spend"),
        "log_likelihood": fit.log_likelihood,
        "converged": fit.converged,
        "fallback": fit.fallback,
        "explanation": fit.reason,
        "notes": fit.population.get("notes", []),
        "clients": fit.clients,
        "holdout": fit.holdout,
    }


def _print_report(fit: RhythmFit, output: str) -> None:
    data = report_json(fit)
    if output == "json":
        console.print_json(json.dumps(data))
        return
    console.print(f"[bold]Rhythm fit as of {data['as_of']}[/] for {fit.clients:,} clients")
    console.print(f"Model: {_model_sentence(fit)}", markup=False)
    if data["params"]:
        params = ", ".join(
            f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
            for k, v in data["params"].items()
        )
        console.print(f"Parameters (time unit: {fit.time_unit}): {params}", markup=False)
    if fit.log_likelihood is not None:
        console.print(
            f"Log-likelihood {fit.log_likelihood:,.1f}; "
            + ("converged" if fit.converged else "did NOT converge"),
            markup=False,
        )
    for note in data["notes"]:
        console.print(f"Note: {note}", markup=False)
    holdout = fit.holdout
    if not holdout:
        console.print("No holdout check: the history is too short to hold some of it back.")
        return
    console.print(
        f"\nHoldout check: fitted on the history up to {holdout['calibration_end']}, then "
        f"predicted the next {holdout['weeks']:g} weeks for {holdout['clients']:,} clients: "
        f"{holdout['predicted_visits']:,.0f} visits predicted, {holdout['actual_visits']:,} "
        f"happened (mean error {holdout['mean_absolute_error']:.2f} visits per client).",
        markup=False,
    )
    table = Table("Repeat visits before", "Clients", "Predicted (mean)", "Actual (mean)")
    by_frequency = holdout.get("by_frequency")
    for row in by_frequency if isinstance(by_frequency, list) else []:
        table.add_row(
            row["repeat_visits_before"],
            f"{row['clients']:,}",
            f"{row['predicted_mean']:.2f}",
            f"{row['actual_mean']:.2f}",
        )
    console.print(table)
