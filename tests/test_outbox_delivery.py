"""Delivering the outbox to a real SMTP server on loopback (aiosmtpd), each message at most
once: the email's parts and headers, every way a server can refuse or fall silent, two senders
at once, consent withdrawn after queuing, the sending budget and texts' quiet hours. On SQLite
and PostgreSQL; only the clock is mocked."""

from __future__ import annotations

import datetime as dt
import secrets
import ssl
import threading
import time
from collections.abc import Iterator
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.messaging.channels import Outcome, OutgoingMessage
from keepwarm.messaging.smtp import SmtpChannel, is_loopback
from keepwarm.services import background
from keepwarm.services import outbox as svc
from keepwarm.services.consent import set_consent
from keepwarm.services.delivery import STOPPED, deliver_due
from keepwarm.services.policy import set_policy_value
from keepwarm.services.todays_list import todays_list
from keepwarm.store import outbox as q
from keepwarm.store import writing
from keepwarm.store.tables import actions, clients, staff
from smtp_support import (
    FaultyHandler,
    free_port,
    greeting_421,
    own_address,
    running_smtp,
    self_signed,
)
from test_web_today import _practice

FROM = "Northside Physio <hello@northside.example>"
BASE = "https://keepwarm.example.com"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[str, int, FaultyHandler]]:
    with running_smtp(FaultyHandler(hang_seconds=2.0)) as server:
        yield server


@pytest.fixture
def server(smtp: tuple[str, int, FaultyHandler]) -> FaultyHandler:
    handler = smtp[2]
    handler.clear()
    handler.messages.clear()
    handler.envelopes.clear()
    return handler


@pytest.fixture
def mail(settings: Settings, smtp: tuple[str, int, FaultyHandler]) -> Settings:
    host, port, _ = smtp
    return settings.replace(smtp_url=f"smtp://{host}:{port}", mail_from=FROM, base_url=BASE)


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    _practice(engine, settings, tmp_path)
    return engine


def _clock(at: dt.datetime = NOW) -> Any:
    return lambda: at


def _queue_dana(engine: sa.Engine, mail: Settings, body: str | None = None) -> tuple[int, int]:
    """Queue Dana's first action by email; (outbox id, action id)."""
    action_id = next(a.id for a in todays_list(engine, "Dana", day=TODAY))
    written = svc.Written(subject="A note from Dana", body=body)
    outbox_id = svc.queue_action(
        engine, mail, action_id, "email", written=written, by=None, day=TODAY, now=NOW
    )
    return outbox_id, action_id


def _insert(
    engine: sa.Engine,
    n: int,
    *,
    client: str = "C1",
    channel: str = "email",
    bulk: bool = True,
    at: dt.datetime = NOW,
) -> list[int]:
    """`n` queued messages to `client` written straight into the outbox."""
    with writing(engine) as conn:
        row = conn.execute(
            sa.select(clients.c.id, clients.c.email, clients.c.phone).where(
                clients.c.external_id == client
            )
        ).one()
        return [
            q.insert_message(
                conn,
                key=f"test:{secrets.token_hex(8)}",
                kind="action",
                channel=channel,
                client_id=row.id,
                to_address=row.email if channel == "email" else row.phone,
                subject="Hello" if channel == "email" else None,
                body=f"Message {i}",
                personal=True,
                bulk=bulk,
                message_id=make_msgid(domain="northside.example"),
                token=secrets.token_urlsafe(24),
                state="queued",
                created_by="test",
                created_at=at + dt.timedelta(seconds=i),
                updated_at=at,
            )
            for i in range(n)
        ]


def _row(engine: sa.Engine, outbox_id: int) -> Any:
    with engine.connect() as conn:
        return q.get(conn, outbox_id)


def _action_status(engine: sa.Engine, action_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(sa.select(actions.c.status).where(actions.c.id == action_id)).scalar_one()
        )


