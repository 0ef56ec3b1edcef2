"""Benchmark: the web app under load — the Today page, a client page and client search served
by the real app (uvicorn, one worker process, SQLite) to 10 concurrent signed-in users over
loopback, against a baseline measured in the same run (GET /health: no database).

    .venv/bin/python bench/bench_web.py --runs 3            # 100,000 clients, 2.08M activities
    .venv/bin/python bench/bench_web.py --quick             # 5,000 clients: a smoke check
    .venv/bin/python bench/bench_web.py --url 'postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dkwbench_x'

With `--url`, the pages are served from that database as it is (an imported practice, e.g. a
PostgreSQL schema made by bench_pg_million.py), not from a SQLite copy: today's plan is made
if it can be (not when it is made already, or a later day is), and the staff and users are
added if missing. bench_pg_million.py reuses `measure` and `print_report`. A page too slow for
hundreds of requests can be given fewer (`--requests-per client=20`) or left out (`--skip
client`: at 1,000,000 clients a client page took 13.9 s, beyond the 120 s timeout with 10 users).

The practice is bench_daily's (simulated BG/NBD, imported through the real import path; the
imported database is cached in bench/out/), copied to a scratch file per invocation; five staff
(weekly quota 10), today's plan made for the date the server's clock gives, an owner and a
staff user. The server runs in a subprocess so the load generator (asyncio + httpx, one
keep-alive connection and one session cookie per user) does not share its GIL. Users send
requests back to back (no think time): a closed loop at saturation, the worst case for 10
users; `--think 2` has each user pause a random time (exponential, mean 2 s) after each answer,
as people read a page before the next click. Each page type is measured alone (10 users on
that page: p50/p95/p99, requests per second), then all together (the mixed phase: every user
cycles through every page). After the load, the service calls behind each page are timed
in-process to show where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import os
import pstats
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import httpx
from sqlalchemy import text

from bench_daily import AS_OF, OUT, make_files
from keepwarm.config import Settings
from keepwarm.domain.errors import NotFound
from keepwarm.domain.model import ImportKind
from keepwarm.services.daily_job import local_today, plan_made, run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.policy import get_policy
from keepwarm.services.staff import add_staff, list_staff
from keepwarm.services.todays_list import todays_list, week_quota
from keepwarm.services.users import add_user, session_for, start_session, user_by_email
from keepwarm.store import connect, migrate
from keepwarm.store.actions import latest_planned_day

STAFF = ("Ana", "Ben", "Cho", "Dev", "Eli")
PASSWORD = "correct horse battery staple"
OWNER, MEMBER = "owner@bench.example", "ana@bench.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# page type -> label; the order is the order of the report
PAGES = {
    "today_all": "Today, owner: everyone's list (`/today`)",
    "today_staff": "Today, one member of staff (`/today`, signed in as Ana)",
    "client": "client page (`/clients/{id}`)",
    "search": "client search (`/clients?q=`: a name, id, email or phone)",
    "health": "baseline: `GET /health` (no database)",
}
TARGETS = {"today_all": 0.150, "today_staff": 0.150, "client": 0.150, "search": 0.200}


# --- the database ---------------------------------------------------------------------------


def imported_database(n_clients: int) -> Path:
    """bench_daily's practice imported into SQLite; cached as bench/out/web-<n>.db."""
    cached = OUT / f"web-{n_clients}.db"
    if cached.exists():
        return cached
    clients, acts = make_files(n_clients)
    building = OUT / f"web-{n_clients}.building.db"
    for stale in OUT.glob(f"{building.name}*"):
        stale.unlink()
    url = f"sqlite:///{building}"
    engine = connect(url, create=True)
    migrate(engine)
    settings = Settings(database_url=url)
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    for kind, path in ((ImportKind.CLIENTS, clients), (ImportKind.ACTIVITIES, acts)):
        report = import_file(engine, settings, kind, path, today=AS_OF, now=now)
        assert report.ok, report.problems[:3]
    engine.dispose()
    print(f"imported {n_clients:,} clients in {time.perf_counter() - started:.0f} s", flush=True)
    building.rename(cached)
    return cached


