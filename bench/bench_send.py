"""Benchmark: sending throughput of the outbox (`deliver_due`: claim, consent check, budget,
send, record the touch, one transaction each side of the network call) to a local SMTP server
(aiosmtpd on loopback), against a baseline in the same run: plain smtplib sending the same
messages on one connection, without the outbox.

    .venv/bin/python bench/bench_send.py --messages 300 --runs 5 [--pg postgresql://...]

Prints messages per second, the median of `--runs`, for SQLite (and PostgreSQL with --pg).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import secrets
import smtplib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy as email_policy
from email.utils import make_msgid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.messaging.channels import OutgoingMessage
from keepwarm.messaging.email_message import build_email
from keepwarm.messaging.smtp import SmtpChannel
from keepwarm.services.delivery import deliver_due
from keepwarm.services.importing import import_file
from keepwarm.services.policy import set_policy_value
from keepwarm.store import connect, migrate, writing
from keepwarm.store import outbox as q
from keepwarm.store.tables import clients
from smtp_support import running_smtp

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
FROM = "Northside Physio <hello@northside.example>"
BASE = "https://kw.example.com"
CLIENTS = 50


def prepare(url: str, folder: Path) -> sa.Engine:
    engine = connect(url, create=True)
    migrate(engine)
    lines = ["id,name,email"] + [f"C{i},Client {i},c{i}@example.com" for i in range(CLIENTS)]
    path = folder / "clients.csv"
    path.write_text("\n".join(lines) + "\n")
    settings = Settings(database_url=url)
    assert import_file(engine, settings, ImportKind.CLIENTS, path, today=NOW.date(), now=NOW).ok
    set_policy_value(engine, "send_per_minute", "100000", now=NOW)
    set_policy_value(engine, "send_per_day", "100000", now=NOW)
    return engine


def queue(engine: sa.Engine, n: int, run: int) -> None:
    with writing(engine) as conn:
        people = list(conn.execute(sa.select(clients.c.id, clients.c.email)))
        for i in range(n):
            who = people[i % len(people)]
            q.insert_message(
                conn,
                key=f"bench:{run}:{i}",
                kind="action",
                channel="email",
                client_id=who.id,
                to_address=who.email,
                subject="Hello",
                body=f"Dear client,\n\nmessage {i} of run {run}.\n\nDana",
                bulk=True,
                message_id=make_msgid(domain="northside.example"),
                token=secrets.token_urlsafe(24),
                state="queued",
                created_by="bench",
                created_at=NOW,
                updated_at=NOW,
            )


def outbox_rate(engine: sa.Engine, settings: Settings, n: int, run: int) -> float:
    queue(engine, n, run)
    channel = SmtpChannel(settings.smtp_url or "")
    started = time.perf_counter()
    report = deliver_due(
        engine, settings, now_fn=lambda: dt.datetime.now(dt.UTC), channels={"email": channel}
    )
    seconds = time.perf_counter() - started
    channel.close()
    assert report.sent == n, report.summary()
    return n / seconds


def baseline_rate(host: str, port: int, n: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        for i in range(n):
            message = OutgoingMessage(
                outbox_id=i,
                channel="email",
                to=f"c{i % CLIENTS}@example.com",
                body=f"Dear client,\n\nmessage {i}.\n\nDana",
                message_id=make_msgid(domain="northside.example"),
                subject="Hello",
                sender=FROM,
                unsubscribe_url=f"{BASE}/unsubscribe/{secrets.token_urlsafe(24)}",
            )
            content = build_email(message).as_bytes(policy=email_policy.SMTP)
            smtp.sendmail("hello@northside.example", [message.to], content)
    return n / (time.perf_counter() - started)


def outbox_median(url: str, tmp: Path, smtp_url: str, args: argparse.Namespace) -> float:
    engine = prepare(url, tmp)
    settings = Settings(database_url=url, smtp_url=smtp_url, mail_from=FROM, base_url=BASE)
    rates = [outbox_rate(engine, settings, args.messages, r) for r in range(args.runs)]
    engine.dispose()
    return statistics.median(rates)


@contextmanager
def own_schema(url: str) -> Iterator[str]:
    """A PostgreSQL URL on a fresh schema of its own, dropped afterwards (SQLite: as is)."""
    if not url.startswith("postgres"):
        yield url
        return
    admin = connect(url)
    schema = "kwbench_" + secrets.token_hex(6)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    own = sa.make_url(admin.url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield own.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--pg", help="also on this PostgreSQL database (in a schema of its own, dropped after)"
    )
    args = parser.parse_args()
    print(f"{platform.python_version()} on {platform.machine()}, {args.messages} messages")
    with tempfile.TemporaryDirectory() as tmp, running_smtp() as (host, port, server):
        smtp_url = f"smtp://{host}:{port}"
        base = [baseline_rate(host, port, args.messages) for _ in range(args.runs)]
        print(f"baseline, smtplib on one connection: {statistics.median(base):.0f} messages/s")
        urls = [("SQLite", f"sqlite:///{Path(tmp) / 'send.db'}")]
        if args.pg:
            urls.append(("PostgreSQL", args.pg))
        for name, url in urls:
            with own_schema(url) as own:
                rate = outbox_median(own, Path(tmp), smtp_url, args)
            share = rate / statistics.median(base)
            print(f"outbox on {name}: {rate:.0f} messages/s ({share:.0%} of the baseline)")
        assert len(server.messages) == args.messages * args.runs * (1 + len(urls))


if __name__ == "__main__":
    main()
