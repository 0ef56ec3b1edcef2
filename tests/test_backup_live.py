"""`keepwarm backup` and `keepwarm restore` as real commands while a real `keepwarm serve`
process keeps answering API writes: the copy is one consistent snapshot, the restore is seen by
the running server, and nobody gets a 5xx."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from keepwarm.services.users import add_user, create_token
from keepwarm.store import connect
from test_backup import _seeded
from test_web_throttle import _server
from web_support import PASSWORD

OWNER = "owner@example.com"
TIMEOUT = 300  # seconds for one command on a slow, shared machine


def _keepwarm(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "keepwarm.cli", *args, "--db", str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@dataclass
class Writer:
    """Adds clients L000000, L000001, … one after another through POST /api/v1/clients (the
    client and its audit entry are one transaction), and reads the client list in between."""

    base: str
    token: str
    sent: int = 0  # requests sent so far: L000000 … L{sent-1}
    acked: list[str] = field(default_factory=list)  # ids the server answered 201 for
    answered: int = 0
    failures: list[str] = field(default_factory=list)  # 5xx, other answers, transport errors
    reads: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=120) as http:
            while not self.stop.is_set():
                with self.changed:
                    n = self.sent
                    self.sent += 1
                client_id = f"L{n:06d}"
                body = {"id": client_id, "name": f"Live {n}", "email": f"live{n}@example.com"}
                try:
                    answer = http.post("/api/v1/clients", json=body)
                    listed = http.get("/api/v1/clients", params={"limit": 1})
                except httpx.HTTPError as exc:
                    problem: str | None = f"{client_id}: {exc!r}"
                else:
                    problem = None
                    if answer.status_code != 201:
                        problem = f"{client_id}: {answer.status_code} {answer.text[:300]}"
                    elif listed.status_code != 200:
                        problem = f"list: {listed.status_code} {listed.text[:300]}"
                with self.changed:
                    if problem is None:
                        self.acked.append(client_id)
                        self.reads += 1
                    else:
                        self.failures.append(problem)
                    self.answered += 1
                    self.changed.notify_all()

    def wait_for_acks(self, n: int) -> None:
        with self.changed:
            assert self.changed.wait_for(
                lambda: len(self.acked) >= n or self.failures, timeout=TIMEOUT
            ), "the server stopped answering"
            assert not self.failures, self.failures

    def settled(self) -> list[str]:
        """Every id sent so far, once the request in flight has its answer: the ids the server
        acknowledged up to now."""
        with self.changed:
            sent = self.sent
            assert self.changed.wait_for(lambda: self.answered >= sent, timeout=TIMEOUT)
            return list(self.acked)


@contextlib.contextmanager
def _writing(base: str, token: str) -> Iterator[Writer]:
    writer = Writer(base, token)
    thread = threading.Thread(target=writer.run, daemon=True)
    thread.start()
    try:
        yield writer
    finally:
        writer.stop.set()
        thread.join(timeout=TIMEOUT)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """A SQLite database of 3,000 clients, an owner with an API token, and `keepwarm serve`
    running on it: (database, base URL, token)."""
    db = _seeded(tmp_path)
    engine = connect(f"sqlite:///{db}")
    now = dt.datetime.now(dt.UTC)
    owner = add_user(engine, OWNER, PASSWORD, "owner", now=now)
    token = create_token(engine, owner.id, "writer", now=now)
    engine.dispose()
    with _server(f"sqlite:///{db}") as base:
        yield db, base, token


def _live_clients(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT external_id FROM clients WHERE external_id LIKE 'L%' ORDER BY external_id"
            )
        ]


def _check_whole(path: Path) -> None:
    """Integrity ok, and every client the writer added has its audit entry, and no entry is
    without its client: each add is whole."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        unaudited = conn.execute(
            "SELECT external_id FROM clients c WHERE external_id LIKE 'L%' AND NOT EXISTS "
            "(SELECT 1 FROM audit_log a WHERE a.client_id = c.id AND a.action = 'client-edit'"
            " AND a.actor = ?)",
            (OWNER,),
        ).fetchall()
        assert unaudited == []
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'client-edit' AND actor = ?", (OWNER,)
        ).fetchone()[0]
    assert audited == len(_live_clients(path))


def test_a_backup_and_a_restore_while_the_server_keeps_adding_clients(
    served: tuple[Path, str, str], tmp_path: Path
) -> None:
    db, base, token = served
    copy = tmp_path / "backups" / "copy.db"
    with _writing(base, token) as writer:
        writer.wait_for_acks(5)
        with writer.changed:
            before = len(writer.acked)  # committed before the backup started
        backed_up = _keepwarm(db, "backup", str(copy), "--step", "2")
        after = writer.settled()  # acknowledged by the backup's end
        assert backed_up.returncode == 0, backed_up.stdout + backed_up.stderr
        assert "integrity ok" in backed_up.stdout
        assert len(after) > before, "no write was acknowledged while the backup ran"

        # The copy: sound, each add whole, and one moment of the writer's sequence: a run of
        # its first adds, at least those acknowledged before and at most those by the end.
        _check_whole(copy)
        in_copy = _live_clients(copy)
        assert in_copy == after[: len(in_copy)]
        assert before <= len(in_copy) <= len(after)
        assert str(3000 + len(in_copy)) + " clients" in backed_up.stdout

        # Clients added after the backup, acknowledged before the restore starts.
        writer.wait_for_acks(len(after) + 3)
        with writer.changed:
            later = writer.acked[len(in_copy) :]
        restored = _keepwarm(db, "restore", str(copy), "--yes")
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "Restored" in restored.stdout
        done = writer.settled()  # acknowledged by the restore's end
        writer.wait_for_acks(len(done) + 5)  # and the server goes on adding after it
        assert not writer.failures, writer.failures

        # What the server answers now is the restored content, plus what it added after.
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as http:
            for client_id in later:
                gone = http.get(f"/api/v1/clients/{client_id}")
                assert gone.status_code == 404, (client_id, gone.status_code)
            for client_id in (in_copy[0], in_copy[-1], "C00017"):
                assert http.get(f"/api/v1/clients/{client_id}").status_code == 200, client_id
            newest = writer.settled()[-1]
            assert http.get(f"/api/v1/clients/{newest}").status_code == 200
    assert not writer.failures, writer.failures
    assert writer.reads == len(writer.acked)

    # The live database afterwards: sound, each add whole, the schema exactly keepwarm's; it
    # holds the copy's adds, none of those it replaced, and every add acknowledged since.
    _check_whole(db)
    assert _keepwarm(db, "db", "check").returncode == 0
    now_live = _live_clients(db)
    assert now_live[: len(in_copy)] == in_copy
    assert not set(later) & set(now_live)
    assert set(writer.acked[len(done) :]) <= set(now_live)
    # The content the restore replaced is kept beside the database, with every acknowledged add.
    (saved,) = tmp_path.glob("live.db.before-restore-*")
    _check_whole(saved)
    assert set(later) <= set(_live_clients(saved))