class Practice:
    """A scratch copy of the imported practice (or, with `url`, that database in place),
    planned for today, with two users."""

    def __init__(
        self, source: Path | None, folder: Path | None, rng: random.Random, url: str | None = None
    ) -> None:
        if url is None:
            assert source is not None and folder is not None
            path = folder / "web.db"
            shutil.copyfile(source, path)
            url = f"sqlite:///{path}"
        self.url = url
        engine = connect(self.url)
        self.backend = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(
            engine.dialect.name, engine.dialect.name
        )
        migrate(engine)
        settings = Settings(database_url=self.url)
        now = dt.datetime.now(dt.UTC)
        have = {s.name for s in list_staff(engine)}
        for name in STAFF:
            if name not in have:
                add_staff(engine, name, email=None, weekly_quota=10, now=now)
        self.day = local_today(get_policy(engine), now)
        with engine.connect() as conn:
            latest = latest_planned_day(conn)
        started = time.perf_counter()
        self.planned = latest is None or latest < self.day  # else: the open list as it stands
        if self.planned:
            self.daily = run_daily(engine, settings, day=self.day, now=now)
        self.daily_seconds = time.perf_counter() - started
        for email, role, member in ((OWNER, "owner", None), (MEMBER, "staff", "Ana")):
            try:
                user_by_email(engine, email)
            except NotFound:
                add_user(engine, email, PASSWORD, role, staff_name=member, now=now)
        with engine.connect() as conn:
            self.n_clients = conn.execute(text("SELECT count(*) FROM clients")).scalar_one()
            self.n_activities = conn.execute(text("SELECT count(*) FROM activities")).scalar_one()
            sample = conn.execute(
                text(
                    "SELECT external_id, name, email, phone FROM clients "
                    "ORDER BY random() LIMIT 400"
                )
            ).all()
        listed = todays_list(engine, None)
        self.listed = len(listed)
        self.listed_ana = len(todays_list(engine, "Ana"))
        # half the client pages are clients on today's list (what staff click), half random
        self.client_ids = [a.client_id for a in listed][:200] + [r[0] for r in sample[:200]]
        # what people type: a name, an id, the start of an email, the last 7 digits of a phone
        self.search_kinds: dict[str, list[str]] = {"name": [], "id": [], "email": [], "phone": []}
        for ext, name, email, phone in sample:
            digits = "".join(ch for ch in phone or "" if ch.isdigit())
            self.search_kinds["name"].append(name)
            self.search_kinds["id"].append(ext)
            self.search_kinds["email"].append((email or ext).split("@")[0] + "@")
            self.search_kinds["phone"].append(digits[-7:] or ext)
        self.searches = [
            rng.choice(terms) for terms in zip(*self.search_kinds.values(), strict=True)
        ]
        engine.dispose()


# --- the server -----------------------------------------------------------------------------


def make_app() -> Any:
    """The app factory for uvicorn's worker processes (`--workers` above 1)."""
    from keepwarm.web import create_app

    return create_app(Settings(database_url=os.environ["BENCH_WEB_DATABASE_URL"]))


def serve(url: str, port: int, workers: int) -> None:
    """The server process: the real app; one uvicorn worker unless asked for more."""
    import uvicorn

    options: dict[str, Any] = {"host": "127.0.0.1", "port": port, "log_level": "warning"}
    if workers == 1:
        from keepwarm.web import create_app

        app = create_app(Settings(database_url=url))
        uvicorn.run(app, access_log=False, **options)
    else:
        os.environ["BENCH_WEB_DATABASE_URL"] = url
        uvicorn.run(
            "bench_web:make_app", factory=True, workers=workers, access_log=False, **options
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    here = str(Path(__file__).resolve().parent)  # and keepwarm from where this process has it
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, "--port", str(port), "--workers", str(workers)],
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])),
        },
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped (exit code {process.returncode})")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not answer /health within 60 s")


