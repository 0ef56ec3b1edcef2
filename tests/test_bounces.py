"""Bounces read from a real Dovecot mailbox (IMAP APPEND delivers them): a hard bounce refuses
the address and marks the outbox message, a soft one refuses nothing, other mail is ignored,
each message is handled once, and a corrected address is sendable again. The database tests
run on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from imap_support import Dovecot, running_dovecot
from keepwarm.config import Settings
from keepwarm.messaging.dsn import read_bounce
from keepwarm.services import outbox as svc
from keepwarm.services.background import cycle
from keepwarm.services.bounces import bounced_outbox_ids, check_bounces
from keepwarm.services.consent import refusal, set_consent
from keepwarm.services.delivery import deliver_due
from keepwarm.services.todays_list import todays_list
from keepwarm.store import outbox as q
from keepwarm.store import writing
from test_web_today import _practice

FROM = "Northside Physio <hello@northside.example>"
LATER = NOW + dt.timedelta(hours=1)


def dsn(
    to: str,
    status: str,
    *,
    action: str = "failed",
    original: str = "<none@northside.example>",
    own_id: str = "<dsn-1@mx.example.net>",
    diagnostic: str = "smtp; 550 5.1.1 <{to}>: Recipient address rejected: User unknown",
) -> bytes:
    """A delivery status notification as Postfix writes one (RFC 3464)."""
    text = f"""\
Return-Path: <>
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: hello@northside.example
Subject: Undelivered Mail Returned to Sender
Message-ID: {own_id}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"

--BOUND
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net. Your message could not be delivered.

--BOUND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Tue, 24 Nov 2026 09:00:01 +0000

Final-Recipient: rfc822; {to}
Original-Recipient: rfc822;{to}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic.format(to=to)}

--BOUND
Content-Type: text/rfc822-headers

From: Northside Physio <hello@northside.example>
To: {to}
Subject: A note
Message-ID: {original}

