"""Benchmark: evaluating an audience at 100,000 clients (SQLite).

    .venv/bin/python bench/bench_audience.py

Imports 100,000 clients (owner, tag, email; one visit each, spread over three years) through
keepwarm's own import into a scratch SQLite file, marks 1,000 of them unsubscribed, then times
`keepwarm.services.audiences.preview` (the SQL filters, then consent read per batch of 500
clients) for a few filters on the email channel: median of `--runs` (3).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from keepwarm.config import Settings
from keepwarm.domain.audience import Filters
from keepwarm.domain.model import ImportKind
from keepwarm.services.audiences import preview
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.store import connect, migrate
from keepwarm.store.tables import consent_events

TODAY = dt.date(2026, 11, 24)
NOW = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
CASES = (
    ("everyone", Filters()),
    ("active, tagged vip", Filters(statuses=("active",), tags=("vip",))),
    ("not seen since 1 Jan 2026", Filters(not_seen_since=dt.date(2026, 1, 1))),
    (
        "owner Dana, last visit before 1 Jun 2025",
        Filters(owners=("Dana",), last_visit_before=dt.date(2025, 6, 1)),
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n = args.clients
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = connect(url, create=True)
        migrate(engine)
        settings = Settings(database_url=url)
        for name in ("Dana", "Sam", "Ann"):
            add_staff(engine, name, email=None, now=NOW)
        people, visits = Path(tmp) / "clients.csv", Path(tmp) / "activities.csv"
        with people.open("w") as fh:
            fh.write("id,name,owner,email,tags\n")
            for i in range(n):
                tag = "vip" if i % 5 == 0 else "regular"
                owner = ("Dana", "Sam", "Ann")[i % 3]
                fh.write(f"C{i:06d},Client {i},{owner},c{i}@example.com,{tag}\n")
        with visits.open("w") as fh:
            fh.write("client_id,date,amount,kind\n")
            for i in range(n):
                day = TODAY - dt.timedelta(days=(i * 7) % 1095)
                fh.write(f"C{i:06d},{day.isoformat()},50.00,visit\n")
        started = time.perf_counter()
        for kind, path in ((ImportKind.CLIENTS, people), (ImportKind.ACTIVITIES, visits)):
            assert import_file(engine, settings, kind, path, today=TODAY, now=NOW).ok
        print(f"setup (imports): {time.perf_counter() - started:.0f} s")
        with engine.begin() as conn:
            conn.execute(
                sa.insert(consent_events),
                [
                    {
                        "client_id": cid,
                        "channel": "email",
                        "allowed": False,
                        "source": "unsubscribe",
                        "actor": "bench",
                        "at": NOW,
                    }
                    for cid in range(1, n + 1, max(1, n // 1000))
                ],
            )
        print("| Filter | Audience | Excluded | Median |")
        print("|---|---:|---:|---:|")
        for label, filters in CASES:
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                found = preview(engine, filters, today=TODAY, channel="email")
                times.append(time.perf_counter() - t0)
            ms = statistics.median(times) * 1000
            print(f"| {label} | {found.count:,} | {found.excluded_count:,} | {ms:,.0f} ms |")


if __name__ == "__main__":
    main()