# --- the load -------------------------------------------------------------------------------


async def signed_in(
    base: str, email: str, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=base, follow_redirects=False, timeout=120, transport=transport
    )
    page = await client.get("/login")
    html = page.text[page.text.find('action="/login"') :]
    found = CSRF.search(html)
    assert found, "no sign-in form"
    answer = await client.post(
        "/login", data={"csrf_token": found.group(1), "email": email, "password": PASSWORD}
    )
    assert answer.status_code == 303, (answer.status_code, answer.text[:300])
    return client


class User:
    """One simulated user: an owner session and a staff session (cookies kept per client)."""

    def __init__(self, owner: httpx.AsyncClient, member: httpx.AsyncClient, rng: random.Random):
        self.owner, self.member, self.rng = owner, member, rng


def request_for(kind: str, user: User, practice: Practice, index: int) -> tuple[Any, str]:
    rng = user.rng
    if kind == "today_all":
        return user.owner, "/today"
    if kind == "today_staff":
        return user.member, "/today"
    either = user.owner if index % 2 else user.member
    if kind == "client":
        return either, f"/clients/{rng.choice(practice.client_ids)}"
    if kind == "search":
        return either, "/clients?" + urlencode({"q": rng.choice(practice.searches)})
    return user.owner, "/health"


class Phase:
    """`n` requests of each kind shared by all users; latency per kind, wall time, sizes."""

    def __init__(self, kinds: list[str]) -> None:
        self.kinds = kinds
        self.samples: dict[str, list[float]] = {k: [] for k in kinds}
        self.sizes: dict[str, int] = {}
        self.errors: list[str] = []
        self.wall = 0.0

    async def run(
        self,
        users: list[User],
        practice: Practice,
        n: int,
        per: dict[str, int] | None = None,
        think: float = 0.0,
    ) -> Phase:
        """`think`: each user pauses a random time with this mean (seconds, exponential)
        after each answer, as a person reads the page before the next click; 0: none."""
        remaining = {kind: (per or {}).get(kind, n) for kind in self.kinds}

        async def loop(i: int, user: User) -> None:
            cycle = self.kinds[i % len(self.kinds) :] + self.kinds[: i % len(self.kinds)]
            count = 0
            if think:  # people do not click in step: each starts after a pause of their own
                await asyncio.sleep(user.rng.expovariate(1 / think))
            while any(remaining[k] > 0 for k in cycle):
                for kind in cycle:
                    if remaining[kind] <= 0:
                        continue
                    remaining[kind] -= 1
                    count += 1
                    client, url = request_for(kind, user, practice, count + i)
                    started = time.perf_counter()
                    answer = await client.get(url)
                    self.samples[kind].append(time.perf_counter() - started)
                    self.sizes[kind] = len(answer.content)
                    if answer.status_code != 200:
                        self.errors.append(f"{url}: {answer.status_code}")
                    if think:
                        await asyncio.sleep(user.rng.expovariate(1 / think))

        started = time.perf_counter()
        await asyncio.gather(*(loop(i, u) for i, u in enumerate(users)))
        self.wall = time.perf_counter() - started
        return self


def percentiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


