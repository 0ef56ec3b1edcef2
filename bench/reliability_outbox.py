"""Reliability figures for the outbox: N messages through a real SMTP server (aiosmtpd on
loopback) that injects faults at random, while the sender is killed (SIGKILL) K times at
random moments mid-send. Counts what must stay zero: messages delivered twice, messages lost
without being shown to staff, sends to clients who said no (do not contact, unsubscribed,
bounced address).

    .venv/bin/python bench/reliability_outbox.py --messages 300 --kills 50 --fault-rate 0.15

Each round runs a sender in a fresh process (deliver_due, as `keepwarm outbox send` does) on
a SQLite file, its clock two hours after the round before (so retries are due and what a
killed sender left `sending` is past its lease). Rounds go on until nothing is waiting.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from email.utils import make_msgid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.consent import record
from keepwarm.services.importing import import_file
from keepwarm.services.policy import set_policy_value
from keepwarm.store import connect, migrate, writing
from keepwarm.store import outbox as q
from keepwarm.store.tables import clients, outbox
from smtp_support import FaultyHandler, running_smtp

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
FROM = "Northside Physio <hello@northside.example>"
CLIENTS = 20
SAID_NO = {"C17": "do not contact", "C18": "unsubscribed", "C19": "bounced"}


def worker(url: str, smtp_url: str, offset_s: float) -> None:
    """One sender run (a subprocess): deliver what is due, the clock `offset_s` ahead."""
    from keepwarm.messaging.smtp import SmtpChannel
    from keepwarm.services.delivery import deliver_due

    engine = connect(url)
    settings = Settings(
        database_url=url, smtp_url=smtp_url, mail_from=FROM, base_url="https://kw.example.com"
    )
    channel = SmtpChannel(smtp_url, timeout=1.0)
    offset = dt.timedelta(seconds=offset_s)
    try:
        deliver_due(
            engine,
            settings,
            now_fn=lambda: dt.datetime.now(dt.UTC) + offset,
            channels={"email": channel},
            sleep=lambda s: None,
        )
    finally:
        channel.close()


def setup(url: str, folder: Path, n: int) -> None:
    engine = connect(url, create=True)
    migrate(engine)
    settings = Settings(database_url=url)
    lines = ["id,name,email"] + [f"C{i},Client {i},c{i}@example.com" for i in range(CLIENTS)]
    path = folder / "clients.csv"
    path.write_text("\n".join(lines) + "\n")
    assert import_file(engine, settings, ImportKind.CLIENTS, path, today=NOW.date(), now=NOW).ok
    set_policy_value(engine, "send_per_minute", "100000", now=NOW)
    set_policy_value(engine, "send_per_day", "100000", now=NOW)
    with writing(engine) as conn:
        people = list(conn.execute(sa.select(clients.c.id, clients.c.email).order_by(clients.c.id)))
        for i in range(n):
            who = people[i % len(people)]
            q.insert_message(
                conn,
                key=f"bench:{i}",
                kind="action",
                channel="email",
                client_id=who.id,
                to_address=who.email,
                subject="Hello",
                body=f"Message {i}",
                bulk=True,
                message_id=make_msgid(domain="northside.example"),
                token=secrets.token_urlsafe(24),
                state="queued",
                created_by="bench",
                created_at=NOW + dt.timedelta(seconds=i),
                updated_at=NOW,
            )
        # Said no after their messages were queued.
        ids = {r.external_id: r.id for r in conn.execute(sa.select(clients))}
        conn.execute(
            sa.update(clients).where(clients.c.external_id == "C17").values(do_not_contact=True)
        )
        record(
            conn,
            client_id=ids["C18"],
            channel="email",
            allowed=False,
            source="unsubscribe",
            actor="C18",
            now=NOW,
        )
        record(
            conn,
            client_id=ids["C19"],
            channel="email",
            allowed=False,
            source="bounce",
            actor="keepwarm",
            now=NOW,
            address="c19@example.com",
        )
    engine.dispose()


def waiting(url: str) -> int:
    engine = connect(url)
    with engine.connect() as conn:
        n = conn.execute(
            sa.select(sa.func.count())
            .select_from(outbox)
            .where(outbox.c.state.in_(["queued", "retry", "sending"]))
        ).scalar_one()
    engine.dispose()
    return int(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--fault-rate", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'reliability.db'}"
        setup(url, Path(tmp), args.messages)
        handler = FaultyHandler(hang_seconds=2.0, delay=0.01)
        handler.fail_at_random(args.fault_rate, args.seed)
        with running_smtp(handler) as (host, port, server):
            smtp_url = f"smtp://{host}:{port}"
            kills = rounds = 0
            while True:
                rounds += 1
                offset = rounds * 7200.0
                before = len(server.messages)
                sender = subprocess.Popen(
                    [sys.executable, __file__, "--worker", url, smtp_url, str(offset)],
                    stdout=subprocess.DEVNULL,
                )
                if kills < args.kills:
                    while len(server.messages) == before and sender.poll() is None:
                        time.sleep(0.002)
                    time.sleep(rng.uniform(0.0, 0.1))
                    if sender.poll() is None:
                        os.kill(sender.pid, signal.SIGKILL)
                        kills += 1
                sender.wait()
                if kills >= args.kills and sender.returncode == 0 and not waiting(url):
                    break
                if rounds > args.kills + 200:
                    raise SystemExit("the outbox never emptied")
            received = server.message_ids()
            recipients = Counter(to for _, tos in server.envelopes for to in tos)
            injected = dict(server.injected)
        engine = connect(url)
        with engine.connect() as conn:
            rows = list(conn.execute(sa.select(outbox)))
        engine.dispose()
    seconds = time.monotonic() - started
    states = Counter(r.state for r in rows)
    sent = {r.message_id for r in rows if r.state == "sent"}
    unknown = {r.message_id for r in rows if r.state == "unknown"}
    said_no = {f"c{k[1:]}@example.com" for k in SAID_NO}
    twice = sum(1 for n in received.values() if n > 1)
    lost = len(sent - set(received))  # marked sent, never arrived
    hidden = len(set(received) - sent - unknown)  # arrived, shown as not sent (failed/queued)
    stuck = sum(states[s] for s in ("queued", "retry", "sending"))
    to_said_no = sum(recipients[a] for a in said_no)
    print(f"messages {args.messages}, kills {kills}, rounds {rounds}, {seconds:.0f} s")
    print(f"faults injected {sum(injected.values())}: {dict(sorted(injected.items()))}")
    print(f"final states: {dict(sorted(states.items()))}")
    print(f"delivered twice: {twice}")
    print(f"lost without being shown to staff: {lost + hidden + stuck}")
    print(f"sends to do-not-contact/unsubscribed/bounced: {to_said_no}")
    if twice or lost or hidden or stuck or to_said_no:
        raise SystemExit(1)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        main()