def test_an_email_arrives_as_text_and_html_from_the_practice_replying_to_the_member(
    practice, mail, server
) -> None:  # type: ignore[no-untyped-def]
    with writing(practice) as conn:
        conn.execute(
            sa.update(staff).where(staff.c.name == "Dana").values(email="dana@north.example")
        )
        conn.execute(
            sa.update(clients)
            .where(clients.c.external_id == "C0")
            .values(name="<script>alert(1)</script> Smith")
        )
    body = "Dear <script>alert(1)</script> Smith,\nhow are you?\n\nDana"
    outbox_id, _ = _queue_dana(practice, mail, body)
    report = deliver_due(practice, mail, now_fn=_clock())
    assert (report.sent, report.outcomes) == (1, {outbox_id: "sent"})
    [email] = server.messages
    row = _row(practice, outbox_id)
    assert email.get_content_type() == "multipart/alternative"
    assert email["From"] == FROM and email["To"] == "c0@example.com"
    assert email["Reply-To"] == "Dana <dana@north.example>"
    assert email["Subject"] == "A note from Dana" and email["Message-ID"] == row.message_id
    assert email["Date"]
    unsubscribe = f"{BASE}/unsubscribe/{row.token}"
    assert email["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = (
        part.get_payload(decode=True).decode().replace("\r\n", "\n") for part in email.get_payload()
    )
    assert text.startswith("Dear <script>alert(1)</script> Smith,\nhow are you?\n\nDana")
    assert unsubscribe in text
    assert "<script>" not in html
    assert "Dear &lt;script&gt;alert(1)&lt;/script&gt; Smith,<br>\nhow are you?</p>" in html
    assert "<p>Dana</p>" in html and f'href="{unsubscribe}"' in html
    assert server.envelopes == [("hello@northside.example", ["c0@example.com"])]


def test_a_message_that_is_not_bulk_carries_no_unsubscribe_headers(practice, mail, server) -> None:  # type: ignore[no-untyped-def]
    [outbox_id] = _insert(practice, 1, bulk=False)
    deliver_due(practice, mail, now_fn=_clock())
    [email] = server.messages
    assert email["List-Unsubscribe"] is None and email["List-Unsubscribe-Post"] is None
    assert email["Reply-To"] is None
    assert "unsubscribe" not in email.as_string().lower()
    assert _row(practice, outbox_id).state == "sent"


def test_a_sent_message_records_the_touch_on_the_clients_timeline(practice, mail, server) -> None:  # type: ignore[no-untyped-def]
    outbox_id, action_id = _queue_dana(practice, mail)
    deliver_due(practice, mail, now_fn=_clock())
    row = _row(practice, outbox_id)
    assert (row.state, row.sent_at, row.attempts) == ("sent", NOW, 1) or (
        row.state == "sent" and row.sent_at.replace(tzinfo=dt.UTC) == NOW
    )
    assert row.touch_id is not None
    with practice.connect() as conn:
        touch = conn.execute(
            sa.select(actions.c.touch_id).where(actions.c.id == action_id)
        ).scalar_one()
    assert touch == row.touch_id
    assert deliver_due(practice, mail, now_fn=_clock()).outcomes == {}  # nothing twice
    assert len(server.messages) == 1


@pytest.mark.parametrize("refusal", ["connection refused", "421 greeting"])
def test_a_server_refusing_before_the_message_is_retried_later(
    practice, mail, server, refusal
) -> None:  # type: ignore[no-untyped-def]
    outbox_id, action_id = _queue_dana(practice, mail)
    if refusal == "connection refused":
        channel = SmtpChannel(f"smtp://127.0.0.1:{free_port()}", timeout=5)
        report = deliver_due(practice, mail, now_fn=_clock(), channels={"email": channel})
    else:
        with greeting_421() as port:
            channel = SmtpChannel(f"smtp://127.0.0.1:{port}", timeout=5)
            report = deliver_due(practice, mail, now_fn=_clock(), channels={"email": channel})
    row = _row(practice, outbox_id)
    assert report.retry == 1 and row.state == "retry" and row.attempts == 1
    assert row.next_attempt_at.replace(tzinfo=dt.UTC) == NOW + dt.timedelta(minutes=1)
    assert _action_status(practice, action_id) == "done"  # still on its way
    # Not due yet; a minute later it goes out through the working server.
    assert deliver_due(practice, mail, now_fn=_clock()).outcomes == {}
    later = NOW + dt.timedelta(minutes=1)
    assert deliver_due(practice, mail, now_fn=_clock(later)).outcomes == {outbox_id: "sent"}
    assert len(server.messages) == 1