async def one_run(base: str, practice: Practice, kinds: list[str], args: Any, seed: int) -> dict:
    users = []
    for i in range(args.users):
        owner = await signed_in(base, OWNER)
        member = await signed_in(base, MEMBER)
        users.append(User(owner, member, random.Random(seed * 1000 + i)))
    try:
        per = requests_per(args)
        warm = {kind: min(args.warmup, max(1, count // 10)) for kind, count in per.items()}
        await Phase(kinds).run(users, practice, args.warmup, warm)  # warm-up, not measured
        result: dict[str, dict[str, float]] = {}
        for kind in kinds:  # each page alone under the full load
            count = per.get(kind, args.requests)
            phase = await Phase([kind]).run(users, practice, count, think=args.think)
            if phase.errors:
                raise SystemExit(f"{len(phase.errors)} failed requests, e.g. {phase.errors[:3]}")
            p50, p95, p99 = percentiles(phase.samples[kind])
            result[kind] = {
                "p50": p50,
                "p95": p95,
                "p99": p99,
                "rps": count / phase.wall,
                "kb": phase.sizes[kind] / 1024,
            }
        mixed = await Phase(kinds).run(users, practice, args.requests, per, think=args.think)
        if mixed.errors:
            raise SystemExit(f"{len(mixed.errors)} failed requests, e.g. {mixed.errors[:3]}")
        for kind in kinds:
            result[kind]["mixed_p95"] = percentiles(mixed.samples[kind])[1]
        total = sum(per.get(kind, args.requests) for kind in kinds)
        result["_mixed"] = {"rps": total / mixed.wall}
        return result
    finally:
        for user in users:
            await user.owner.aclose()
            await user.member.aclose()


async def available(base: str, practice: Practice) -> list[str]:
    """The page types the app serves now (the client pages are being built)."""
    kinds = list(PAGES)
    client = await signed_in(base, OWNER)
    try:
        probes = {
            "client": f"/clients/{practice.client_ids[0]}",
            "search": "/clients?" + urlencode({"q": practice.searches[0]}),
        }
        for kind, url in probes.items():
            status = (await client.get(url)).status_code
            if status != 200:
                print(f"note: {url} answered {status}: {kind} left out", flush=True)
                kinds.remove(kind)
    finally:
        await client.aclose()
    return kinds


# --- where the time goes --------------------------------------------------------------------


def service_times(practice: Practice, repeat: int = 15) -> list[tuple[str, float | None]]:
    """Median time of each service call behind the pages, in-process on the same database
    (None: the call failed, e.g. a service that changed while the client pages are built)."""
    from keepwarm.services import clients as svc
    from keepwarm.services.rhythms import client_rhythm

    engine = connect(practice.url)
    now = dt.datetime.now(dt.UTC)
    token = start_session(engine, user_by_email(engine, OWNER), now=now)
    rng = random.Random(7)
    since = practice.day - dt.timedelta(days=730)

    def one() -> str:
        return rng.choice(practice.client_ids)

    def searcher(terms: list[str]) -> Callable[[], object]:
        return lambda: svc.search_clients(engine, rng.choice(terms), limit=50)

    calls: list[tuple[str, Callable[[], object]]] = [
        ("session_for (every page)", lambda: session_for(engine, token, now=now)),
        ("get_policy (Today, client page: the day)", lambda: get_policy(engine)),
        ("list_staff (Today, clients, client page)", lambda: list_staff(engine)),
        ("todays_list(everyone) (Today, owner)", lambda: todays_list(engine, None)),
        ("todays_list('Ana') (Today, staff)", lambda: todays_list(engine, "Ana")),
        ("week_quota (Today)", lambda: week_quota(engine, practice.day)),
        ("plan_made (Today)", lambda: plan_made(engine, practice.day)),
        ("clients.get_client (client page)", lambda: svc.get_client(engine, one())),
        ("client_rhythm (client page)", lambda: client_rhythm(engine, one())),
        ("clients.client_timeline (client page)", lambda: svc.client_timeline(engine, one())),
        (
            "clients.activity_dates (client page)",
            lambda: svc.activity_dates(engine, one(), since=since),
        ),
        (
            "clients.client_open_actions (client page)",
            lambda: svc.client_open_actions(engine, one()),
        ),
        *(
            (
                f"clients.search_clients({kind}) (search by {kind}, e.g. {terms[0]!r})",
                searcher(terms),
            )
            for kind, terms in practice.search_kinds.items()
        ),
        ("clients.search_clients() (the list, no search)", lambda: svc.search_clients(engine)),
    ]
    times: list[tuple[str, float | None]] = []
    for label, call in calls:
        try:
            call()
        except Exception as exc:
            print(f"note: {label.split(' (')[0]} failed: {exc!r}", flush=True)
            times.append((label, None))
            continue
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            call()
            runs.append(time.perf_counter() - started)
        times.append((label, statistics.median(runs)))
    engine.dispose()
    return times


def in_process(
    practice: Practice,
    kinds: list[str],
    *,
    profile: bool,
    count: int = 30,
    per: dict[str, int] | None = None,
) -> dict[str, float]:
    """Each page in-process, one request at a time (no server, no network): the median time of
    `count` requests, i.e. the work one request costs. The ASGI app is driven through httpx's
    ASGI transport with FastAPI's thread pool replaced by direct calls, so a whole request runs
    in this thread; with `profile`, a cProfile of each page is printed (top functions by own
    time, then keepwarm/jinja2/sqlalchemy by cumulative time)."""
    import fastapi.dependencies.utils
    import fastapi.routing

    from keepwarm.web import create_app

    async def inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    fastapi.routing.run_in_threadpool = inline  # type: ignore[assignment]
    fastapi.dependencies.utils.run_in_threadpool = inline  # type: ignore[assignment]
    app = create_app(Settings(database_url=practice.url))
    each: dict[str, float] = {}

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        owner = await signed_in("http://bench", OWNER, transport)
        member = await signed_in("http://bench", MEMBER, transport)
        user = User(owner, member, random.Random(3))
        for kind in kinds:
            times = []
            # a page given fewer requests (--requests-per) gets fewer here too
            n, warm = (count, 3) if kind not in (per or {}) else (min(count, per[kind] // 4), 1)
            n = max(n, 3)
            for i in range(n + warm):
                client, url = request_for(kind, user, practice, i)
                started = time.perf_counter()
                answer = await client.get(url)
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200, (url, answer.status_code)
            each[kind] = statistics.median(times[warm:])
            if not profile:
                continue
            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(n):
                client, url = request_for(kind, user, practice, i)
                await client.get(url)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(20)
            stats.sort_stats("cumulative").print_stats("keepwarm|jinja2|sqlalchemy", 30)
            print(f"\n### profile of {n} requests: {PAGES[kind]}\n")
            print(out.getvalue())
        await owner.aclose()
        await member.aclose()

    asyncio.run(go())
    return each


# --- main -----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"


def measure(practice: Practice, args: Any) -> dict[str, Any]:
    """The load (`args.runs` runs of `args.requests` per page type, `args.users` users) against
    the real app serving `practice`, then each service call and each page in-process."""
    process, base = start_server(practice.url, args.workers)
    try:
        kinds = [k for k in asyncio.run(available(base, practice)) if k not in (args.skip or [])]
        runs = []
        for run in range(args.runs):
            started = time.perf_counter()
            runs.append(asyncio.run(one_run(base, practice, kinds, args, seed=run)))
            print(f"run {run + 1}: {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
    services = service_times(practice)
    alone = in_process(practice, kinds, profile=args.profile, per=requests_per(args))
    return {"kinds": kinds, "runs": runs, "services": services, "alone": alone}


def print_report(practice: Practice, args: Any, measured: dict[str, Any]) -> None:
    kinds, runs = measured["kinds"], measured["runs"]
    services, alone = measured["services"], measured["alone"]

    def med(kind: str, stat: str) -> float:
        return statistics.median(r[kind][stat] for r in runs)

    print(
        f"\n{practice.n_clients:,} clients, {practice.n_activities:,} activities, "
        f"{practice.backend}; "
        f"uvicorn, {args.workers} worker process(es), loopback; "
        f"{args.users} users, "
        + (f"think time {args.think:g} s on average; " if args.think else "no think time; ")
        + f"{args.requests} requests per page type after {args.warmup} warm-up"
        + "".join(f" ({kind}: {n})" for kind, n in requests_per(args).items())
        + "; "
        f"medians of {args.runs} run(s)\n"
    )
    print(
        "| page | p50 | p95 | p99 | req/s | size | p95, all pages mixed "
        "| one request in-process | target (p95) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind in kinds:
        target = TARGETS.get(kind)
        verdict = ""
        if target:
            verdict = f"< {target * 1000:.0f} ms: " + (
                "met" if med(kind, "p95") < target else "MISSED"
            )
        print(
            f"| {PAGES[kind]} | {ms(med(kind, 'p50'))} | {ms(med(kind, 'p95'))} "
            f"| {ms(med(kind, 'p99'))} | {med(kind, 'rps'):.0f} | {med(kind, 'kb'):.0f} KB "
            f"| {ms(med(kind, 'mixed_p95'))} | {ms(alone[kind])} | {verdict} |"
        )
    mixed = statistics.median(r["_mixed"]["rps"] for r in runs)
    print(f"\nAll pages mixed: {mixed:.0f} requests/s in total.")
    print("\nService calls behind the pages, one at a time in-process (median of 15):\n")
    print("| call | time |")
    print("| --- | --- |")
    for label, seconds in services:
        call, purpose = label.split(" (", 1)
        print(f"| `{call}` ({purpose} | {ms(seconds) if seconds is not None else 'failed'} |")


def describe(practice: Practice) -> str:
    made = (
        f"planned {practice.day} in {practice.daily_seconds:.1f} s"
        if practice.planned
        else f"{practice.day} not planned here (a plan is made already): the open list as it is"
    )
    return (
        f"{practice.n_clients:,} clients, {practice.n_activities:,} activities, "
        f"{practice.backend}; {made} ({practice.listed} actions on the list, "
        f"{practice.listed_ana} for Ana)"
    )


def requests_per(args: Any) -> dict[str, int]:
    """`--requests-per client=20`: that page gets 20 requests (warm-up: a tenth), not
    `--requests` (a page too slow for hundreds of requests in a run)."""
    out = {}
    for item in getattr(args, "requests_per", None) or []:
        kind, _, count = item.partition("=")
        if kind not in PAGES or not count.isdigit():
            raise SystemExit(f"--requests-per {item!r}: KIND=N, KIND one of {', '.join(PAGES)}")
        out[kind] = int(count)
    return out


def add_load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=None, help="measured per page type")
    parser.add_argument(
        "--requests-per",
        action="append",
        metavar="KIND=N",
        help="N measured requests for page KIND instead (e.g. client=20: a slow page)",
    )
    parser.add_argument(
        "--skip", action="append", metavar="KIND", help="leave page KIND out (e.g. client)"
    )
    parser.add_argument("--warmup", type=int, default=20, help="per page type, not measured")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="each user's mean pause after an answer, seconds (default 0: back to back)",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--profile", action="store_true", help="cProfile each page in-process")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="runs (default 3; quick: 1)")
    parser.add_argument("--quick", action="store_true", help="5,000 clients, 100 requests each")
    parser.add_argument("--clients", type=int, default=None, help="default 100,000")
    add_load_options(parser)
    parser.add_argument("--base", type=Path, help="an imported practice to copy (never written)")
    parser.add_argument(
        "--url", help="serve this database in place (e.g. PostgreSQL), not a SQLite copy"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.workers)
        return
    args.clients = args.clients or (5_000 if args.quick else 100_000)
    args.requests = args.requests or (100 if args.quick else 500)
    args.runs = args.runs or (1 if args.quick else 3)

    rng = random.Random(11)
    if args.url:
        practice = Practice(None, None, rng, url=args.url)
        print(describe(practice), flush=True)
        measured = measure(practice, args)
    else:
        source = args.base or imported_database(args.clients)
        with tempfile.TemporaryDirectory(dir=OUT, prefix="web-run-") as folder:
            practice = Practice(source, Path(folder), rng)
            print(describe(practice), flush=True)
            measured = measure(practice, args)
    print_report(practice, args, measured)


if __name__ == "__main__":
    main()
