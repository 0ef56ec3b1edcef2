"""Benchmark: client search on PostgreSQL at 100,000 clients, with the trigram indexes of
migrations 0009 and 0014 (the phone; the folded search text) and, as the baseline in the
same run, without them (a plain scan).

    .venv/bin/python bench/bench_search_pg.py --url postgresql://postgres@127.0.0.1:5432/test

Imports the daily benchmark's clients (bench/out, made by bench_daily.py; `--clients 1000000`
for its million-client practice) into a scratch schema `kwbench_search`, which is dropped at
the end. A phone is looked up in the index by its last digits (keepwarm.store.client_search.
PHONE_TAIL); the row "every digit asked of the index" is the same search as it was before.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.clients import search_clients
from keepwarm.services.importing import import_file
from keepwarm.store import client_search, connect, migrate

SCHEMA = "kwbench_search"
SEARCHES = ("Client 4711", "c4711@", "5035554711", "lient 99")
PHONE = "5035554711"


def timed(engine, label: str, runs: int, searches=SEARCHES) -> None:  # type: ignore[no-untyped-def]
    for text in searches:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            _, total = search_clients(engine, text)
            times.append(time.perf_counter() - started)
        ms = statistics.median(times) * 1000
        print(f"| {label} | `{text}` | {total:,} | {ms:.1f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a PostgreSQL database you may write to")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--clients", type=int, default=100_000)
    args = parser.parse_args()
    from bench_daily import make_files

    clients, _ = make_files(args.clients)
    admin = connect(args.url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
    url = f"{args.url}?options=-csearch_path%3D{SCHEMA}"
    engine = connect(url)
    try:
        migrate(engine)
        now = dt.datetime.now(dt.UTC)
        settings = Settings(database_url=url)
        report = import_file(
            engine, settings, ImportKind.CLIENTS, Path(clients), today=now.date(), now=now
        )
        assert report.ok, report.problems[:3]
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE clients")
        print("| indexes | search | matches | median |")
        print("| --- | --- | --- | --- |")
        timed(engine, "trigram (migration 0009)", args.runs)
        # the phone's whole run asked of the index, as before its last digits were
        tail, client_search.PHONE_TAIL = client_search.PHONE_TAIL, 1_000
        timed(engine, "trigram, every digit asked of the index (before)", args.runs, (PHONE,))
        client_search.PHONE_TAIL = tail
        with engine.begin() as conn:
            for column in ("search_text", "phone"):  # migrations 0014 and 0009
                conn.exec_driver_sql(f"DROP INDEX ix_clients_{column}_trgm")
        timed(engine, "none: plain scan (baseline)", args.runs)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {SCHEMA} CASCADE")
        admin.dispose()


if __name__ == "__main__":
    main()
