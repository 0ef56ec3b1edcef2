"""Helpers for the real-browser tests: Chromium, a live server in a thread, and page watchers.

The browser is Debian's Chromium (`apt-get install chromium`), driven by Playwright's sync API;
Playwright never downloads a browser of its own. Without Chromium the browser tests skip with
that hint, and under CI=true they fail instead (as the PostgreSQL tests do).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from keepwarm.services.demo_data import CLIENT_HEADER

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
# Set to 1 to (re)write the README's screenshots in docs/screenshots/ from a test run.
UPDATE_DOCS = os.environ.get("KEEPWARM_UPDATE_SCREENSHOTS", "") == "1"

PASSWORD = "correct horse battery staple"
OWNER = "owner@example.com"
STAFF = "dana@example.com"
STAFF_NAME = "Dana Reyes"  # one of the demo's staff
SEED = 7
TODAY = dt.date(2026, 11, 24)
NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# The hostile client: markup in every field an import can set.
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
HOSTILE_ID = "P-9001"
HOSTILE_FIRST = f"Mallory {SCRIPT}"
HOSTILE_LAST = f"Tables{IMG}"
HOSTILE_NAME = f"{HOSTILE_FIRST} {HOSTILE_LAST}"
HOSTILE_STAFF = f"Eve {SCRIPT}{IMG}"  # a staff member the import creates (a provider column)
HOSTILE_NOTE = f"called {SCRIPT} back {IMG}"
_CLIENT_HEADER = list(CLIENT_HEADER)  # the demo practice's own export headers


def chromium_or_skip() -> str:
    if not CHROMIUM.exists():
        message = f"the browser tests need Chromium at {CHROMIUM}: apt-get install chromium"
        if IN_CI:
            pytest.fail("CI=true but " + message)
        pytest.skip(message)
    return str(CHROMIUM)


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The app served by uvicorn in a background thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            log_config=None,  # as `keepwarm serve` (uvicorn's own config stops propagation)
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the live server did not answer on {self.url}/health")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def frozen_clock(now: dt.datetime) -> Iterator[None]:
    """The web app's clock (keepwarm.web.auth.clock and every web module's imported copy) reads
    `now`: the only thing mocked."""
    from keepwarm.web import auth

    real = auth.clock

    def fixed() -> dt.datetime:
        return now

    with pytest.MonkeyPatch.context() as mp:
        for name, module in list(sys.modules.items()):
            if name.startswith("keepwarm.web") and getattr(module, "clock", None) is real:
                mp.setattr(module, "clock", fixed)
        yield


def build_demo_file(folder: Path) -> Path:
    """The demo practice (fixed seed and day) in a SQLite file, not yet planned."""
    from keepwarm.config import Settings
    from keepwarm.services.demo import build_demo

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.db"
    build_demo(
        Settings(database_url=f"sqlite:///{path}"),
        seed=SEED,
        today=TODAY,
        now=NOW,
        workdir=folder,
    )
    return path


def copy_database(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def import_hostile_client(engine: Any, settings: Any, folder: Path) -> None:
    """A client (and a visit) whose every text field carries markup, imported the way a real
    export comes in; cancelled a few days ago and with a birthday today, so it is on the list."""
    from keepwarm.domain.model import ImportKind
    from keepwarm.services.importing import import_file

    clients_csv = folder / "hostile-clients.csv"
    with clients_csv.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(_CLIENT_HEADER)
        writer.writerow(
            [
                HOSTILE_ID,
                HOSTILE_FIRST,
                HOSTILE_LAST,
                "mallory@example.org",
                "503-555-0100",
                f"{SCRIPT} Main St {IMG}",
                "1980-11-24",
                "2020-01-01",
                STAFF_NAME,
                f"{SCRIPT};{IMG}",
                "Cancelled",
                "2026-11-20",
                "",
                "",
                f"note {SCRIPT}{IMG}",
            ]
        )
        eve = dict.fromkeys(_CLIENT_HEADER, "")
        eve.update({"Patient ID": "P-9002", "First Name": "Eve's", "Last Name": "Client"})
        eve.update({"Patient Since": "2021-03-04", "Provider": HOSTILE_STAFF, "Status": "Active"})
        writer.writerow(eve.values())
    visits_csv = folder / "hostile-visits.csv"
    with visits_csv.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Invoice Number", "Patient ID", "Appointment Date", "Service", "Amount"])
        writer.writerow(["INV-9001", HOSTILE_ID, "2026-10-01", f"treatment {IMG}", "95.00"])
    touches_csv = folder / "hostile-touches.csv"
    with touches_csv.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Patient ID", "Date", "Type", "Staff", "Notes", "Outcome"])
        writer.writerow([HOSTILE_ID, "2025-06-01", "Phone call", STAFF_NAME, HOSTILE_NOTE, ""])
    us = settings.replace(region="US")  # the demo's files are American
    for kind, path in (
        (ImportKind.CLIENTS, clients_csv),
        (ImportKind.ACTIVITIES, visits_csv),
        (ImportKind.TOUCHES, touches_csv),
    ):
        report = import_file(engine, us, kind, path, today=TODAY, now=NOW)
        assert report.ok, report.problems


@dataclass
class Site:
    """A running keepwarm on its own SQLite file: the demo practice planned for TODAY, with an
    owner and a staff user."""

    url: str
    db_url: str
    engine: Any
    settings: Any
    server: LiveServer

    def client_count(self) -> int:
        from keepwarm.services.clients import find_clients

        return find_clients(self.engine, limit=1)[1]


def start_site(demo_file: Path, folder: Path, *, hostile: bool = False) -> Site:
    from keepwarm.config import Settings
    from keepwarm.services.daily_job import run_daily
    from keepwarm.services.database import open_database
    from keepwarm.services.users import add_user
    from keepwarm.web import create_app

    path = folder / "keepwarm.db"
    copy_database(demo_file, path)
    db_url = f"sqlite:///{path}"
    settings = Settings(database_url=db_url)
    engine = open_database(settings)
    if hostile:
        import_hostile_client(engine, settings, folder)
    run_daily(engine, settings, day=TODAY, now=NOW)
    add_user(engine, OWNER, PASSWORD, "owner", now=NOW)
    add_user(engine, STAFF, PASSWORD, "staff", staff_name=STAFF_NAME, now=NOW)
    server = LiveServer(create_app(settings)).start()
    return Site(server.url, db_url, engine, settings, server)


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium, launched through Playwright, closed afterwards."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def demo_site(factory: pytest.TempPathFactory, now: dt.datetime = NOW) -> Iterator[Site]:
    """The demo practice, planned for TODAY, served live while the clock reads `now`."""
    demo = build_demo_file(factory.mktemp("demo"))
    with frozen_clock(now):
        running = start_site(demo, factory.mktemp("site"))
        try:
            yield running
        finally:
            running.server.stop()
            running.engine.dispose()


@dataclass
class Watch:
    """What a page did that it should not: dialogs, CSP violations, script errors, and
    requests leaving the site."""

    base: str
    dialogs: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message} on {page.url}")
            dialog.dismiss()

        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text:
                self.csp.append(f"{page.url}: {message.text}")

        def on_request(request: Any) -> None:
            url = request.url
            if not url.startswith((self.base + "/", "data:", "about:", "blob:")):
                self.outside.append(url)

        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on("request", on_request)

    def assert_clean(self) -> None:
        assert not self.dialogs, f"a dialog opened (script ran): {self.dialogs}"
        assert not self.csp, f"CSP violations (inline script or style?): {self.csp}"
        assert not self.errors, f"script errors: {self.errors}"
        assert not self.outside, f"requests left the site: {self.outside}"


def sign_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def screenshot(page: Any, name: str, docs_name: str | None = None) -> Path:
    """A full-page screenshot under test-artifacts/screenshots/ (git-ignored); with
    `docs_name` and KEEPWARM_UPDATE_SCREENSHOTS=1, also the first screenful into
    docs/screenshots/ for the README."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs_name and UPDATE_DOCS:
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOTS / docs_name))
    return path


def overflow(page: Any) -> int:
    """How many pixels the page is wider than the viewport (0: no sideways scrolling)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def until(page: Any, condition: Any, what: str, timeout: float = 10.0) -> None:
    """Wait until `condition()` holds, letting the page deliver its events meanwhile (the
    watchers are fed by them); fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        page.wait_for_timeout(10)  # hand control to Playwright so events arrive
