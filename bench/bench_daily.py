"""Benchmark: `keepwarm run-daily` (rhythms + signals + plan + drafts, one transaction) at
100,000 clients and about 2,000,000 activities on SQLite, and `keepwarm today` for one member
of staff, against a baseline measured in the same run (learning the rhythms alone).

    .venv/bin/python bench/bench_daily.py --runs 3

A BG/NBD practice (three years, first visits over the first year) is simulated, written as
CSV and imported through the real import path; five staff share the clients. Each run plans a
new day, so each is a full daily job.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.rhythms import compute_rhythms
from keepwarm.services.staff import add_staff
from keepwarm.services.todays_list import todays_list
from keepwarm.store import connect, migrate
from simulated_practice import bgnbd, write_practice

AS_OF = dt.date(2026, 1, 5)
OUT = Path(__file__).resolve().parent / "out"
TRUTH = bgnbd(1.0, 1.1, 0.6, 2.5)  # about 20 activities per client: 2.07M at 100k


def make_files(n_clients: int = 100_000, seed: int = 4) -> tuple[Path, Path]:
    return write_practice(
        OUT / f"daily2m-clients-{n_clients}.csv",
        OUT / f"daily2m-acts-{n_clients}.csv",
        TRUTH,
        n_clients=n_clients,
        seed=seed,
        end=AS_OF,
        prefix="D",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    clients, acts = make_files()
    rows = sum(1 for _ in acts.open()) - 1
    now = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = connect(url, create=True)
        migrate(engine)
        settings = Settings(database_url=url)
        for name in ("Ana", "Ben", "Cho", "Dev", "Eli"):
            add_staff(engine, name, email=None, weekly_quota=10, now=now)
        for kind, path in ((ImportKind.CLIENTS, clients), (ImportKind.ACTIVITIES, acts)):
            report = import_file(engine, settings, kind, path, today=AS_OF, now=now)
            assert report.ok, report.problems[:3]
        daily, listing, learn = [], [], []
        for run in range(args.runs):
            day = AS_OF + dt.timedelta(days=run)
            started = time.perf_counter()
            result = run_daily(engine, settings, day=day, now=now)
            daily.append(time.perf_counter() - started)
            assert not result.already_planned
            started = time.perf_counter()
            todays_list(engine, "Ana")
            listing.append(time.perf_counter() - started)
            started = time.perf_counter()
            compute_rhythms(engine, settings, as_of=day, now=now)
            learn.append(time.perf_counter() - started)
        engine.dispose()
    print(f"100,000 clients, {rows:,} activities, SQLite; {args.runs} runs, medians\n")
    print("| step | time |")
    print("| --- | --- |")
    print(f"| `run-daily` (rhythms + signals + plan + drafts) | {statistics.median(daily):.2f} s |")
    print(f"| `today` for one member of staff | {statistics.median(listing) * 1000:.0f} ms |")
    print(f"| baseline: learning the rhythms alone | {statistics.median(learn):.2f} s |")


if __name__ == "__main__":
    main()
