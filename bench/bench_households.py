"""Benchmark: household suggestions at 100,000 clients (SQLite).

    .venv/bin/python bench/bench_households.py

Imports 100,000 clients through keepwarm's own import into a scratch SQLite file: most live
alone, 6,000 families of two to four share an address and a last name (written differently:
case, punctuation), 2,000 pairs share a UK landline, and everyone else has a mobile or no
phone. Then times `keepwarm.services.households.suggestions` (one read of every client with
an address or phone, one pass grouping by normalised address and last name and by landline:
no pair of clients is compared): median of `--runs` (3), and checks every planted household
is suggested and nothing else is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.households import suggestions
from keepwarm.services.importing import import_file
from keepwarm.store import connect, migrate

TODAY = dt.date(2026, 11, 24)
NOW = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
FAMILIES = 6_000
LANDLINES = 2_000


def _write(path: Path, n: int, rng: random.Random) -> int:
    """The clients file; returns how many households were planted."""
    planted = 0
    i = 0
    with path.open("w") as fh:
        fh.write("id,name,last_name,address,phone\n")

        def row(name: str, last: str, address: str, phone: str) -> None:
            nonlocal i
            fh.write(f'C{i},{name} {last},{last},"{address}",{phone}\n')
            i += 1

        for f in range(FAMILIES):
            planted += 1
            for k in range(rng.randint(2, 4)):
                street = (
                    f"{f} Family Road, Springfield" if k % 2 else f"{f} family road springfield"
                )
                row(f"Person{k}", f"Fam{f}", street, "")
        for p in range(LANDLINES):
            planted += 1
            phone = f"+44 20 7{p // 10_000:03d} {p % 10_000:04d}"
            for k in range(2):
                row(f"Line{k}", f"Tel{p}x{k}", f"{p} Line Street {k}, Leeds", phone)
        while i < n:
            phone = f"+44 7911 {i % 1_000_000:06d}" if rng.random() < 0.5 else ""
            row("Solo", f"Alone{i}", f"{i} Solo Lane, Portland", phone)
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = connect(url, create=True)
        migrate(engine)
        settings = Settings(database_url=url)
        path = Path(tmp) / "clients.csv"
        planted = _write(path, args.clients, random.Random(15))
        report = import_file(engine, settings, ImportKind.CLIENTS, path, today=TODAY, now=NOW)
        assert report.ok, report.problems
        times, found = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            found = suggestions(engine)
            times.append(time.perf_counter() - start)
        assert len(found) == planted, (len(found), planted)
        print(
            f"{args.clients:,} clients, {planted:,} planted households: {len(found):,} suggested; "
            f"median {statistics.median(times) * 1000:,.0f} ms "
            f"(runs: {', '.join(f'{t * 1000:,.0f}' for t in times)} ms)"
        )


if __name__ == "__main__":
    main()
