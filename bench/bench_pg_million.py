"""Benchmark: a million clients on PostgreSQL (issue 16) — bench_daily's simulated practice
imported through the real import path into a scratch schema, `keepwarm run-daily` as the
command runs it for consecutive new days, against a baseline measured in the same run (the full
computation: `run-daily --rebuild --refit`), and the web pages under load.

    .venv/bin/python bench/bench_pg_million.py --clients 20000            # a smoke check
    .venv/bin/python bench/bench_pg_million.py --schema kwbench_million --keep   # import, keep
    .venv/bin/python bench/bench_pg_million.py --schema kwbench_million --keep   # reuse it

The practice is bench_daily's: BG/NBD (r 1.0, alpha 1.1 weeks, a 0.6, b 2.5), three years of
history ending on 2026-01-05, about 20 activities per client (20.8M at 1,000,000 clients),
written as CSV to bench/out/ (reused when there). Each import runs in its own subprocess
(`import_file`, what `keepwarm import` runs; peak RSS is the import's own), with the import's
steps timed by wrapping the functions `keepwarm.services.importing` calls (nothing in src/ is
changed). `--schema NAME` keeps the practice in that schema: when it holds clients already the
import is skipped; `--keep` leaves the schema in place at the end (otherwise it is dropped).

run-daily runs as `.venv/bin/keepwarm run-daily --as-of DAY --db URL` (a child process: wall
time, and its peak RSS from wait4), for `--runs` consecutive days after the latest day planned
(from 2026-01-05), then `--rebuild --refit` on the next day; the daily job's own INFO lines
(each step's time) are collected from its log. `--profile-daily` adds one more new day under
cProfile (not timed). The web part is bench_web's load generator (10 users, no think time)
against the real app serving the schema (`bench_web.py --url`): it plans the server's today
when it can (a later day planned already: the open list as it stands).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from sqlalchemy import text

import keepwarm
from bench_daily import AS_OF, OUT, make_files
from keepwarm.config import Settings
from keepwarm.services.staff import add_staff, list_staff
from keepwarm.store import connect, migrate
from keepwarm.store.actions import latest_planned_day

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
KEEPWARM = ROOT / ".venv" / "bin" / "keepwarm"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
STAFF = ("Ana", "Ben", "Cho", "Dev", "Eli")
DAILY_TARGET_S, DAILY_TARGET_MIB = 60.0, 4096.0
STEP = re.compile(r"daily job \S+: (.+?) in ([\d.]+) s")
SNAPSHOT = re.compile(r"activities: (.+?) in ([\d.]+) s")


# --- the schema -----------------------------------------------------------------------------


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def count_clients(admin: Any, schema: str) -> int | None:
    """The clients in `schema`; None when it has no clients table (or no schema)."""
    with admin.connect() as conn:
        found = conn.execute(
            text("SELECT to_regclass(:name)"), {"name": f"{schema}.clients"}
        ).scalar_one()
        if found is None:
            return None
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {schema}.clients").scalar_one())


def sizes(admin: Any, schema: str) -> dict[str, Any]:
    """Rows and on-disk sizes (table + indexes) after the import, and autovacuum's analyses."""
    out: dict[str, Any] = {}
    with admin.connect() as conn:
        for table in ("clients", "activities", "activity_snapshot", "rhythms", "actions"):
            row = conn.execute(
                text(
                    "SELECT pg_total_relation_size(c.oid), pg_indexes_size(c.oid), "
                    "s.n_live_tup, s.last_autoanalyze, s.last_analyze "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
                    "WHERE n.nspname = :schema AND c.relname = :table"
                ),
                {"schema": schema, "table": table},
            ).first()
            if row is not None:
                out[table] = {
                    "total_mib": row[0] / 2**20,
                    "index_mib": row[1] / 2**20,
                    "live_rows": row[2],
                    "analysed": str(row[3] or row[4] or "never"),
                }
    return out


def pg_settings(admin: Any) -> str:
    names = ("shared_buffers", "work_mem", "maintenance_work_mem", "max_wal_size")
    with admin.connect() as conn:
        version = conn.exec_driver_sql("SHOW server_version").scalar_one()
        shown = [f"{n} {conn.exec_driver_sql(f'SHOW {n}').scalar_one()}" for n in names]
    return f"PostgreSQL {version} ({', '.join(shown)}: the server's settings, untouched)"


# --- the import: a child process per file, its steps timed ----------------------------------