def test_a_busy_mailbox_4xx_on_rcpt_is_retried_with_backoff(practice, mail, server) -> None:  # type: ignore[no-untyped-def]
    [outbox_id] = _insert(practice, 1)
    server.fail("rcpt_4xx", times=2)
    deliver_due(practice, mail, now_fn=_clock())
    first = _row(practice, outbox_id)
    assert first.state == "retry" and "450" in first.last_error
    at = first.next_attempt_at.replace(tzinfo=dt.UTC)
    deliver_due(practice, mail, now_fn=_clock(at))
    second = _row(practice, outbox_id)
    assert second.state == "retry" and second.attempts == 2
    assert second.next_attempt_at.replace(tzinfo=dt.UTC) == at + dt.timedelta(minutes=2)
    assert server.messages == []
    deliver_due(practice, mail, now_fn=_clock(at + dt.timedelta(minutes=2)))
    assert _row(practice, outbox_id).state == "sent" and len(server.messages) == 1


def test_an_unknown_user_5xx_fails_the_message_and_puts_the_action_back_on_the_list(
    practice, mail, server
) -> None:  # type: ignore[no-untyped-def]
    outbox_id, action_id = _queue_dana(practice, mail)
    assert _action_status(practice, action_id) == "done"
    server.fail("rcpt_5xx")
    report = deliver_due(practice, mail, now_fn=_clock())
    row = _row(practice, outbox_id)
    assert report.failed == 1 and row.state == "failed" and "550" in row.last_error
    assert _action_status(practice, action_id) == "open"
    assert action_id in {a.id for a in todays_list(practice, "Dana", day=TODAY)}
    assert server.messages == [] and row.touch_id is None


@pytest.mark.parametrize("fault", ["drop_after_data", "hang_after_data"])
def test_silence_after_the_message_went_out_is_unknown_and_never_resent(
    practice, mail, server, fault
) -> None:  # type: ignore[no-untyped-def]
    outbox_id, action_id = _queue_dana(practice, mail)
    server.fail(fault)
    channel = SmtpChannel(mail.smtp_url, timeout=0.5)
    report = deliver_due(practice, mail, now_fn=_clock(), channels={"email": channel})
    channel.close()
    row = _row(practice, outbox_id)
    assert report.unknown == 1 and row.state == "unknown"
    assert "may have arrived" in row.last_error
    assert _action_status(practice, action_id) == "done"  # staff decide, with the message
    later = NOW + dt.timedelta(hours=2)
    assert deliver_due(practice, mail, now_fn=_clock(later)).outcomes == {}
    assert _row(practice, outbox_id).state == "unknown"
    assert server.message_ids() == {row.message_id: 1}


def test_two_senders_racing_deliver_each_message_exactly_once(practice, mail, server) -> None:  # type: ignore[no-untyped-def]
    set_policy_value(practice, "send_per_minute", "100", now=NOW)
    ids = _insert(practice, 12, client="C1") + _insert(practice, 12, client="C2")
    start = threading.Barrier(2)
    reports = []

    def sender() -> None:
        start.wait()
        reports.append(deliver_due(practice, mail, now_fn=_clock()))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = server.message_ids()
    assert len(counts) == len(ids) and set(counts.values()) == {1}
    assert sum(r.sent for r in reports) == len(ids)
    assert sum(r.skipped for r in reports) == sum(len(r.outcomes) for r in reports) - len(
        ids
    ) + sum(r.skipped for r in reports)
    with practice.connect() as conn:
        assert q.state_counts(conn) == {"sent": len(ids)}


