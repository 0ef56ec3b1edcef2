"""Shared fixtures: every database test runs on a real SQLite file and on real PostgreSQL.

PostgreSQL comes from KEEPWARM_TEST_DATABASE_URL (`.ci/run` points it at the local server).
On a laptop without it those tests skip with a message; under CI=true they fail instead.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the CLI does (keepwarm.cli)

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from keepwarm.config import Settings
from keepwarm.store import connect, migrate

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("KEEPWARM_TEST_DATABASE_URL", "")
TODAY = dt.date(2026, 11, 24)
NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def _postgres_or_skip() -> str:
    if not PG_URL:
        message = (
            "PostgreSQL tests need KEEPWARM_TEST_DATABASE_URL, e.g. "
            "postgresql://postgres@127.0.0.1:5432/test (install PostgreSQL to run them)"
        )
        if IN_CI:
            pytest.fail("CI=true but " + message)
        pytest.skip(message)
    return PG_URL


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine | None]:
    if not PG_URL:
        yield None
        return
    engine = connect(PG_URL)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        engine.dispose()
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {PG_URL} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} is unreachable: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a fresh, empty database (no tables yet) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keepwarm.db'}"
        return
    admin = request.getfixturevalue("pg_admin")
    with pg_schema(admin, "kwtest_") as url:
        yield url


@contextmanager
def pg_schema(admin: sa.Engine, prefix: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for as long as the block runs: its URL, then dropped."""
    base = _postgres_or_skip()
    schema = prefix + uuid.uuid4().hex[:12]
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = sa.make_url(connect(base).url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def database_in(
    backend: str, request: pytest.FixtureRequest, folder: Path, prefix: str
) -> Iterator[str]:
    """A fresh database of `backend` for as long as the block runs: a SQLite file in `folder`,
    or a PostgreSQL schema named from `prefix` (dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'keepwarm.db'}"
        return
    with pg_schema(request.getfixturevalue("pg_admin"), prefix) as url:
        yield url


@pytest.fixture
def backend(db_url: str) -> str:
    return "postgresql" if db_url.startswith("postgresql") else "sqlite"


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on a freshly migrated database."""
    eng = connect(db_url, create=True)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url)


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write text (or bytes) to a file under tmp_path and return its path."""

    def write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding=encoding, newline="")
        return path

    return write


class Cli:
    """Runs `keepwarm` in-process against the test database, like a user at a terminal."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        from keepwarm.cli import app

        env = {"KEEPWARM_DATABASE_URL": self.db_url, "COLUMNS": "200", "NO_COLOR": "1"}
        return self.runner.invoke(app, list(args), env=env, input=input, catch_exceptions=False)


@pytest.fixture
def cli(db_url: str, engine: sa.Engine) -> Cli:
    """The CLI on a freshly initialised database."""
    return Cli(db_url)


@pytest.fixture
def bare_cli(db_url: str) -> Cli:
    """The CLI on a database that does not exist yet."""
    return Cli(db_url)


def table_snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every data table, sorted: equal snapshots mean nothing changed."""
    out = {}
    with engine.connect() as conn:
        for name in ("staff", "clients", "activities", "touches"):
            rows = conn.exec_driver_sql(f"SELECT * FROM {name}").all()
            out[name] = sorted(tuple(map(str, r)) for r in rows)
    return out


@pytest.fixture
def web_app(db_url: str, engine: sa.Engine):  # type: ignore[no-untyped-def]
    """The web app on a freshly migrated database (no users yet; setup code 12345678)."""
    from keepwarm.web import create_app

    return create_app(Settings(database_url=db_url), setup_code="12345678")


@pytest.fixture
def web(web_app, engine: sa.Engine) -> Callable[..., object]:  # type: ignore[no-untyped-def]
    """web(email, role="owner", staff=None): a client signed in as a new user of that role
    (a staff member called `staff` is created first when it does not exist)."""
    from keepwarm.services.staff import add_staff, list_staff
    from keepwarm.services.users import add_user
    from web_support import PASSWORD, Web

    def make(email: str = "owner@example.com", role: str = "owner", staff: str | None = None):  # type: ignore[no-untyped-def]
        if staff and staff not in {s.name for s in list_staff(engine)}:
            add_staff(engine, staff, email=None, weekly_quota=2, now=NOW)
        add_user(engine, email, PASSWORD, role, staff_name=staff, now=NOW)
        client = Web(web_app)
        answer = client.sign_in(email)
        assert answer.status_code == 303, answer.text
        return client

    return make
