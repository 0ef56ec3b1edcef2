"""Property-based tests of the JSON API from its own OpenAPI document: schemathesis generates
requests (valid and invalid) for every operation against the real app served by uvicorn on a
loopback port, with an owner's token, and no request may cause a server error (5xx)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from conftest import NOW
from keepwarm.config import Settings
from keepwarm.services.database import init_database, open_database
from keepwarm.services.users import add_user, create_token
from test_web_api import build_practice
from web_support import PASSWORD


@dataclass(frozen=True)
class Server:
    base: str
    token: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real app under uvicorn in a background thread, on a SQLite file holding a small
    practice built through the import path, with an owner's API token."""
    from keepwarm.web import create_app

    folder: Path = tmp_path_factory.mktemp("schemathesis")
    config = Settings(database_url=f"sqlite:///{folder / 'keepwarm.db'}")
    init_database(config)
    engine = open_database(config)
    build_practice(engine, config, folder)
    owner = add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    token = create_token(engine, owner.id, "schemathesis", now=NOW)
    engine.dispose()
    with pytest.MonkeyPatch.context() as patch:
        for where in ("keepwarm.web.auth.clock", "keepwarm.web.api.clock"):
            patch.setattr(where, lambda: NOW)  # the clock, the one thing mocked
        port = _free_port()
        uv = uvicorn.Server(
            uvicorn.Config(
                create_app(config),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                log_config=None,  # as `keepwarm serve` (uvicorn's own config stops propagation)
                lifespan="on",
            )
        )
        thread = threading.Thread(target=uv.run, name="uvicorn-schemathesis", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not uv.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        try:
            yield Server(f"http://127.0.0.1:{port}", token)
        finally:
            uv.should_exit = True
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def api_schema(server: Server):  # type: ignore[no-untyped-def]
    """The OpenAPI document as the running server serves it."""
    return schemathesis.openapi.from_url(f"{server.base}/api/v1/openapi.json")


def test_the_document_covers_every_api_operation(api_schema) -> None:  # type: ignore[no-untyped-def]
    operations = {(r.ok().method.upper(), r.ok().path) for r in api_schema.get_all_operations()}
    assert ("POST", "/api/v1/activities") in operations
    assert ("DELETE", "/api/v1/clients/{client_id}") in operations
    assert len(operations) >= 12


def test_no_request_causes_a_server_error(api_schema, server: Server) -> None:  # type: ignore[no-untyped-def]
    """Valid and invalid requests for every operation (25 of each at most, reproducible)."""
    auth = {"Authorization": f"Bearer {server.token}"}
    failures: list[str] = []
    statuses: set[int] = set()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE, headers=auth),
            operation.as_strategy(GenerationMode.NEGATIVE, headers=auth),
        )

        @given(case=strategy)
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case) -> None:  # type: ignore[no-untyped-def]
            answer = case.call_and_validate(
                base_url=server.base, headers=auth, checks=[not_a_server_error], timeout=30
            )
            statuses.add(answer.status_code)

        try:
            call()
        except Exception as exc:  # every operation is tried; all failures are reported
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert len(operations) >= 12
    assert {200, 404, 422} <= statuses  # requests were served, and refused
    assert not failures, "\n\n".join(failures)
