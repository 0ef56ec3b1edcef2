"""The rhythm engine on one machine against the Spark engine in local mode, same data, same run.

A simulated practice (BG/NBD r=0.75, alpha=2.8 weeks, a=0.8, b=2.5; Gamma-Gamma amounts; about
6.6 activity records per client, as bench_rhythm.py) is learned twice:

- **local**: what `compute_rhythms` runs on arrays: summary, fit with the holdout choice,
  scoring, lapse calibration (medians of `--runs`, each in a fresh process for its peak memory);
- **spark**: `spark_rhythms.learn` with `--master` (default local[2]) over the same activities
  written as Parquet (the write is not timed; the session start is reported apart).

It reports both times, the rows of counts that reached the Spark driver (against the
clients), and the largest relative difference between the two engines' scores and parameters.

    .venv/bin/python bench/bench_spark.py --clients 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from keepwarm import rhythm
from keepwarm.services import rhythms
from keepwarm.store import rhythms as store

BASE = store.day_number(dt.date(2024, 1, 1))
AS_OF_OFFSET = 546


def practice(n: int, seed: int = 1) -> rhythm.SimulatedActivities:
    diag = rhythm.FitDiagnostics(True, 0, 0, "", 0.0, 0.0, 0, False)
    params = rhythm.BGNBDParams(0.75, 2.8, 0.8, 2.5, 0.0, 7.0, diag)
    return rhythm.simulate_activities(
        params, n, np.random.default_rng(seed), as_of_day=AS_OF_OFFSET
    )


def local_learn(
    sim: rhythm.SimulatedActivities,
) -> tuple[rhythm.PopulationFit, rhythm.Scores, float]:
    ids = np.arange(sim.n_clients, dtype=np.int64) + 1
    as_of = store.day_from_number(BASE + AS_OF_OFFSET)
    started = time.perf_counter()
    data = rhythms.ActivityArrays(as_of, ids, sim.client, sim.day + BASE, sim.amount_cents)
    data = data.ordered()
    summary, population, _ = rhythms.fit(data, check=False)
    scores = rhythm.score(summary, population)
    scores = rhythms.with_calibrated_lapse(data, summary, population, scores)
    return population, scores, time.perf_counter() - started


def _child(n: int) -> None:
    sim = practice(n)
    _, _, seconds = local_learn(sim)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak}))


def worst_difference(
    a: rhythm.Scores, b: rhythm.Scores, pa: rhythm.PopulationFit, pb: rhythm.PopulationFit
) -> float:
    worst = 0.0
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            scale = np.maximum(np.abs(x), np.abs(y))
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.where(scale > 0, np.abs(x - y) / scale, 0.0)
            worst = max(worst, float(np.nanmax(rel)) if rel.size else 0.0)
        elif isinstance(x, np.ndarray) and not np.array_equal(x, y):
            return float("inf")

    def walk(u: object, v: object) -> None:
        nonlocal worst
        if isinstance(u, dict) and isinstance(v, dict):
            for k in u:
                walk(u[k], v[k])
        elif isinstance(u, list) and isinstance(v, list):
            for p, q in zip(u, v, strict=True):
                walk(p, q)
        elif isinstance(u, float) and isinstance(v, float):
            scale = max(abs(u), abs(v))
            worst = max(worst, abs(u - v) / scale if scale else 0.0)

    walk(pa.to_dict(), pb.to_dict())
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--spark-runs", type=int, default=1)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    from keepwarm.services import spark_rhythms

    for n in args.clients:
        local = [
            json.loads(
                subprocess.run(
                    [sys.executable, __file__, "--child", str(n)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for _ in range(args.runs)
        ]
        sim = practice(n)
        population, scores, in_process = local_learn(sim)
        if not local:  # --runs 0: the one run in this process (peak memory not measured)
            local = [{"seconds": in_process, "peak_mib": float("nan")}]
        ids = np.arange(sim.n_clients, dtype=np.int64) + 1
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "activities"
            folder.mkdir()
            table = pa.table(
                {
                    "client": ids[sim.client],
                    "day": sim.day + BASE,
                    "amount_cents": sim.amount_cents,
                }
            )
            pq.write_table(table, folder / "part-00000.parquet", row_group_size=1_000_000)
            del table
            started = time.perf_counter()
            spark = spark_rhythms.spark_session(args.master)
            start_seconds = time.perf_counter() - started
            timings = []
            for _ in range(args.spark_runs):
                frame = spark.read.parquet(str(folder))
                started = time.perf_counter()
                got = spark_rhythms.learn(
                    spark, frame, ids, BASE + AS_OF_OFFSET, partitions=args.partitions
                )
                timings.append(time.perf_counter() - started)
            spark.stop()
        diff = worst_difference(got.learned.scores, scores, got.population, population)
        print(
            json.dumps(
                {
                    "clients": n,
                    "activities": int(sim.client.size),
                    "local_seconds_median": statistics.median(r["seconds"] for r in local),
                    "local_seconds": [round(r["seconds"], 2) for r in local],
                    "local_peak_mib": max(r["peak_mib"] for r in local),
                    "spark_master": args.master,
                    "spark_session_start_seconds": round(start_seconds, 1),
                    "spark_seconds_median": statistics.median(timings),
                    "spark_seconds": [round(t, 1) for t in timings],
                    "spark_steps": {k: round(v, 1) for k, v in got.seconds.items()},
                    "rows_of_counts_to_driver": got.counted_rows,
                    "rows_of_examples_to_driver": got.example_rows,
                    "distinct_patterns": int(
                        rhythm.fit_stats(
                            rhythms.ActivityArrays(
                                store.day_from_number(BASE + AS_OF_OFFSET),
                                ids,
                                sim.client,
                                sim.day + BASE,
                                sim.amount_cents,
                            ).summarise()
                        ).patterns.n_patterns
                    ),
                    "largest_relative_difference": diff,
                    "model": population.model_name,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
