"""A million-client practice in a PostgreSQL schema, quickly, for measuring the pages at that
size (bench_web.py --url) without the 21-minute import of 20.8M activities.

    .venv/bin/python bench/fill_pg_practice.py --schema kwbench_pages            # fill
    .venv/bin/python bench/bench_web.py --runs 1 --requests 100 \\
        --url 'postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dkwbench_pages'
    .venv/bin/python bench/fill_pg_practice.py --schema kwbench_pages --drop     # clean up

The practice is bench_daily's, the same files bench_pg_million.py imports (simulated BG/NBD,
three years ending 2026-01-05, about 20 activities per client; written to bench/out/ when
missing). The schema is made by keepwarm's migrations; the two files are copied in with
PostgreSQL's COPY and one INSERT ... SELECT each, not through `keepwarm import` (whose cost
bench_pg_million.py measures); the clients' search text is filled by keepwarm's own
`refresh_search_text`, and every table is analysed, as an import does. The daily job then
learns the rhythms and plans the day when bench_web.py starts.
"""

from __future__ import annotations

import argparse
import time

from bench_daily import make_files
from keepwarm.store import connect, migrate
from keepwarm.store.client_search import refresh_search_text

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def copy_in(conn: object, table: str, columns: str, path: str) -> None:
    dbapi = conn.connection.dbapi_connection  # type: ignore[attr-defined]
    sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv, HEADER true)"
    with dbapi.cursor() as cursor, open(path, "rb") as source, cursor.copy(sql) as copy:
        while block := source.read(1 << 20):
            copy.write(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="a PostgreSQL database to write to")
    parser.add_argument("--schema", required=True)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--drop", action="store_true", help="drop the schema and stop")
    args = parser.parse_args()
    admin = connect(args.url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {args.schema} CASCADE")
        if not args.drop:
            conn.exec_driver_sql(f"CREATE SCHEMA {args.schema}")
    if args.drop:
        return
    started = time.perf_counter()
    clients_csv, acts_csv = make_files(args.clients)
    print(f"files ready in {time.perf_counter() - started:.0f} s", flush=True)
    engine = connect(f"{args.url}?options=-csearch_path%3D{args.schema}")
    migrate(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE kw_c (ref text, name text, email text, phone text) "
            "ON COMMIT DROP"
        )
        copy_in(conn, "kw_c", "ref, name, email, phone", str(clients_csv))
        conn.exec_driver_sql(
            "INSERT INTO clients (external_id, name, email, phone, status, created_at, "
            "updated_at) SELECT ref, name, email, phone, 'active', now(), now() FROM kw_c"
        )
        refresh_search_text(conn)
    print(f"clients in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE kw_a (ref text, date date, amount numeric, kind text) "
            "ON COMMIT DROP"
        )
        copy_in(conn, "kw_a", "ref, date, amount, kind", str(acts_csv))
        conn.exec_driver_sql(
            "INSERT INTO activities (client_id, key, date, amount_cents, kind) "
            "SELECT c.id, 'bench:' || row_number() OVER (), a.date, "
            "round(a.amount * 100)::bigint, a.kind "
            "FROM kw_a a JOIN clients c ON c.external_id = a.ref"
        )
    print(f"activities in {time.perf_counter() - started:.0f} s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        found = conn.exec_driver_sql(
            "SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM activities)"
        ).one()
    print(f"{found[0]:,} clients, {found[1]:,} activities in schema {args.schema}")
    engine.dispose()
    admin.dispose()


if __name__ == "__main__":
    main()
