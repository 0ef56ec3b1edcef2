"""Benchmark: the client search (accent- and order-insensitive, part of an id) at 100,000
clients, on SQLite and on PostgreSQL.

    .venv/bin/python bench/bench_search.py                      # SQLite, a scratch file
    .venv/bin/python bench/bench_search.py --url postgresql://postgres@127.0.0.1:5432/test

Writes 100,000 clients (accented names, ids C-00000...) to a CSV, imports it through
keepwarm's own import (which fills each client's folded search text) into a scratch database
(SQLite file, or PostgreSQL schema `kwbench_search2`, dropped at the end), then times each
search through `keepwarm.services.clients.search_clients` (the count and the first page):
median of `--runs` (5). The phone search is timed again as it was before a phone was looked
up in the index by its last digits (keepwarm.store.client_search.PHONE_TAIL): the baseline,
in the same run.
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
from keepwarm.services.clients import search_clients
from keepwarm.services.importing import import_file
from keepwarm.store import client_search, connect, migrate

SCHEMA = "kwbench_search2"
FIRST = ("Adélaïde", "Zoë", "Kimberly", "José", "Anna", "Björn", "Chloé", "Mark", "Léa", "Sam")
LAST = ("Rocher", "Morris", "Åström", "Núñez", "Smith", "Dupré", "Lee", "Ōta", "Berg", "Kowalski")
SEARCHES = (
    "Adelaide Rocher 471",  # accents ignored, every word (a name and part of an id)
    "rocher adelaide",  # any order: 1,000 matches
    "morris kimberly c-0471",
    "10432",  # part of an id
    "c4711@",  # part of an email
    "(503) 555-4711",  # a phone, written any way
)


def write_clients(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,name,email,phone\n")
        for i in range(n):
            name = f"{FIRST[i % 10]} {LAST[(i // 10) % 10]}"
            fh.write(f"C-{i:05d},{name},c{i}@example.com,+1503555{i % 10_000:04d}\n")


def timed(engine, runs: int, searches=SEARCHES, label="") -> None:  # type: ignore[no-untyped-def]
    for text in searches:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            _, total = search_clients(engine, text)
            times.append(time.perf_counter() - started)
        ms = statistics.median(times) * 1000
        print(f"| {engine.dialect.name}{label} | `{text}` | {total:,} | {ms:.1f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL database you may write to (default: SQLite)")
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "clients.csv"
        write_clients(csv, args.clients)
        admin = None
        if args.url:
            admin = connect(args.url)
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
                conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
            url = f"{args.url}?options=-csearch_path%3D{SCHEMA}"
            engine = connect(url)
        else:
            url = f"sqlite:///{tmp}/bench.db"
            engine = connect(url, create=True)
        try:
            migrate(engine)
            now = dt.datetime.now(dt.UTC)
            started = time.perf_counter()
            report = import_file(
                engine,
                Settings(database_url=url),
                ImportKind.CLIENTS,
                csv,
                today=now.date(),
                now=now,
            )
            assert report.ok, report.problems[:3]
            print(f"import of {args.clients:,} clients: {time.perf_counter() - started:.1f} s")
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE clients" if admin else "ANALYZE")
            print("| database | search | matches | median |")
            print("| --- | --- | --- | --- |")
            timed(engine, args.runs)
            # the phone's every digit asked of the index, as before its last digits were
            tail, client_search.PHONE_TAIL = client_search.PHONE_TAIL, 1_000
            timed(engine, args.runs, SEARCHES[-1:], ", every digit asked of the index (before)")
            client_search.PHONE_TAIL = tail
        finally:
            engine.dispose()
            if admin is not None:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f"DROP SCHEMA {SCHEMA} CASCADE")
                admin.dispose()


if __name__ == "__main__":
    main()