def _instrument(events: list[tuple[str, float, float]]) -> None:
    """Wrap what `keepwarm.services.importing` calls so each call's span is recorded."""
    from keepwarm.services import importing, rhythms
    from keepwarm.store import contact_flags as flags
    from keepwarm.store import erasure as erasure_store
    from keepwarm.store import merging as m

    def wrap(owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                events.append((label, started, time.perf_counter()))

        setattr(owner, name, timed)

    @contextlib.contextmanager
    def writing(engine: Any) -> Any:
        with original_writing(engine) as conn:
            events.append(("transaction begun", time.perf_counter(), time.perf_counter()))
            yield conn
            ending = time.perf_counter()
        events.append(("commit", ending, time.perf_counter()))

    original_writing = importing.writing
    importing.writing = writing  # type: ignore[assignment]
    wrap(importing, "create_stage", "create the staging table")
    wrap(importing, "stage_rows", "stage rows (COPY FROM STDIN)")
    wrap(importing, "drop_exact_repeats", "drop exact repeats (self-join on the stage)")
    wrap(importing, "resolve_aliases", "resolve merged clients' aliases")
    wrap(erasure_store, "skip_erased", "skip erased clients")
    wrap(importing, "_check_against_store", "checks: repeated ids, unknown clients")
    wrap(flags, "staged_counts", "contact flags: staged counts")
    wrap(m, "merge_clients", "merge clients (UPDATE + INSERT ... SELECT, with the next)")
    wrap(m, "refresh_search_text", "of which: search text (Python fold, UPDATE per client)")
    wrap(flags, "replace_flags", "contact flags: replace")
    wrap(m, "number_repeated_rows", "number repeated rows (window over the stage)")
    wrap(m, "merge_activities", "merge activities (INSERT ... SELECT)")
    wrap(importing, "drop_stage", "drop the staging table")
    wrap(rhythms, "learn_new_clients", "learn new clients' rhythms")


def import_child(url: str, kind_name: str, path: str) -> None:
    """In a child process: import one file, print a JSON line of what it took."""
    import resource

    from keepwarm.domain.model import ImportKind
    from keepwarm.services.importing import import_file

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("keepwarm").setLevel(logging.INFO)
    events: list[tuple[str, float, float]] = []
    _instrument(events)
    engine = connect(url)
    settings = Settings(database_url=url)
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    report = import_file(engine, settings, ImportKind(kind_name), Path(path), today=AS_OF, now=now)
    seconds = time.perf_counter() - started
    engine.dispose()
    assert report.ok, report.problems[:3]
    steps: dict[str, float] = {}
    for label, begun, ended in events:
        steps[label] = steps.get(label, 0.0) + ended - begun
    begun = next(b for label, b, _ in events if label == "transaction begun")
    after_loop = min(
        b
        for label, b, _ in events
        if label.startswith(("drop exact repeats", "resolve merged", "skip erased"))
    )
    in_loop = ("create the staging table", "stage rows (COPY FROM STDIN)")
    steps["read + parse + validate rows in Python"] = (
        after_loop - begun - sum(steps.get(k, 0.0) for k in in_loop)
    )
    steps.pop("transaction begun")
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": report.rows,
                "added": report.added,
                "steps": steps,
                "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def child(argv: list[str], log: Path) -> tuple[float, float, int, str]:
    """Run `argv` with stderr to `log`: (wall seconds, peak RSS MiB, exit code, stdout)."""
    with log.open("w") as err, tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return wall, usage.ru_maxrss / 1024, process.returncode, out.read()


def run_import(url: str, kind: str, path: Path, logs: Path) -> dict[str, Any]:
    log = logs / f"import-{kind}.log"
    argv = [sys.executable, __file__, "--import-child", url, kind, str(path)]
    wall, rss, code, out = child(argv, log)
    if code != 0:
        raise SystemExit(f"the {kind} import failed (exit {code}); see {log}:\n{log.read_text()}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result |= {"wall": wall, "child_maxrss_mib": rss, "log": log.read_text().splitlines()}
    return result


# --- run-daily ------------------------------------------------------------------------------


def run_daily(url: str, day: dt.date, flags: list[str], logs: Path) -> dict[str, Any]:
    log = logs / f"daily-{day}{''.join(flags).replace('--', '-')}.log"
    argv = [
        str(KEEPWARM),
        "--verbose",
        "run-daily",
        "--as-of",
        day.isoformat(),
        "--db",
        url,
        *flags,
    ]
    wall, rss, code, out = child(argv, log)
    lines = log.read_text().splitlines()
    if code != 0:
        raise SystemExit(f"run-daily {day} failed (exit {code}); see {log}:\n" + "\n".join(lines))
    steps: dict[str, float] = {}
    for line in lines:
        if found := STEP.search(line):
            steps[found.group(1)] = float(found.group(2))
        elif found := SNAPSHOT.search(line):
            steps[f"activities {found.group(1)}"] = float(found.group(2))
    return {
        "day": day,
        "flags": " ".join(flags),
        "wall": wall,
        "maxrss_mib": rss,
        "steps": steps,
        "log": [ln for ln in lines if "daily job" in ln or "activities" in ln or "rhythm" in ln],
        "stdout": out.strip(),
    }


_PROFILE = """
import cProfile, sys
from keepwarm.cli import main
out, sys.argv = sys.argv[1], ["keepwarm", *sys.argv[2:]]
profiler = cProfile.Profile()
profiler.enable()
try:
    main()
except SystemExit:
    pass
finally:
    profiler.disable()
    profiler.dump_stats(out)
"""


def profile_daily(url: str, day: dt.date, logs: Path) -> str:
    import io
    import pstats

    stats_file = logs / f"daily-{day}.prof"
    argv = [
        str(ROOT / ".venv" / "bin" / "python"),
        "-c",
        _PROFILE,
        str(stats_file),
        "--verbose",
        "run-daily",
        "--as-of",
        day.isoformat(),
        "--db",
        url,
    ]
    wall, rss, code, _ = child(argv, logs / f"daily-{day}-profiled.log")
    if code != 0:
        return f"(the profiled run failed, exit {code})"
    shown = io.StringIO()
    stats = pstats.Stats(str(stats_file), stream=shown)
    stats.sort_stats("cumulative").print_stats(r"keepwarm", 45)
    stats.sort_stats("tottime").print_stats(25)
    return f"profiled run-daily {day}: {wall:.1f} s under cProfile, {rss:.0f} MiB\n" + (
        shown.getvalue()
    )


# --- main -----------------------------------------------------------------------------------


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB; load average {load}; "
        f"Python {platform.python_version()}"
    )


def fmt_steps(steps: dict[str, float]) -> str:
    return "; ".join(f"{k} {v:.1f} s" for k, v in steps.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="a PostgreSQL database to write to")
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--schema", help="keep the practice in this schema (reused if imported)")
    parser.add_argument("--keep", action="store_true", help="do not drop the schema at the end")
    parser.add_argument("--runs", type=int, default=3, help="run-daily: consecutive new days")
    parser.add_argument("--web-runs", type=int, default=3, help="web load runs (0: none)")
    parser.add_argument("--profile-daily", action="store_true", help="one more day, cProfiled")
    parser.add_argument("--import-child", nargs=3, help=argparse.SUPPRESS)
    from bench_web import add_load_options

    add_load_options(parser)
    args = parser.parse_args()
    if args.import_child:
        import_child(*args.import_child)
        return
    args.requests = args.requests or 500

    schema = args.schema or f"kwbench_{uuid.uuid4().hex[:10]}"
    url = schema_url(args.url, schema)
    logs = OUT / f"pg-million-logs-{schema}"
    logs.mkdir(parents=True, exist_ok=True)
    admin = connect(args.url)
    print(machine(), flush=True)
    print(pg_settings(admin), flush=True)
    print(f"keepwarm from {Path(keepwarm.__file__).parent} (PYTHONPATH to measure a fixed copy)")
    have = count_clients(admin, schema)
    imports: dict[str, dict[str, Any]] = {}
    try:
        if have:
            print(f"schema {schema}: {have:,} clients imported already; import skipped")
            engine = connect(url)
            migrate(engine)
        else:
            started = time.perf_counter()
            clients, acts = make_files(args.clients)
            print(f"practice files ready in {time.perf_counter() - started:.0f} s", flush=True)
            with admin.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            engine = connect(url)
            migrate(engine)
            for kind, path in (("clients", clients), ("activities", acts)):
                print(f"importing {path.name} ...", flush=True)
                imports[kind] = run_import(url, kind, path, logs)
                done = imports[kind]
                print(
                    f"  {done['rows']:,} rows in {done['seconds']:.1f} s "
                    f"({done['rows'] / done['seconds']:,.0f} rows/s), "
                    f"peak {done['maxrss_mib']:.0f} MiB: {fmt_steps(done['steps'])}",
                    flush=True,
                )
            (logs / "imports.json").write_text(json.dumps(imports, indent=1, default=str))
        now = dt.datetime.now(dt.UTC)
        names = {s.name for s in list_staff(engine)}
        for name in STAFF:
            if name not in names:
                add_staff(engine, name, email=None, weekly_quota=10, now=now)
        with engine.connect() as conn:
            n_clients = conn.exec_driver_sql("SELECT count(*) FROM clients").scalar_one()
            n_acts = conn.exec_driver_sql("SELECT count(*) FROM activities").scalar_one()
            latest = latest_planned_day(conn)
        stored = sizes(admin, schema)
        print(f"{n_clients:,} clients, {n_acts:,} activities; {json.dumps(stored)}", flush=True)

        # run-daily: consecutive new days, then the full computation on the next one
        first = max(AS_OF, latest + dt.timedelta(days=1)) if latest else AS_OF
        daily = []
        for run in range(args.runs):
            day = first + dt.timedelta(days=run)
            daily.append(run_daily(url, day, [], logs))
            print(_daily_line(daily[-1]), flush=True)
        full = run_daily(url, first + dt.timedelta(days=args.runs), ["--rebuild", "--refit"], logs)
        print(_daily_line(full), flush=True)
        profile = ""
        if args.profile_daily:
            profile = profile_daily(url, first + dt.timedelta(days=args.runs + 1), logs)
            print(profile, flush=True)
        engine.dispose()

        web = None
        if args.web_runs:
            from bench_web import Practice, describe, measure, print_report

            web_args = argparse.Namespace(**{**vars(args), "runs": args.web_runs})
            practice = Practice(None, None, random.Random(11), url=url)
            print(describe(practice), flush=True)
            web = (practice, web_args, measure(practice, web_args))
    finally:
        if not args.keep:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()

    report(args, schema, n_clients, n_acts, imports, daily, full, stored)
    if web is not None:
        print_report(*web)


def _daily_line(result: dict[str, Any]) -> str:
    return (
        f"run-daily {result['day']} {result['flags']}: {result['wall']:.1f} s, "
        f"peak {result['maxrss_mib']:.0f} MiB; {fmt_steps(result['steps'])}"
    )


def report(
    args: Any,
    schema: str,
    n_clients: int,
    n_acts: int,
    imports: dict[str, dict[str, Any]],
    daily: list[dict[str, Any]],
    full: dict[str, Any],
    stored: dict[str, Any],
) -> None:
    print(
        f"\n{n_clients:,} clients, {n_acts:,} activities, PostgreSQL (schema {schema}); "
        f"{machine()}\n"
    )
    if imports:
        print("| import (its own process, `import_file`) | rows | time | rows/s | peak RSS |")
        print("| --- | --- | --- | --- | --- |")
        for kind, done in imports.items():
            print(
                f"| {kind} | {done['rows']:,} | {done['seconds']:.1f} s "
                f"| {done['rows'] / done['seconds']:,.0f} | {done['maxrss_mib']:,.0f} MiB |"
            )
        print("\n| import step | clients | activities |")
        print("| --- | --- | --- |")
        labels = list(dict.fromkeys(k for d in imports.values() for k in d["steps"]))
        for label in labels:
            cells = [
                f"{imports[k]['steps'][label]:.1f} s" if label in imports[k]["steps"] else ""
                for k in ("clients", "activities")
                if k in imports
            ]
            print(f"| {label} | " + " | ".join(cells) + " |")
        print()
    print("| table | rows | size (with indexes) | of which indexes |")
    print("| --- | --- | --- | --- |")
    for table, info in stored.items():
        print(
            f"| {table} | {info['live_rows'] or 0:,} | {info['total_mib']:,.0f} MiB "
            f"| {info['index_mib']:,.0f} MiB |"
        )
    print(f"\n`run-daily` as a command, {len(daily)} consecutive new days, then the baseline\n")
    steps = list(dict.fromkeys(k for d in [*daily, full] for k in d["steps"]))
    print("| run | wall | peak RSS | " + " | ".join(steps) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in steps) + " |")
    for d in [*daily, full]:
        cells = [f"{d['steps'][s]:.1f} s" if s in d["steps"] else "" for s in steps]
        print(
            f"| {d['day']} {d['flags'] or '(default)'} | {d['wall']:.1f} s "
            f"| {d['maxrss_mib']:,.0f} MiB | " + " | ".join(cells) + " |"
        )
    wall = statistics.median(d["wall"] for d in daily)
    rss = statistics.median(d["maxrss_mib"] for d in daily)

    def verdict(value: float, target: float, unit: str) -> str:
        return "met" if value <= target else f"MISSED by {value - target:,.1f} {unit}"

    print("\n| run-daily | wall | peak RSS | target ≤ 60 s | target ≤ 4 GiB |")
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| default (median of {len(daily)} days) | {wall:.1f} s | {rss:,.0f} MiB "
        f"| {verdict(wall, DAILY_TARGET_S, 's')} | {verdict(rss, DAILY_TARGET_MIB, 'MiB')} |"
    )
    print(
        f"| baseline: full computation (`--rebuild --refit`) | {full['wall']:.1f} s "
        f"| {full['maxrss_mib']:,.0f} MiB | {verdict(full['wall'], DAILY_TARGET_S, 's')} "
        f"| {verdict(full['maxrss_mib'], DAILY_TARGET_MIB, 'MiB')} |"
    )


if __name__ == "__main__":
    main()
