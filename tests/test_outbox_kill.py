"""A sender killed (kill -9) at random moments while it delivers to a real SMTP server never
sends a message twice, loses none from staff's sight, and never writes to someone who said no.

`keepwarm outbox send` runs as a subprocess on a SQLite file and is killed again and again
(fixed seed) while the loopback server (aiosmtpd) takes messages; then a last run settles what
the killed senders left `sending` (unknown, after the lease) and sends the rest."""

from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from email.utils import make_msgid
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW
from keepwarm.config import Settings
from keepwarm.services.consent import set_consent
from keepwarm.services.delivery import deliver_due
from keepwarm.services.policy import set_policy_value
from keepwarm.store import connect, migrate, writing
from keepwarm.store import outbox as q
from keepwarm.store.tables import clients, outbox
from smtp_support import FaultyHandler, running_smtp
from test_web_today import _practice

pytestmark = pytest.mark.slow

KILLS = 20
MESSAGES = 300
FROM = "Northside Physio <hello@northside.example>"


def _queue(engine: sa.Engine, n: int) -> None:
    """`n` queued emails, spread over the five clients, oldest first."""
    with writing(engine) as conn:
        people = list(conn.execute(sa.select(clients.c.id, clients.c.email).order_by(clients.c.id)))
        for i in range(n):
            who = people[i % len(people)]
            q.insert_message(
                conn,
                key=f"kill:{i}",
                kind="action",
                channel="email",
                client_id=who.id,
                to_address=who.email,
                subject="Hello",
                body=f"Message {i}",
                personal=True,
                bulk=True,
                message_id=make_msgid(domain="northside.example"),
                token=secrets.token_urlsafe(24),
                state="queued",
                created_by="test",
                created_at=NOW + dt.timedelta(seconds=i),
                updated_at=NOW,
            )


def test_kill_9_at_random_moments_sends_nothing_twice_and_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    engine = connect(url, create=True)
    migrate(engine)
    settings = Settings(database_url=url)
    _practice(engine, settings, tmp_path)
    set_policy_value(engine, "send_per_minute", "100000", now=NOW)
    set_policy_value(engine, "send_per_day", "100000", now=NOW)
    _queue(engine, MESSAGES)
    # Said no after their messages were queued: C3 unsubscribed, C4 do not contact.
    set_consent(engine, "C3", "email", False, actor="C3", now=NOW, source="unsubscribe")
    with writing(engine) as conn:
        conn.execute(
            sa.update(clients).where(clients.c.external_id == "C4").values(do_not_contact=True)
        )
    refused = {"c3@example.com", "c4@example.com"}

    rng = random.Random(20261124)
    keepwarm = Path(sys.executable).parent / "keepwarm"
    with running_smtp(FaultyHandler(delay=0.02)) as (host, port, server):
        mail = settings.replace(
            smtp_url=f"smtp://{host}:{port}", mail_from=FROM, base_url="https://kw.example.com"
        )
        env = {
            **os.environ,
            "KEEPWARM_DATABASE_URL": url,
            "KEEPWARM_SMTP_URL": mail.smtp_url or "",
            "KEEPWARM_MAIL_FROM": FROM,
            "KEEPWARM_BASE_URL": "https://kw.example.com",
        }
        kills = 0
        for _ in range(2 * KILLS):
            if kills == KILLS:
                break
            before = len(server.messages)
            sender = subprocess.Popen(
                [str(keepwarm), "outbox", "send"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            # Kill while it sends: after its first message arrived, at a random moment (the
            # server takes 20 ms a message: at most ~8 more, so 20 kills never empty the queue).
            while len(server.messages) == before and sender.poll() is None:
                assert time.monotonic() < deadline, "the sender never sent"
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.15))
            if sender.poll() is None:
                os.kill(sender.pid, signal.SIGKILL)
                kills += 1
            sender.wait()
        assert kills == KILLS  # every one killed mid-send

        # What a killed sender left `sending` is unknown after the lease; the rest is sent.
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)
        while deliver_due(engine, mail, now_fn=lambda: later).outcomes:
            pass
        received = server.message_ids()
        recipients = [to for _, tos in server.envelopes for to in tos]

    with engine.connect() as conn:
        rows = list(conn.execute(sa.select(outbox)))
    engine.dispose()
    by_state: dict[str, set[str]] = {}
    for row in rows:
        by_state.setdefault(row.state, set()).add(row.message_id)
    assert all(n == 1 for n in received.values()), "a message was delivered twice"
    assert not refused & set(recipients), "a message went to a client who said no"
    assert set(by_state) <= {"sent", "unknown", "failed"}  # none left sending or queued
    # Every message the server has is sent or shown to staff as unknown; every one marked
    # sent is at the server.
    assert set(received) <= by_state["sent"] | by_state.get("unknown", set())
    assert by_state["sent"] <= set(received)
    # The refused ones failed with the reason, never sent; everyone else's arrived or is
    # visible as unknown.
    failed = [r for r in rows if r.state == "failed"]
    assert failed and all(r.last_error.startswith("not sent: ") for r in failed)
    assert {r.to_address for r in failed} == refused
    assert len(rows) == MESSAGES
