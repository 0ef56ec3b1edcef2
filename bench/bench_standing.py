"""Benchmark: a client's standing (value tier and RFM segment) at a million clients on
PostgreSQL, read from the stored cuts (keepwarm.domain.segments.StandingCuts), against the way
it was found before in the same run: one scan of every rhythm counting where the client ranks.

    .venv/bin/python bench/bench_standing.py                  # 1,000,000 clients
    .venv/bin/python bench/bench_standing.py --clients 20000  # a smoke check

A scratch schema is filled straight from SQL (generate_series; no import: this measures the
standing, not the import) with a million clients and a rhythm each: values in steps of 5 dollars
(many ties, as real prices give), 2% with no visit on record. Timed, median of `--runs`:
`client_standing` for random clients (what the client page calls), the old counting scan for
the same clients, `refresh_standing_cuts` (what a deletion, a merge or learning new clients now
adds), the cuts worked out from arrays in memory (what the daily job adds), and `standings` for
everyone (what an audience filtered by tier or segment reads) against ranking everyone. The
schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import Connection, case, func, select

from keepwarm.domain.segments import RfmInput, quintile_at, rfm, standing_cuts, tier_at, value_tiers
from keepwarm.services.segments import client_standing, standings
from keepwarm.store import connect, migrate, reading
from keepwarm.store.audiences import RhythmNumbers, rhythm_numbers
from keepwarm.store.rhythms import refresh_standing_cuts
from keepwarm.store.tables import rhythms

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def fill(conn: Connection, n: int) -> None:
    conn.exec_driver_sql(
        "INSERT INTO clients (id, external_id, name, status, created_at, updated_at) "
        f"SELECT g, 'C' || g, 'Client ' || g, 'active', now(), now() FROM generate_series(1, {n}) g"
    )
    conn.exec_driver_sql(
        "INSERT INTO rhythm_fits (id, as_of, computed_at, model, time_unit, fallback, reason, "
        "population, converged, clients) VALUES (1, DATE '2026-01-05', now(), 'bgnbd', 'week', "
        f"false, '', '{{}}', true, {n})"
    )
    conn.exec_driver_sql(
        "INSERT INTO rhythms (client_id, fit_id, as_of, activities, days_since_last, p_alive, "
        "expected_30, expected_90, expected_365, expected_spend_cents, monthly_value_cents, "
        "at_risk_cents, clv_cents, trend_direction) "
        "SELECT g, 1, DATE '2026-01-05', a, CASE WHEN a = 0 THEN NULL "
        "ELSE floor(random() * 900)::int END, random(), 0, 0, 0, 0, "
        "(floor(random() * 400) * 100)::bigint, 0, (floor(random() * 600) * 500)::bigint, 0 "
        "FROM (SELECT g, CASE WHEN random() < 0.02 THEN 0 ELSE 1 + floor(random() * 30)::int "
        f"END AS a FROM generate_series(1, {n}) g) s"
    )


def counted(conn: Connection, mine: RhythmNumbers) -> tuple[str, Any]:
    """The way the client page found a standing before the cuts were stored (stop 25): one
    scan of every rhythm counting the client's ranks."""
    r = rhythms.c
    scored = r.days_since_last.is_not(None) & (r.activities > 0)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    n, value, m, recency, frequency, monthly = conn.execute(
        select(
            func.count(),
            count(
                (r.clv_cents > mine.clv_cents)
                | ((r.clv_cents == mine.clv_cents) & (r.client_id < mine.client_id))
            ),
            count(scored),
            count(scored & (r.days_since_last > (mine.days_since_last or 0))),
            count(scored & (r.activities < mine.activities)),
            count(scored & (r.monthly_value_cents < mine.monthly_value_cents)),
        )
    ).one()
    if mine.days_since_last is None or mine.activities <= 0:
        return tier_at(value, n), None
    scores = (quintile_at(recency, m), quintile_at(frequency, m), quintile_at(monthly, m))
    return tier_at(value, n), scores


def timed(runs: int, call: Callable[[], Any]) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="a PostgreSQL database to write to")
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pages", type=int, default=20, help="clients whose standing is read")
    args = parser.parse_args()
    schema = f"kwbench_{uuid.uuid4().hex[:10]}"
    admin = connect(args.url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine = connect(f"{args.url}?options=-csearch_path%3D{schema}")
    try:
        migrate(engine)
        started = time.perf_counter()
        with engine.begin() as conn:
            fill(conn, args.clients)
            refresh_standing_cuts(conn)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        print(
            f"filled {args.clients:,} clients and rhythms in {time.perf_counter() - started:.1f} s"
        )
        print(f"{platform.processor() or platform.machine()}, {platform.python_version()}")
        rng = random.Random(16)
        refs = [f"C{rng.randint(1, args.clients)}" for _ in range(args.pages)]
        with reading(engine) as conn:
            numbers = {n.client_id: n for n in rhythm_numbers(conn)}
        print(f"| step (median of {args.runs}) | before: counted | now: the stored cuts |")
        print("| --- | --- | --- |")
        old_page, new_page = [], []
        for ref in refs:
            mine = numbers[int(ref[1:])]
            with reading(engine) as conn:
                before, was = timed(args.runs, lambda: counted(conn, mine))  # noqa: B023
            after, now = timed(args.runs, lambda: client_standing(engine, ref))  # noqa: B023
            now_scores = (
                None if now.rfm is None else (now.rfm.recency, now.rfm.frequency, now.rfm.value)
            )
            assert (now.tier, now_scores) == was, ref
            old_page.append(before)
            new_page.append(after)
        print(
            f"| one client's standing ({args.pages} clients) "
            f"| {statistics.median(old_page) * 1e3:.1f} ms "
            f"| {statistics.median(new_page) * 1e3:.2f} ms |"
        )

        def refresh() -> None:
            with engine.connect() as conn, conn.begin() as tx:
                refresh_standing_cuts(conn)
                tx.rollback()

        took, _ = timed(args.runs, refresh)
        print(
            "| cuts worked out from the stored rhythms (a deletion, a merge, new clients) "
            f"| | {took:.2f} s |"
        )
        ids = np.array(sorted(numbers), dtype=np.int64)
        cols = [numbers[i] for i in ids.tolist()]
        arrays = (
            ids,
            np.array([c.clv_cents for c in cols], dtype=np.int64),
            np.array([np.nan if c.days_since_last is None else c.days_since_last for c in cols]),
            np.array([c.activities for c in cols], dtype=np.int64),
            np.array([c.monthly_value_cents for c in cols], dtype=np.int64),
        )
        took, _ = timed(args.runs, lambda: standing_cuts(*arrays))
        print(f"| cuts worked out from arrays in memory (the daily job) | | {took:.2f} s |")

        def ranked() -> int:
            with reading(engine) as conn:
                found = rhythm_numbers(conn)
            tiers = value_tiers({n.client_id: n.clv_cents for n in found})
            scored = rfm(
                [
                    RfmInput(n.client_id, n.days_since_last, n.activities, n.monthly_value_cents)
                    for n in found
                    if n.days_since_last is not None and n.activities > 0
                ]
            )
            return len(tiers) + len(scored)

        def by_cuts() -> int:
            with reading(engine) as conn:
                return len(standings(conn).by_client)

        before, _ = timed(max(1, args.runs // 2), ranked)
        after, _ = timed(max(1, args.runs // 2), by_cuts)
        print(
            "| everyone's standing (an audience by tier or segment) "
            f"| {before:.2f} s | {after:.2f} s |"
        )
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


if __name__ == "__main__":
    main()
