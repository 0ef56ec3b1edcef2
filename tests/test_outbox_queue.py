"""Queuing a message from the list: the outbox row is written in the same transaction as the
action's state; consent is checked; people's moves on a message (mark sent, send again,
cancel) are conditional on the state they saw. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput
from keepwarm.services import actions as actions_svc
from keepwarm.services import outbox as svc
from keepwarm.services.consent import is_mobile, set_consent
from keepwarm.services.todays_list import todays_list
from keepwarm.store import outbox as q
from keepwarm.store import writing
from keepwarm.store.tables import actions, outbox, touches
from test_web_today import _practice

MAIL = {
    "smtp_url": "smtp://127.0.0.1:2525",
    "mail_from": "Northside Physio <hello@northside.example>",
    "base_url": "https://keepwarm.example.com",
}


@pytest.fixture
def mail_settings(settings: Settings) -> Settings:
    return settings.replace(**MAIL)


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    _practice(engine, settings, tmp_path)
    return engine


def _action(engine: sa.Engine) -> int:
    return next(a.id for a in todays_list(engine, "Dana", day=TODAY))


def test_without_mail_settings_queuing_says_what_to_set(practice, settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(svc.NotConfigured, match="KEEPWARM_SMTP_URL, KEEPWARM_MAIL_FROM"):
        svc.queue_action(
            practice, settings, _action(practice), "email", by=None, day=TODAY, now=NOW
        )
    with practice.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == 0


def test_queuing_writes_the_message_and_closes_the_action_together(practice, mail_settings) -> None:  # type: ignore[no-untyped-def]
    action_id = _action(practice)
    outbox_id = svc.queue_action(
        practice,
        mail_settings,
        action_id,
        "email",
        written=svc.Written(subject="Hello", body="Dear C0"),
        by=None,
        day=TODAY,
        now=NOW,
    )
    with practice.connect() as conn:
        row = q.get(conn, outbox_id)
        status = conn.execute(
            sa.select(actions.c.status).where(actions.c.id == action_id)
        ).scalar_one()
    assert (row.state, row.to_address, row.subject, row.body) == (
        "queued",
        "c0@example.com",
        "Hello",
        "Dear C0",
    )
    assert row.message_id.endswith("@northside.example>")
    assert status == "done"
    with pytest.raises(InvalidInput, match="already done"):
        svc.queue_action(practice, mail_settings, action_id, "email", by=None, day=TODAY, now=NOW)


def test_the_default_body_is_the_client_facing_draft(practice, mail_settings) -> None:  # type: ignore[no-untyped-def]
    outbox_id = svc.queue_action(
        practice, mail_settings, _action(practice), "email", by=None, day=TODAY, now=NOW
    )
    message = svc.message(practice, outbox_id)
    assert "Client" in message.body or "Hi" in message.body
    assert "priority" not in message.body.lower() and message.subject


def test_a_do_not_contact_or_unsubscribed_client_is_refused_with_the_reason(
    practice, mail_settings
) -> None:  # type: ignore[no-untyped-def]
    action_id = _action(practice)
    set_consent(practice, "C0", "email", False, actor="Dana", now=NOW, source="unsubscribe")
    with pytest.raises(InvalidInput, match="unsubscribed on"):
        svc.queue_action(practice, mail_settings, action_id, "email", by=None, day=TODAY, now=NOW)
    set_consent(practice, "C0", "email", True, actor="Dana", now=NOW)
    with practice.begin() as conn:
        conn.execute(
            sa.text("UPDATE clients SET do_not_contact = :t WHERE external_id = 'C0'"), {"t": True}
        )
    with pytest.raises(InvalidInput, match="do not contact"):
        svc.queue_action(practice, mail_settings, action_id, "email", by=None, day=TODAY, now=NOW)


def test_texts_need_a_mobile_number_and_consent(practice, mail_settings) -> None:  # type: ignore[no-untyped-def]
    sms = mail_settings.replace(sms_url="http://127.0.0.1:9/send")
    action_id = _action(practice)
    with pytest.raises(InvalidInput, match="no consent to texts"):
        svc.queue_action(practice, sms, action_id, "sms", by=None, day=TODAY, now=NOW)
    set_consent(practice, "C0", "sms", True, actor="Dana", now=NOW, source="request")
    outbox_id = svc.queue_action(practice, sms, action_id, "sms", by=None, day=TODAY, now=NOW)
    assert svc.message(practice, outbox_id).to == "+15035550100"
    assert (
        is_mobile("+15035550100") and not is_mobile("+442079460000") and is_mobile("+447911123456")
    )


def test_unknown_is_marked_sent_by_staff_and_then_is_a_touch(practice, mail_settings) -> None:  # type: ignore[no-untyped-def]
    outbox_id = svc.queue_action(
        practice, mail_settings, _action(practice), "email", by=None, day=TODAY, now=NOW
    )
    with pytest.raises(InvalidInput, match="only an unknown one"):
        svc.mark_sent(practice, outbox_id, by=None, now=NOW)
    with writing(practice) as conn:
        assert q.move(conn, outbox_id, ("queued",), NOW, state="unknown")
    svc.mark_sent(practice, outbox_id, by=None, now=NOW + dt.timedelta(minutes=1))
    with practice.connect() as conn:
        row = q.get(conn, outbox_id)
        touch = conn.execute(sa.select(touches).where(touches.c.id == row.touch_id)).one()
    assert row.state == "sent" and (touch.channel, touch.outcome, touch.personal) == (
        "email",
        "sent",
        True,
    )


def test_cancelling_a_waiting_message_puts_the_action_back_on_the_list(
    practice, mail_settings
) -> None:  # type: ignore[no-untyped-def]
    action_id = _action(practice)
    outbox_id = svc.queue_action(
        practice, mail_settings, action_id, "email", by=None, day=TODAY, now=NOW
    )
    svc.cancel(practice, outbox_id, by=None, now=NOW)
    assert svc.message(practice, outbox_id).state == "cancelled"
    assert action_id in {a.id for a in todays_list(practice, "Dana", day=TODAY)}
    with pytest.raises(InvalidInput, match="cannot be cancelled"):
        svc.cancel(practice, outbox_id, by=None, now=NOW)


def test_undoing_a_send_stops_the_message_while_it_waits(practice, mail_settings) -> None:  # type: ignore[no-untyped-def]
    action_id = _action(practice)
    outbox_id = svc.queue_action(
        practice, mail_settings, action_id, "email", by=None, day=TODAY, now=NOW
    )
    assert actions_svc.undo(practice, action_id, by=None, now=NOW) == "done"
    assert svc.message(practice, outbox_id).state == "cancelled"
    assert action_id in {a.id for a in todays_list(practice, "Dana", day=TODAY)}


@pytest.mark.parametrize("left", ["sending", "sent", "unknown"])
def test_a_send_that_left_cannot_be_undone(practice, mail_settings, left) -> None:  # type: ignore[no-untyped-def]
    action_id = _action(practice)
    outbox_id = svc.queue_action(
        practice, mail_settings, action_id, "email", by=None, day=TODAY, now=NOW
    )
    with writing(practice) as conn:
        assert q.move(conn, outbox_id, ("queued",), NOW, state=left)
    with pytest.raises(InvalidInput, match=f"message {outbox_id} is {left} and cannot be taken"):
        actions_svc.undo(practice, action_id, by=None, now=NOW)
    assert svc.message(practice, outbox_id).state == left
    with practice.connect() as conn:
        status = conn.execute(
            sa.select(actions.c.status).where(actions.c.id == action_id)
        ).scalar_one()
    assert status == "done"
