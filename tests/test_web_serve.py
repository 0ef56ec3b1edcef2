"""`keepwarm serve` end to end: a real server process on loopback, its one-time setup code,
and the owner's account created through the setup page with that code."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from web_support import PASSWORD, csrf_of


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_prints_a_one_time_code_that_creates_the_owner(tmp_path: Path) -> None:
    db = tmp_path / "practice.db"
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    init = subprocess.run(
        [sys.executable, "-m", "keepwarm.cli", "init", "--db", str(db)],
        env=env,
        capture_output=True,
    )
    assert init.returncode == 0, init.stderr
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "keepwarm.cli", "serve", "--port", str(port), "--db", str(db)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = [server.stdout.readline() for _ in range(2)]  # type: ignore[union-attr]
        assert f"running at http://127.0.0.1:{port}" in lines[0]
        code = re.search(r"one-time code: (\d{4}) (\d{4})", lines[1])
        assert code, lines
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, follow_redirects=False) as web:
            for _ in range(100):
                try:
                    if web.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            page = web.get("/setup")
            assert page.status_code == 200 and "One-time code" in page.text
            form = {"csrf_token": csrf_of(page.text, "/setup"), "email": "me@example.com"}
            form |= {"password": PASSWORD, "password2": PASSWORD}
            wrong = web.post("/setup", data={**form, "code": "99999999"})
            assert wrong.status_code == 400
            done = web.post("/setup", data={**form, "code": code.group(1) + code.group(2)})
            assert done.status_code == 303 and done.headers["location"] == "/today"
            assert web.get("/today").status_code == 200
            assert web.get("/setup").headers["location"] == "/login"  # used: gone
    finally:
        server.terminate()
        server.wait(timeout=10)
    listed = subprocess.run(
        [sys.executable, "-m", "keepwarm.cli", "user", "list", "--db", str(db)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "me@example.com  owner" in listed.stdout