@pytest.mark.parametrize("withdrawn", ["unsubscribed", "do not contact"])
def test_consent_withdrawn_after_queuing_stops_the_message(
    practice, mail, server, withdrawn
) -> None:  # type: ignore[no-untyped-def]
    outbox_id, action_id = _queue_dana(practice, mail)
    if withdrawn == "unsubscribed":
        set_consent(practice, "C0", "email", False, actor="C0", now=NOW, source="unsubscribe")
    else:
        with writing(practice) as conn:
            conn.execute(
                sa.update(clients).where(clients.c.external_id == "C0").values(do_not_contact=True)
            )
    report = deliver_due(practice, mail, now_fn=_clock())
    row = _row(practice, outbox_id)
    assert server.messages == []
    assert report.failed == 1 and row.state == "failed" and row.attempts == 0
    assert row.last_error.startswith("not sent: ") and withdrawn in row.last_error
    assert _action_status(practice, action_id) == "open"


def test_the_budget_lets_three_a_minute_leave_and_keeps_the_rest(practice, mail, server) -> None:  # type: ignore[no-untyped-def]
    set_policy_value(practice, "send_per_minute", "3", now=NOW)
    ids = _insert(practice, 10)
    report = deliver_due(practice, mail, now_fn=_clock())
    assert (report.sent, report.throttled) == (3, 7)
    assert report.wait_until is not None
    assert [m["Message-ID"] for m in server.messages] == [
        _row(practice, i).message_id for i in ids[:3]
    ]
    # The same minute: nothing; a minute later: three more.
    assert deliver_due(practice, mail, now_fn=_clock()).sent == 0
    later = deliver_due(practice, mail, now_fn=_clock(NOW + dt.timedelta(seconds=61)))
    assert later.sent == 3 and len(server.messages) == 6


def test_the_daily_budget_stops_sending_until_the_next_day(practice, mail, server) -> None:  # type: ignore[no-untyped-def]
    set_policy_value(practice, "send_per_day", "4", now=NOW)
    _insert(practice, 6)
    assert deliver_due(practice, mail, now_fn=_clock()).sent == 4
    assert deliver_due(practice, mail, now_fn=_clock(NOW + dt.timedelta(hours=2))).sent == 0
    assert deliver_due(practice, mail, now_fn=_clock(NOW + dt.timedelta(days=1))).sent == 2


def test_a_text_in_quiet_hours_waits_until_they_end(practice, mail, server) -> None:  # type: ignore[no-untyped-def]
    set_policy_value(practice, "time_zone", "America/Los_Angeles", now=NOW)
    set_consent(practice, "C1", "sms", True, actor="Dana", now=NOW, source="request")
    [outbox_id] = _insert(practice, 1, channel="sms")
    zone = ZoneInfo("America/Los_Angeles")
    evening = dt.datetime(2026, 11, 24, 22, 30, tzinfo=zone)
    report = deliver_due(
        practice, mail.replace(sms_url="http://127.0.0.1:9/send"), now_fn=_clock(evening)
    )
    row = _row(practice, outbox_id)
    assert report.deferred == 1 and row.state == "queued" and row.attempts == 0
    until = dt.datetime(2026, 11, 25, 9, 0, tzinfo=zone)
    assert row.next_attempt_at.replace(tzinfo=dt.UTC) == until.astimezone(dt.UTC)
    # Still waiting at 8:59 the next morning: not due.
    before = deliver_due(practice, mail, now_fn=_clock(until - dt.timedelta(minutes=1)))
    assert before.deferred == 0 and before.outcomes == {}


def test_a_message_a_stopped_sender_left_sending_becomes_unknown_and_is_not_sent(
    practice, mail, server
) -> None:  # type: ignore[no-untyped-def]
    [outbox_id] = _insert(practice, 1)
    with writing(practice) as conn:
        assert q.move(
            conn, outbox_id, ("queued",), NOW, state="sending", claimed_at=NOW, attempts=1
        )
    assert deliver_due(practice, mail, now_fn=_clock(NOW + dt.timedelta(minutes=5))).stale == 0
    assert _row(practice, outbox_id).state == "sending"
    report = deliver_due(practice, mail, now_fn=_clock(NOW + dt.timedelta(minutes=11)))
    row = _row(practice, outbox_id)
    assert report.stale == 1 and row.state == "unknown" and row.last_error == STOPPED
    assert server.messages == []