--BOUND--
"""
    return text.replace("\n", "\r\n").encode()


OUT_OF_OFFICE = b"""\
From: Client Zero <c0@example.com>\r
To: hello@northside.example\r
Subject: Out of office: A note\r
Auto-Submitted: auto-replied\r
Message-ID: <ooo-1@example.com>\r
\r
I am away until Monday and will not be reading email. Your message could not be read.\r
"""


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Dovecot:
    dovecot.empty()
    return dovecot


@pytest.fixture
def mail(settings: Settings, mailbox: Dovecot) -> Settings:
    return settings.replace(
        smtp_url="smtp://127.0.0.1:2525",
        mail_from=FROM,
        base_url="https://keepwarm.example.com",
        imap_url=mailbox.url,
    )


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    _practice(engine, settings, tmp_path)
    return engine


def _sent(engine: sa.Engine, mail: Settings, state: str = "sent") -> Any:
    """Dana's first action emailed to C0 and (as the sender would have) marked sent, or
    `unknown` (the connection broke after the data went out)."""
    action_id = next(a.id for a in todays_list(engine, "Dana", day=TODAY))
    written = svc.Written(subject="A note", body="Dear C0")
    outbox_id = svc.queue_action(
        engine, mail, action_id, "email", written=written, by=None, day=TODAY, now=NOW
    )
    with writing(engine) as conn:
        if state == "sent":
            assert q.move(conn, outbox_id, ("queued",), NOW, state="sent", sent_at=NOW)
        else:
            assert q.move(conn, outbox_id, ("queued",), NOW, state=state, claimed_at=NOW)
        return q.get(conn, outbox_id)


def _refusal(engine: sa.Engine, client_id: int, address: str | None = None) -> str | None:
    with engine.connect() as conn:
        return refusal(conn, client_id, "email", address)


def _bounce_rows(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT * FROM bounces ORDER BY id")))


def test_a_hard_bounce_refuses_the_address_and_marks_the_message(practice, mail, mailbox) -> None:  # type: ignore[no-untyped-def]
    row = _sent(practice, mail)
    mailbox.append(dsn("c0@example.com", "5.1.1", original=row.message_id))
    report = check_bounces(practice, mail, now=LATER)
    assert (report.hard, report.soft, report.ignored) == (1, 0, 0)
    assert mailbox.unseen() == 0
    why = _refusal(practice, row.client_id)
    assert why is not None and "c0@example.com bounced on 24 Nov 2026" in why
    with practice.connect() as conn:
        after = q.get(conn, row.id)
        event = conn.execute(sa.text("SELECT * FROM consent_events")).one()
    assert after.state == "sent"  # it was sent; the bounce is noted
    assert after.last_error.startswith("bounced: 5.1.1 smtp; 550 5.1.1")
    assert (event.source, bool(event.allowed), event.address) == ("bounce", False, "c0@example.com")
    assert bounced_outbox_ids(practice) == {row.id}
    # the next message to that address is refused at the moment of sending
    with writing(practice) as conn:
        again = q.insert_message(
            conn,
            **{k: getattr(row, k) for k in ("kind", "channel", "client_id", "to_address", "body")},
            key="again",
            message_id="<again@northside.example>",
            created_by="Dana",
            created_at=LATER,
            updated_at=LATER,
        )
    report = deliver_due(practice, mail, now_fn=lambda: LATER)
    with practice.connect() as conn:
        refused = q.get(conn, again)
    assert report.failed == 1 and refused.state == "failed" and "bounced" in refused.last_error


def test_a_hard_bounce_of_an_unknown_message_makes_it_sent_and_bounced_call_instead(  # type: ignore[no-untyped-def]
    practice, mail, mailbox
) -> None:
    from keepwarm.services.users import add_user
    from keepwarm.web import create_app
    from web_support import PASSWORD, Web

    row = _sent(practice, mail, state="unknown")
    mailbox.append(dsn("c0@example.com", "5.1.1", original=row.message_id))
    assert check_bounces(practice, mail, now=LATER).hard == 1
    after = svc.message(practice, row.id)
    # The bounce proves the server had it: sent (and bounced), no longer "may or may not".
    assert after.state == "sent" and after.sent_at is not None
    assert after.last_error is not None and after.last_error.startswith("bounced: 5.1.1")
    with practice.connect() as conn:
        assert q.get(conn, row.id).touch_id is None  # the client did not get it
    add_user(practice, "owner@example.com", PASSWORD, "owner", now=NOW)
    owner = Web(create_app(mail))
    assert owner.sign_in("owner@example.com").status_code == 303
    page = owner.get("/outbox").text
    needs = page[page.index("Needs you") : page.index("All messages")]
    assert 'data-state="bounced"' in needs and "call instead" in needs
    assert "may or may not" not in needs and f"/outbox/{row.id}/send-again" not in needs


def test_a_soft_bounce_is_recorded_and_refuses_nothing(practice, mail, mailbox) -> None:  # type: ignore[no-untyped-def]
    row = _sent(practice, mail)
    mailbox.append(
        dsn(
            "c0@example.com",
            "4.2.2",
            action="delayed",
            original=row.message_id,
            diagnostic="smtp; 452 4.2.2 Mailbox full",
        )
    )
    report = check_bounces(practice, mail, now=LATER)
    assert (report.hard, report.soft, report.ignored) == (0, 1, 0)
    assert _refusal(practice, row.client_id) is None
    [bounce] = _bounce_rows(practice)
    assert (bounce.kind, bounce.status, bounce.outbox_id) == ("soft", "4.2.2", row.id)
    assert bounced_outbox_ids(practice) == set()
    with practice.connect() as conn:
        assert q.get(conn, row.id).last_error is None


def test_an_out_of_office_reply_is_ignored(practice, mail, mailbox) -> None:  # type: ignore[no-untyped-def]
    row = _sent(practice, mail)
    mailbox.append(OUT_OF_OFFICE)
    report = check_bounces(practice, mail, now=LATER)
    assert (report.hard, report.soft, report.ignored) == (0, 0, 1)
    assert _refusal(practice, row.client_id) is None and _bounce_rows(practice) == []
    assert mailbox.unseen() == 0  # read once, not again


def test_checking_twice_handles_each_message_once(practice, mail, mailbox) -> None:  # type: ignore[no-untyped-def]
    row = _sent(practice, mail)
    raw = dsn("c0@example.com", "5.1.1", original=row.message_id)
    mailbox.append(raw)
    first = check_bounces(practice, mail, now=LATER)
    second = check_bounces(practice, mail, now=LATER)
    assert (first.hard, second.hard, second.ignored) == (1, 0, 0)
    # the same bounce delivered again (a run stopped before marking it seen) changes nothing
    mailbox.append(raw)
    third = check_bounces(practice, mail, now=LATER)
    assert (third.hard, third.already) == (0, 1)
    assert len(_bounce_rows(practice)) == 1
    with practice.connect() as conn:
        events = conn.execute(sa.text("SELECT count(*) FROM consent_events")).scalar_one()
    assert events == 1


def test_a_corrected_address_is_sendable_again(practice, mail, mailbox) -> None:  # type: ignore[no-untyped-def]
    row = _sent(practice, mail)
    mailbox.append(dsn("c0@example.com", "5.1.1", original=row.message_id))
    check_bounces(practice, mail, now=LATER)
    assert _refusal(practice, row.client_id) is not None
    with practice.begin() as conn:
        conn.execute(
            sa.text("UPDATE clients SET email = 'ann@example.org' WHERE id = :i"),
            {"i": row.client_id},
        )
    assert _refusal(practice, row.client_id) is None
    assert _refusal(practice, row.client_id, "c0@example.com") is not None


def test_a_bounce_does_not_undo_an_unsubscribe(practice, mail, mailbox) -> None:  # type: ignore[no-untyped-def]
    row = _sent(practice, mail)
    set_consent(practice, "C0", "email", False, actor="C0", now=NOW, source="unsubscribe")
    mailbox.append(dsn("old@example.com", "5.1.1", own_id="<dsn-old@mx>"))
    with practice.begin() as conn:
        conn.execute(
            sa.text("UPDATE clients SET email = 'old@example.com' WHERE id = :i"),
            {"i": row.client_id},
        )
    check_bounces(practice, mail, now=LATER)
    with practice.begin() as conn:
        conn.execute(
            sa.text("UPDATE clients SET email = 'new@example.com' WHERE id = :i"),
            {"i": row.client_id},
        )
    assert "unsubscribed" in (_refusal(practice, row.client_id) or "")


def test_the_background_round_checks_the_mailbox(practice, mail, mailbox) -> None:  # type: ignore[no-untyped-def]
    row = _sent(practice, mail)
    mailbox.append(dsn("c0@example.com", "5.1.1", original=row.message_id))
    cycle(practice, mail.replace(smtp_url=None), now_fn=lambda: LATER)
    assert _refusal(practice, row.client_id) is not None


def test_a_mailbox_that_refuses_the_login_is_named_without_the_password(practice, mail) -> None:  # type: ignore[no-untyped-def]
    wrong = mail.replace(imap_url=mail.imap_url.replace("s3cret", "wrong-pass"))
    with pytest.raises(
        Exception, match=r"KEEPWARM_IMAP_URL: the mailbox at 127\.0\.0\.1 refused"
    ) as e:
        check_bounces(practice, wrong, now=LATER)
    assert "wrong-pass" not in str(e.value)


# --- reading bounce messages (no mailbox) ---------------------------------------------------------


def test_a_dsn_quotes_the_original_message_id() -> None:
    bounce = read_bounce(dsn("ann@example.com", "5.1.1", original="<abc@x>"))
    assert bounce is not None and bounce.standard
    assert bounce.original_message_id == "<abc@x>"
    [failure] = bounce.failures
    assert (failure.address, failure.kind, failure.status) == ("ann@example.com", "hard", "5.1.1")


def test_a_delivered_report_is_not_a_bounce() -> None:
    assert read_bounce(dsn("ann@example.com", "2.0.0", action="delivered")) is None


def test_a_non_standard_bounce_from_the_mail_system_is_read_by_flufl_bounce() -> None:
    raw = b"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\r
To: hello@northside.example\r
Subject: Returned mail: see transcript for details\r
Message-ID: <qmail-1@mx.example.net>\r
\r
Hi. This is the qmail-send program at mx.example.net.\r
I'm afraid I wasn't able to deliver your message to the following addresses.\r
This is a permanent error; I've given up. Sorry it didn't work out.\r
\r
<bob@example.com>:\r
Sorry, no mailbox here by that name. (#5.1.1)\r
\r
--- Below this line is a copy of the message.\r
"""
    bounce = read_bounce(raw)
    assert bounce is not None and not bounce.standard
    assert [(f.address, f.kind) for f in bounce.failures] == [("bob@example.com", "hard")]


