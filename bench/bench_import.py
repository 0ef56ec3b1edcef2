"""Benchmark: importing a large activities file (streamed, all-or-nothing) into SQLite and
PostgreSQL, against a baseline measured in the same run (just reading the CSV with the
standard library's csv module).

    .venv/bin/python bench/bench_import.py --rows 1000000 --runs 3 [--pg URL]

Each import runs in a fresh subprocess on a fresh database, so peak memory (max RSS) is the
import's own. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
KINDS = ("check-up", "cleaning", "treatment", "consultation", "x-ray")


def make_files(rows: int, clients: int, seed: int = 1) -> tuple[Path, Path]:
    """A clients file and an activities file with realistic variety (some refunds, free
    check-ups, decimal amounts, several visits on one day); reused if already there."""
    OUT.mkdir(exist_ok=True)
    clients_path = OUT / f"clients-{clients}.csv"
    acts_path = OUT / f"activities-{rows}-{clients}.csv"
    if not clients_path.exists():
        with clients_path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "name", "email"])
            for c in range(clients):
                writer.writerow([f"C{c:07d}", f"Client {c}", f"client{c}@example.com"])
    if not acts_path.exists():
        rng = random.Random(seed)
        start = dt.date(2016, 1, 1).toordinal()
        span = dt.date(2025, 12, 31).toordinal() - start
        with acts_path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["client_id", "date", "amount", "quantity", "kind", "note"])
            for _ in range(rows):
                cents = rng.choice((0, rng.randrange(1_000, 60_000), -rng.randrange(500, 5_000)))
                writer.writerow(
                    [
                        f"C{rng.randrange(clients):07d}",
                        dt.date.fromordinal(start + rng.randrange(span)).isoformat(),
                        f"{cents / 100:.2f}",
                        rng.randrange(1, 4),
                        rng.choice(KINDS),
                        "",
                    ]
                )
    return clients_path, acts_path


def read_only(path: Path) -> float:
    """The floor: one pass of the standard csv reader over the file, doing nothing else."""
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as fh:
        for _ in csv.reader(fh):
            pass
    return time.perf_counter() - started


_CHILD = """
import datetime as dt, json, resource, sys, time
from pathlib import Path
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.importing import import_file
from keepwarm.store import connect, migrate
url, clients, acts = sys.argv[1:4]
engine = connect(url, create=True)
migrate(engine)
settings = Settings(database_url=url)
today, now = dt.date(2026, 1, 1), dt.datetime.now(dt.UTC)
import_file(engine, settings, ImportKind.CLIENTS, Path(clients), today=today, now=now)
times = []
for _ in range(2):  # first import, then the idempotent re-import
    t = time.perf_counter()
    report = import_file(engine, settings, ImportKind.ACTIVITIES, Path(acts), today=today, now=now)
    times.append(time.perf_counter() - t)
    assert report.ok, report.problems[:3]
print(json.dumps({"first": times[0], "again": times[1], "added": report.unchanged,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_import(url: str, clients: Path, acts: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, url, str(clients), str(acts)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _pg_url(base: str) -> tuple[str, str]:
    schema = "kwbench_" + uuid.uuid4().hex[:10]
    subprocess.run(
        ["psql", base.replace("+psycopg", ""), "-qc", f"CREATE SCHEMA {schema}"], check=True
    )
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", help="PostgreSQL URL to benchmark too (a schema is created)")
    args = parser.parse_args()
    clients, acts = make_files(args.rows, args.clients)
    size_mb = acts.stat().st_size / 1e6
    results: dict[str, list[dict]] = {"sqlite": [], "postgresql": []}
    floors = []
    for _ in range(args.runs):
        floors.append(read_only(acts))
        with tempfile.TemporaryDirectory() as tmp:
            results["sqlite"].append(run_import(f"sqlite:///{tmp}/bench.db", clients, acts))
        if args.pg:
            url, schema = _pg_url(args.pg)
            try:
                results["postgresql"].append(run_import(url, clients, acts))
            finally:
                subprocess.run(
                    [
                        "psql",
                        args.pg.replace("+psycopg", ""),
                        "-qc",
                        f"DROP SCHEMA {schema} CASCADE",
                    ],
                    check=True,
                )
    floor = statistics.median(floors)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"Machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}")
    print(
        f"File: {args.rows:,} activities for {args.clients:,} clients, {size_mb:.0f} MB; "
        f"{args.runs} runs, medians\n"
    )
    print("| step | SQLite | PostgreSQL |")
    print("| --- | --- | --- |")
    print(f"| baseline: csv.reader pass only | {floor:.1f} s | |")
    rows = [("first import", "first"), ("re-import (0 changes)", "again")]
    for label, key in rows:
        cells = []
        for backend in ("sqlite", "postgresql"):
            runs = results[backend]
            if not runs:
                cells.append("not run")
                continue
            med = statistics.median(r[key] for r in runs)
            cells.append(f"{med:.1f} s ({med / floor:.0f}x baseline)")
        print(f"| {label} | {cells[0]} | {cells[1]} |")
    mem = [
        f"{statistics.median(r['maxrss_mb'] for r in results[b]):.0f} MB" if results[b] else ""
        for b in ("sqlite", "postgresql")
    ]
    print(f"| peak memory (max RSS) | {mem[0]} | {mem[1]} |")


if __name__ == "__main__":
    main()
