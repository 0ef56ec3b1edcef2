"""Benchmark: `keepwarm run-daily` (rhythms + signals + plan + drafts) at 100,000 clients and
about 2,000,000 activities on SQLite, as it runs each morning (following what changed: the
packed activities brought up to date from the change log, the population model of the week),
against the full computation measured in the same run (`run-daily --rebuild --refit`: every
activity read afresh and the model fitted again); a day's 2,000 new activities imported and the
next morning planned; and `keepwarm today` for one member of staff.

    .venv/bin/python bench/bench_daily.py --runs 3

A BG/NBD practice (three years, first visits over the first year) is simulated, written as
CSV and imported through the real import path; five staff share the clients. Each run plans
new days: a full computation, a morning with nothing new, then an evening's import of 2,000
activities and the next morning.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.services.todays_list import todays_list
from keepwarm.store import connect, migrate
from simulated_practice import bgnbd, write_practice

AS_OF = dt.date(2026, 1, 5)
OUT = Path(__file__).resolve().parent / "out"
TRUTH = bgnbd(1.0, 1.1, 0.6, 2.5)  # about 20 activities per client: 2.07M at 100k
EVENING = 2_000  # a day's new activities


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


def evening_file(folder: Path, day: dt.date, n_clients: int, rng: random.Random) -> Path:
    """A day's new activities: `EVENING` visits of random clients on `day`."""
    path = folder / f"evening-{day}.csv"
    rows = [
        f"E{day:%Y%m%d}-{i},D{rng.randrange(n_clients)},{day},{rng.randint(20, 200)}.00,visit"
        for i in range(EVENING)
    ]
    path.write_text("id,client_id,date,amount,kind\n" + "\n".join(rows) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=100_000)
    args = parser.parse_args()
    clients, acts = make_files(args.clients)
    rows = sum(1 for _ in acts.open()) - 1
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(16)
    timings: dict[str, list[float]] = {
        "full": [],
        "quiet": [],
        "import": [],
        "after": [],
        "today": [],
    }
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
        day = AS_OF
        started = time.perf_counter()
        run_daily(engine, settings, day=day, now=now)  # the first morning: no copy, no fit yet
        first = time.perf_counter() - started

        def timed(name: str, **options: bool | None) -> None:
            nonlocal day
            day += dt.timedelta(days=1)
            started = time.perf_counter()
            result = run_daily(engine, settings, day=day, now=now, **options)
            timings[name].append(time.perf_counter() - started)
            assert not result.already_planned

        for _ in range(args.runs):
            timed("full", rebuild=True, refit=True)
            timed("quiet")
            started = time.perf_counter()
            todays_list(engine, "Ana")
            timings["today"].append(time.perf_counter() - started)
            new = evening_file(Path(tmp), day, args.clients, rng)
            started = time.perf_counter()
            report = import_file(engine, settings, ImportKind.ACTIVITIES, new, today=day, now=now)
            timings["import"].append(time.perf_counter() - started)
            assert report.ok and report.added == EVENING, report
            timed("after")
        engine.dispose()

    def median(name: str) -> float:
        return statistics.median(timings[name])

    full = median("full")
    print(f"{args.clients:,} clients, {rows:,} activities, SQLite; {args.runs} runs, medians\n")
    print("| step | time | of the full computation |")
    print("| --- | --- | --- |")
    print(f"| baseline: full computation (`run-daily --rebuild --refit`) | {full:.2f} s | 100% |")
    for name, label in (
        ("quiet", "`run-daily`, a morning with nothing new"),
        ("after", f"`run-daily` the morning after {EVENING:,} new activities"),
        ("import", f"importing those {EVENING:,} activities (their clients' rhythms learned)"),
    ):
        print(f"| {label} | {median(name):.2f} s | {median(name) / full:.0%} |")
    print(f"| `today` for one member of staff | {median('today') * 1000:.0f} ms | |")
    print(f"\nThe first morning (no packed copy, no fit yet): {first:.2f} s")


if __name__ == "__main__":
    main()
