"""Benchmark: reading bounces (`check_bounces`: IMAP search and fetch, DSN parsing, one
transaction per message with the outbox lookup and the consent event, \\Seen) from a real
Dovecot on loopback, against a baseline in the same run: fetching and parsing the same
messages with imaplib and the DSN reader alone, without the database.

    .venv/bin/python bench/bench_bounces.py --messages 200 --runs 3

Prints messages per second, the median of `--runs` (SQLite).
"""

from __future__ import annotations

import argparse
import datetime as dt
import imaplib
import platform
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from imap_support import SECRET, USER, running_dovecot
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.messaging.dsn import read_bounce
from keepwarm.services.bounces import check_bounces
from keepwarm.services.importing import import_file
from keepwarm.store import connect, migrate, writing
from keepwarm.store import outbox as q
from keepwarm.store.tables import clients
from test_bounces import dsn

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def prepare(url: str, folder: Path, n: int) -> sa.Engine:
    engine = connect(url, create=True)
    migrate(engine)
    lines = ["id,name,email"] + [f"C{i},Client {i},c{i}@example.com" for i in range(n)]
    path = folder / "clients.csv"
    path.write_text("\n".join(lines) + "\n")
    settings = Settings(database_url=url)
    assert import_file(engine, settings, ImportKind.CLIENTS, path, today=NOW.date(), now=NOW).ok
    return engine


def sent_messages(engine: sa.Engine, run: int) -> list[tuple[str, str]]:
    """One sent message per client: (address, Message-ID)."""
    out = []
    with writing(engine) as conn:
        for who in conn.execute(sa.select(clients.c.id, clients.c.email)):
            message_id = f"<bench-{run}-{who.id}@northside.example>"
            q.insert_message(
                conn,
                key=f"bench:{run}:{who.id}",
                kind="action",
                channel="email",
                client_id=who.id,
                to_address=who.email,
                body="Hello",
                message_id=message_id,
                token=secrets.token_urlsafe(24),
                state="sent",
                created_by="bench",
                created_at=NOW,
                updated_at=NOW,
            )
            out.append((who.email, message_id))
    return out


def deliver(server: object, sent: list[tuple[str, str]], run: int) -> None:
    for i, (address, message_id) in enumerate(sent):
        status = "5.1.1" if i % 2 == 0 else "4.2.2"  # half hard, half soft
        action = "failed" if i % 2 == 0 else "delayed"
        own = f"<dsn-{run}-{i}@mx.example.net>"
        server.append(dsn(address, status, action=action, original=message_id, own_id=own))  # type: ignore[attr-defined]


def baseline(port: int) -> float:
    """Fetch and parse every message of INBOX with imaplib alone (no database)."""
    started = time.perf_counter()
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login(USER, SECRET)
    imap.select("INBOX", readonly=True)
    _, data = imap.uid("SEARCH", "ALL")
    uids = data[0].split()
    for uid in uids:
        _, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[])")
        assert read_bounce(fetched[0][1]) is not None
    imap.logout()
    return len(uids) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rates, bases = [], []
    with running_dovecot() as server, tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            folder = Path(tmp) / f"run{run}"
            folder.mkdir()
            url = f"sqlite:///{folder / 'bench.db'}"
            engine = prepare(url, folder, args.messages)
            server.empty()
            deliver(server, sent_messages(engine, run), run)
            bases.append(baseline(server.port))
            settings = Settings(database_url=url, imap_url=server.url)
            started = time.perf_counter()
            report = check_bounces(engine, settings, now=NOW, limit=args.messages)
            rates.append(args.messages / (time.perf_counter() - started))
            assert report.hard + report.soft == args.messages, report.summary()
            engine.dispose()
    print(f"{platform.python_implementation()} {platform.python_version()}, {args.messages} DSNs")
    print(f"check_bounces (SQLite): {statistics.median(rates):.0f} messages/s")
    print(f"baseline (imaplib fetch + parse only): {statistics.median(bases):.0f} messages/s")


if __name__ == "__main__":
    main()
