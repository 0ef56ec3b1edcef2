"""Benchmark: what the change log costs an import. The daily job follows what changed because
the database's own triggers write a row to `activity_changes` for every activity inserted,
updated or deleted (migration 0030: per row on SQLite, per statement on PostgreSQL). Here the
same activities file is imported into fresh databases with those triggers and, as the
baseline in the same run, with them dropped; runs alternate.

    .venv/bin/python bench/bench_change_log.py --rows 1000000 --runs 3 [--pg URL]

The file is bench_import's (1,000,000 rows for 100,000 clients, imported after its clients).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from bench_import import make_files
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.importing import import_file
from keepwarm.store import connect, migrate
from keepwarm.store.activity_snapshot import TRIGGERS

TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


def one(url: str, clients: Path, acts: Path, triggers: bool) -> float:
    engine = connect(url, create=True)
    migrate(engine)
    if not triggers:
        with engine.begin() as conn:
            on = "" if engine.dialect.name == "sqlite" else " ON activities"
            for name in TRIGGERS:
                conn.exec_driver_sql(f"DROP TRIGGER {name}{on}")
    settings = Settings(database_url=url)
    assert import_file(engine, settings, ImportKind.CLIENTS, clients, today=TODAY, now=NOW).ok
    started = time.perf_counter()
    report = import_file(engine, settings, ImportKind.ACTIVITIES, acts, today=TODAY, now=NOW)
    seconds = time.perf_counter() - started
    assert report.ok, report.problems[:3]
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", help="a PostgreSQL database to measure too (a schema each run)")
    args = parser.parse_args()
    clients, acts = make_files(args.rows, args.clients)
    results: dict[tuple[str, bool], list[float]] = {}
    for _ in range(args.runs):
        for triggers in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{tmp}/bench.db"
                results.setdefault(("SQLite", triggers), []).append(
                    one(url, clients, acts, triggers)
                )
            if args.pg:
                schema = f"kwlog_{uuid.uuid4().hex[:10]}"
                admin = sa.create_engine(args.pg)
                with admin.begin() as conn:
                    conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
                url = str(
                    sa.make_url(args.pg).update_query_dict({"options": f"-csearch_path={schema}"})
                )
                try:
                    results.setdefault(("PostgreSQL", triggers), []).append(
                        one(url, clients, acts, triggers)
                    )
                finally:
                    with admin.begin() as conn:
                        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
                    admin.dispose()
    print(f"{args.rows:,} activities for {args.clients:,} clients; {args.runs} runs, medians\n")
    print("| database | import with the change log | baseline: without it | cost |")
    print("| --- | --- | --- | --- |")
    for db in ("SQLite", "PostgreSQL"):
        if (db, True) not in results:
            continue
        on, off = statistics.median(results[db, True]), statistics.median(results[db, False])
        print(f"| {db} | {on:.1f} s | {off:.1f} s | {on / off - 1:+.0%} |")


if __name__ == "__main__":
    main()
