"""Time erasing one client from a 100,000-client SQLite database (and PostgreSQL with --pg).

Builds the practice once through the real import path (100,000 clients with email, phone,
address and notes; 3 visits each), then erases --runs different clients one after another with
keepwarm.services.erasure.erase_client, which includes the after-commit work (SQLite: the
search index optimised and the WAL truncated; PostgreSQL: VACUUM of the touched tables).
Prints the median and the range. Also times importing a file of 100,000 clients again once a
client has been erased (every row's identifiers are hashed and matched).

    .venv/bin/python bench/bench_erasure.py --clients 100000 --runs 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.erasure import erase_client
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.store import connect, migrate

NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def _files(folder: Path, n: int) -> tuple[Path, Path]:
    clients = folder / "clients.csv"
    with clients.open("w") as out:
        out.write("id,name,owner,email,phone,address,birthday,notes\n")
        for i in range(n):
            out.write(
                f"C{i},Client Number{i},Dana,c{i}@example.com,+1503{i:07d},"
                f'"{i} Main Street, Portland",1970-01-{1 + i % 28:02d},note about client {i}\n'
            )
    visits = folder / "activities.csv"
    with visits.open("w") as out:
        out.write("client_id,date,amount,kind\n")
        for i in range(n):
            for month in (1, 4, 7):
                out.write(f"C{i},2025-{month:02d}-{1 + i % 28:02d},50.00,visit\n")
    return clients, visits


def run(url: str, n: int, runs: int, folder: Path) -> None:
    engine = connect(url, create=True)
    migrate(engine)
    settings = Settings(database_url=url)
    add_staff(engine, "Dana", email=None, weekly_quota=50, now=NOW)
    clients, visits = _files(folder, n)
    started = time.perf_counter()
    for kind, path in ((ImportKind.CLIENTS, clients), (ImportKind.ACTIVITIES, visits)):
        assert import_file(engine, settings, kind, path, today=TODAY, now=NOW).ok
    print(f"{url.split(':')[0]}: built {n:,} clients in {time.perf_counter() - started:.1f} s")
    times = []
    for r in range(runs):
        started = time.perf_counter()
        done = erase_client(engine, f"C{r * 997}", actor="bench", now=NOW)
        times.append(time.perf_counter() - started)
        print(f"  erase C{r * 997}: {times[-1]:.2f} s ({done.cleanup})")
    print(
        f"  erase one client: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, {runs} runs)"
    )
    started = time.perf_counter()
    report = import_file(engine, settings, ImportKind.CLIENTS, clients, today=TODAY, now=NOW)
    print(
        f"  re-import {n:,} clients with {runs} erased: {time.perf_counter() - started:.1f} s "
        f"({len(report.notes)} notes)"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pg", help="a PostgreSQL URL to run against too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/bench.db", args.clients, args.runs, Path(folder))
    if args.pg:
        with tempfile.TemporaryDirectory() as folder:
            run(args.pg, args.clients, args.runs, Path(folder))


if __name__ == "__main__":
    main()
