"""Benchmark: from the store to saved rhythms (`keepwarm rhythm`) at 100,000 clients and
about 1,000,000 activities, on SQLite and PostgreSQL, against the rhythm engine alone on the
same arrays (the baseline, measured in the same run: everything but reading and saving).

    .venv/bin/python bench/bench_rhythm_store.py --runs 3 [--pg URL]

The practice is simulated from a BG/NBD model (the same kind of data as bench_rhythm.py,
over a longer history so clients average about ten visits), written as CSV and imported once
per backend through the real import path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from keepwarm import rhythm
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.importing import import_file
from keepwarm.services.rhythms import compute_rhythms, fit, load_activities
from keepwarm.store import connect, migrate
from simulated_practice import bgnbd, write_practice

AS_OF = dt.date(2026, 1, 1)
OUT = Path(__file__).resolve().parent / "out"
TRUTH = bgnbd(0.75, 2.8, 0.8, 2.5)


def make_files(n_clients: int = 100_000, seed: int = 3) -> tuple[Path, Path]:
    """Simulated clients and activities (three years, first visits over the first year)."""
    return write_practice(
        OUT / f"sim-clients-{n_clients}.csv",
        OUT / f"sim-activities-{n_clients}.csv",
        TRUTH,
        n_clients=n_clients,
        seed=seed,
        end=AS_OF,
        prefix="S",
    )


def prepare(url: str, clients: Path, acts: Path):  # type: ignore[no-untyped-def]
    engine = connect(url, create=True)
    migrate(engine)
    settings = Settings(database_url=url)
    now = dt.datetime.now(dt.UTC)
    for kind, path in ((ImportKind.CLIENTS, clients), (ImportKind.ACTIVITIES, acts)):
        report = import_file(engine, settings, kind, path, today=AS_OF, now=now)
        assert report.ok, report.problems[:3]
    return engine, settings


def measure(engine, settings, runs: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    totals, parts, engine_only = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        run = compute_rhythms(engine, as_of=AS_OF, now=dt.datetime.now(dt.UTC))
        totals.append(time.perf_counter() - started)
        parts.append(run.seconds)
        data = load_activities(engine, AS_OF)
        started = time.perf_counter()
        summary, population, _ = fit(data)
        rhythm.score(summary, population)
        engine_only.append(time.perf_counter() - started)
    return {
        "total": statistics.median(totals),
        "read": statistics.median(p["read"] for p in parts),
        "learn": statistics.median(p["learn"] for p in parts),
        "save": statistics.median(p["save"] for p in parts),
        "engine": statistics.median(engine_only),
        "model": run.fit.model,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", help="PostgreSQL URL (a schema is created and dropped)")
    args = parser.parse_args()
    clients, acts = make_files()
    rows = sum(1 for _ in acts.open()) - 1
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine, settings = prepare(f"sqlite:///{tmp}/bench.db", clients, acts)
        results["SQLite"] = measure(engine, settings, args.runs)
        engine.dispose()
    if args.pg:
        schema = "kwbench_" + uuid.uuid4().hex[:10]
        plain = args.pg.replace("+psycopg", "")
        subprocess.run(["psql", plain, "-qc", f"CREATE SCHEMA {schema}"], check=True)
        try:
            sep = "&" if "?" in args.pg else "?"
            engine, settings = prepare(
                f"{args.pg}{sep}options=-csearch_path%3D{schema}", clients, acts
            )
            results["PostgreSQL"] = measure(engine, settings, args.runs)
            engine.dispose()
        finally:
            subprocess.run(
                ["psql", plain, "-qc", f"DROP SCHEMA {schema} CASCADE"],
                check=True,
                capture_output=True,
            )
    print(f"100,000 clients, {rows:,} activities; {args.runs} runs, medians\n")
    print("| step | " + " | ".join(results) + " |")
    print("| --- |" + " --- |" * len(results))
    for key, label in [
        ("read", "read activities from the store as arrays"),
        ("learn", "summarise + fit (both models, holdout choice) + score, as columns"),
        ("save", "replace the rhythms table"),
        ("total", "**total: store to saved rhythms**"),
        ("engine", "baseline: the engine alone on the same arrays (with the holdout report)"),
    ]:
        cells = [f"{r[key]:.2f} s" for r in results.values()]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("| model chosen | " + " | ".join(str(r["model"]) for r in results.values()) + " |")


if __name__ == "__main__":
    main()