def test_the_background_round_delivers_only_when_email_is_set_up(
    practice, mail, server, settings
) -> None:  # type: ignore[no-untyped-def]
    [outbox_id] = _insert(practice, 1)
    background.cycle(practice, settings, now_fn=_clock())
    assert _row(practice, outbox_id).state == "queued" and server.messages == []
    background.cycle(practice, mail, now_fn=_clock())
    assert _row(practice, outbox_id).state == "sent" and len(server.messages) == 1


def test_plain_text_smtp_is_allowed_only_to_this_machine() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("mail.example.com") and not is_loopback("10.0.0.5")
    channel = SmtpChannel("smtps://u:p%40ss@mail.example.com")
    assert (channel.port, channel.implicit_tls, channel.password) == (465, True, "p@ss")
    assert SmtpChannel("smtp://mail.example.com").port == 587


def test_a_server_saying_try_later_slows_the_run_and_then_leaves_the_rest(
    practice, mail, server
) -> None:  # type: ignore[no-untyped-def]
    ids = _insert(practice, 5)
    server.fail("rcpt_4xx", times=None)
    pauses: list[float] = []
    report = deliver_due(practice, mail, now_fn=_clock(), sleep=pauses.append)
    assert (report.retry, report.throttled, report.sent) == (3, 2, 0)
    assert pauses == [1.0, 2.0]  # before the 2nd and 3rd tries
    assert [_row(practice, i).state for i in ids] == ["retry"] * 3 + ["queued"] * 2


def test_keepwarm_serve_delivers_the_outbox_by_itself(practice, mail, server) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from keepwarm.web import create_app

    [outbox_id] = _insert(practice, 1)
    with TestClient(create_app(mail, daily_job=True)):
        deadline = time.monotonic() + 60
        while _row(practice, outbox_id).state != "sent" and time.monotonic() < deadline:
            time.sleep(0.1)
    assert _row(practice, outbox_id).state == "sent"
    assert server.message_ids() == {_row(practice, outbox_id).message_id: 1}


def test_a_server_off_this_machine_without_starttls_gets_nothing_in_plain_text() -> None:
    address = own_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    with running_smtp(host=address) as (host, port, handler):
        channel = SmtpChannel(f"smtp://{host}:{port}", timeout=5)
        message = OutgoingMessage(1, "email", "c0@example.com", "Hi", "<1@x>", "S", FROM)
        delivery = channel.send(message)
        channel.close()
    assert delivery.outcome is Outcome.TRANSIENT and "STARTTLS" in delivery.detail
    assert handler.messages == [] and handler.envelopes == []


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_tls_and_login_starttls_on_smtp_and_tls_from_the_start_on_smtps(tmp_path, scheme) -> None:  # type: ignore[no-untyped-def]
    cert = self_signed(tmp_path)
    tls = "starttls" if scheme == "smtp" else "implicit"
    trusted = ssl.create_default_context(cafile=str(cert[0]))
    message = OutgoingMessage(1, "email", "c0@example.com", "Hi", "<1@x>", "S", FROM)
    users = {"hello@northside.example": "s3cret:pw"}
    with running_smtp(tls=tls, cert=cert, users=users) as (host, port, handler):
        url = f"{scheme}://hello%40northside.example:s3cret%3Apw@{host}:{port}"
        channel = SmtpChannel(url, timeout=5, context=trusted)
        sent = channel.send(message)
        channel.close()
        wrong = SmtpChannel(url.replace("s3cret", "wrong"), timeout=2, context=trusted)
        refused = wrong.send(message)
        untrusted = SmtpChannel(url, timeout=5).send(message)  # a certificate nobody vouches for
    assert sent.outcome is Outcome.SENT and handler.message_ids() == {"<1@x>": 1}
    assert refused.outcome is Outcome.TRANSIENT  # the setup, not the message: tried again
    assert (
        untrusted.outcome is Outcome.TRANSIENT and "CERTIFICATE_VERIFY_FAILED" in untrusted.detail
    )
    assert len(handler.messages) == 1