def test_a_bounce_quoting_the_whole_message_links_it_and_lists_each_recipient() -> None:
    raw = dsn("ann@example.com", "5.1.1").decode()
    raw = raw.replace("Content-Type: text/rfc822-headers", "Content-Type: message/rfc822")
    raw = raw.replace(
        "Final-Recipient: rfc822; ann@example.com",
        "Final-Recipient: rfc822; bob@example.com\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
        "Final-Recipient: rfc822; ann@example.com",
    )
    bounce = read_bounce(raw.encode())
    assert bounce is not None and bounce.original_message_id == "<none@northside.example>"
    assert [(f.address, f.kind, f.status) for f in bounce.failures] == [
        ("bob@example.com", "soft", "4.4.1"),
        ("ann@example.com", "hard", "5.1.1"),
    ]


def test_a_persons_reply_that_mentions_failure_is_not_a_bounce() -> None:
    raw = OUT_OF_OFFICE.replace(b"will not be reading", b"550 5.1.1 user unknown, failed:")
    assert read_bounce(raw) is None


def test_two_checks_at_once_handle_a_bounce_once(practice, mail, mailbox) -> None:  # type: ignore[no-untyped-def]
    import threading

    row = _sent(practice, mail)
    mailbox.append(dsn("c0@example.com", "5.1.1", original=row.message_id))
    reports: list[Any] = []
    errors: list[BaseException] = []

    def check() -> None:
        try:
            reports.append(check_bounces(practice, mail, now=LATER))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=check) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.hard for r in reports) == 1
    with practice.connect() as conn:
        events = conn.execute(sa.text("SELECT count(*) FROM consent_events")).scalar_one()
    assert events == 1 and len(_bounce_rows(practice)) == 1
