"""Sign-in throttling under parallel requests, against a real `keepwarm serve` process on
both backends: each request has its own session and CSRF token and they are sent at once.
The limits (per account and per address) must hold however many arrive together."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from conftest import NOW
from keepwarm.services import users
from keepwarm.services.users import add_user
from web_support import PASSWORD, csrf_of

WRONG = "not the password at all"
THROTTLED = "too many failed attempts"
CHECKED = "wrong email or password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _server(db_url: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    server = subprocess.Popen(
        [sys.executable, "-m", "keepwarm.cli", "serve", "--port", str(port), "--db", db_url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def _burst(base: str, attempts: list[tuple[str, str, float]]) -> list[httpx.Response]:
    """Send every (email, password, delay) sign-in at once, each from its own fresh session
    with its own CSRF token; the answers in the same order."""
    clients = [httpx.Client(base_url=base, follow_redirects=False, timeout=60) for _ in attempts]
    try:
        tokens = [csrf_of(c.get("/login").text, "/login") for c in clients]
        start = threading.Barrier(len(attempts))

        def send(i: int) -> httpx.Response:
            email, password, delay = attempts[i]
            start.wait()
            time.sleep(delay)
            form = {"csrf_token": tokens[i], "email": email, "password": password}
            return clients[i].post("/login", data=form)

        with ThreadPoolExecutor(len(attempts)) as pool:
            return list(pool.map(send, range(len(attempts))))
    finally:
        for c in clients:
            c.close()


def _verdicts(answers: list[httpx.Response]) -> list[str]:
    out = []
    for answer in answers:
        if answer.status_code == 303:
            out.append("signed in")
        elif answer.status_code == 401 and THROTTLED in answer.text:
            out.append("throttled")
        elif answer.status_code == 401 and CHECKED in answer.text:
            out.append("checked")
        else:
            out.append(f"unexpected {answer.status_code}")
    return out


def test_parallel_wrong_passwords_for_one_account_are_throttled(db_url, engine) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)
    with _server(db_url) as base:
        verdicts = _verdicts(_burst(base, [("a@example.com", WRONG, 0.0)] * 30))
        assert verdicts.count("checked") == users.MAX_FAILURES_PER_ACCOUNT, verdicts
        assert verdicts.count("throttled") == 30 - users.MAX_FAILURES_PER_ACCOUNT, verdicts
        # and the right password, sent after the burst, waits for the window too
        after = _verdicts(_burst(base, [("a@example.com", PASSWORD, 0.0)]))
        assert after == ["throttled"]


def test_the_right_password_inside_a_burst_of_wrong_ones_is_refused(db_url, engine) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)
    with _server(db_url) as base:
        burst = [("a@example.com", WRONG, 0.0)] * 29 + [("a@example.com", PASSWORD, 0.3)]
        verdicts = _verdicts(_burst(base, burst))
        assert verdicts[-1] == "throttled", verdicts
        assert verdicts.count("checked") == users.MAX_FAILURES_PER_ACCOUNT, verdicts


def test_parallel_attempts_from_one_address_are_throttled(db_url, engine) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)  # else /login leads to setup
    with _server(db_url) as base:
        burst = [(f"user{i}@example.com", WRONG, 0.0) for i in range(30)]
        verdicts = _verdicts(_burst(base, burst))
        assert verdicts.count("checked") == users.MAX_FAILURES_PER_ADDRESS, verdicts
        assert verdicts.count("throttled") == 30 - users.MAX_FAILURES_PER_ADDRESS, verdicts


def test_parallel_guesses_of_the_setup_code_are_throttled(db_url, engine) -> None:  # type: ignore[no-untyped-def]
    with _server(db_url) as base:
        clients = [
            httpx.Client(base_url=base, follow_redirects=False, timeout=60) for _ in range(30)
        ]
        try:
            tokens = [csrf_of(c.get("/setup").text, "/setup") for c in clients]
            start = threading.Barrier(30)

            def guess(i: int) -> httpx.Response:
                start.wait()
                form = {
                    "csrf_token": tokens[i],
                    "code": "00000000",
                    "email": "owner@example.com",
                    "password": PASSWORD,
                    "password2": PASSWORD,
                }
                return clients[i].post("/setup", data=form)

            with ThreadPoolExecutor(30) as pool:
                answers = list(pool.map(guess, range(30)))
        finally:
            for c in clients:
                c.close()
    checked = sum("not the code" in a.text for a in answers)
    throttled = sum(THROTTLED in a.text for a in answers)
    assert (checked, throttled) == (
        users.MAX_FAILURES_PER_ACCOUNT,
        30 - users.MAX_FAILURES_PER_ACCOUNT,
    )
