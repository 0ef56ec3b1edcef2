"""Texts through an HTTP gateway: each answer of the gateway (a loopback stand-in: the one
remote service mocked) is classified as sent, permanent, transient or unknown; and a text goes
from the list to the client's phone once, only with SMS consent and a mobile number, never in
quiet hours. The end-to-end tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput
from keepwarm.messaging.channels import Outcome, OutgoingMessage
from keepwarm.messaging.sms import SmsChannel
from keepwarm.services import outbox as svc
from keepwarm.services.consent import set_consent
from keepwarm.services.delivery import deliver_due
from keepwarm.services.policy import set_policy_value
from keepwarm.services.todays_list import todays_list
from keepwarm.store import outbox as q
from keepwarm.store.tables import touches
from sms_support import SECRET, USER, Gateway, running_gateway
from test_web_today import _practice

TEXT = OutgoingMessage(
    outbox_id=7, channel="sms", to="+15035550100", body="See you soon!", message_id="<m7@x>"
)


@pytest.fixture(scope="module")
def running() -> Iterator[Gateway]:
    with running_gateway(hang_seconds=2.0) as gateway:
        yield gateway


@pytest.fixture
def gateway(running: Gateway) -> Gateway:
    running.reset()
    return running


def _send(gateway: Gateway, timeout: float = 5.0) -> Any:
    channel = SmsChannel(gateway.url, timeout=timeout)
    try:
        return channel.send(TEXT)
    finally:
        channel.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- what the gateway's answer means ------------------------------------------------------------


def test_a_text_is_posted_as_json_with_basic_auth_and_2xx_is_sent(gateway) -> None:  # type: ignore[no-untyped-def]
    delivery = _send(gateway)
    assert delivery.outcome is Outcome.SENT
    [request] = gateway.requests
    assert request.path == "/send"
    assert request.body == {"to": "+15035550100", "body": "See you soon!", "reference": "<m7@x>"}
    expected = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.headers["content-type"] == "application/json"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_refusal_that_retrying_cannot_fix_is_permanent_with_the_gateways_words(
    gateway, status
) -> None:  # type: ignore[no-untyped-def]
    gateway.answer(status, {"error": "invalid destination number"})
    delivery = _send(gateway)
    assert delivery.outcome is Outcome.PERMANENT
    assert delivery.detail == f"{status} invalid destination number"


def test_too_many_requests_is_transient(gateway) -> None:  # type: ignore[no-untyped-def]
    gateway.answer(429, {"message": "slow down"})
    delivery = _send(gateway)
    assert delivery.outcome is Outcome.TRANSIENT and delivery.detail.startswith("429 slow down")


def test_a_gateway_that_is_down_is_transient_and_its_retry_after_is_named(gateway) -> None:  # type: ignore[no-untyped-def]
    gateway.answer(503, {"error": "maintenance"}, headers={"Retry-After": "120"})
    delivery = _send(gateway)
    assert delivery.outcome is Outcome.TRANSIENT
    assert delivery.detail == "503 maintenance (retry after 120)"


def test_no_connection_is_transient_the_text_never_left() -> None:
    channel = SmsChannel(f"http://127.0.0.1:{_free_port()}/send", timeout=2.0)
    try:
        delivery = channel.send(TEXT)
    finally:
        channel.close()
    assert delivery.outcome is Outcome.TRANSIENT and "no connection" in delivery.detail


def test_silence_after_the_request_went_out_is_unknown(gateway) -> None:  # type: ignore[no-untyped-def]
    gateway.answer("hang")
    delivery = _send(gateway, timeout=0.5)
    assert delivery.outcome is Outcome.UNKNOWN and "may have been sent" in delivery.detail
    assert len(gateway.requests) == 1  # it did arrive: resending would text twice


def test_a_connection_dropped_after_the_request_is_unknown(gateway) -> None:  # type: ignore[no-untyped-def]
    gateway.answer("drop")
    delivery = _send(gateway)
    assert delivery.outcome is Outcome.UNKNOWN
    assert len(gateway.requests) == 1


def test_the_login_the_number_and_the_text_are_never_logged(gateway, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    gateway.answer(400, {"error": "number +1 503 555 0100 is not valid"})
    _send(gateway)
    _send(gateway)
    logged = caplog.text
    assert "outbox 7: sms" in logged
    for secret in (SECRET, "5035550100", "503 555 0100", "See you soon"):
        assert secret not in logged


# --- from the list to the phone ------------------------------------------------------------------


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    _practice(engine, settings, tmp_path)
    return engine


@pytest.fixture
def texting(settings: Settings, gateway: Gateway) -> Settings:
    return settings.replace(sms_url=gateway.url)


def _queue_text(engine: sa.Engine, settings: Settings) -> int:
    """Queue Dana's first action (client C0) as a text."""
    action_id = next(a.id for a in todays_list(engine, "Dana", day=TODAY))
    written = svc.Written(subject=None, body="Hi, it has been a while. Dana")
    return svc.queue_action(
        engine, settings, action_id, "sms", written=written, by=None, day=TODAY, now=NOW
    )


def _row(engine: sa.Engine, outbox_id: int) -> Any:
    with engine.connect() as conn:
        return q.get(conn, outbox_id)


def _clock(at: dt.datetime) -> Any:
    return lambda: at


def test_a_text_goes_from_the_list_to_the_phone_once_and_is_a_touch(
    practice, texting, gateway
) -> None:  # type: ignore[no-untyped-def]
    set_consent(practice, "C0", "sms", True, actor="Dana", now=NOW, source="request")
    outbox_id = _queue_text(practice, texting)
    first = deliver_due(practice, texting, now_fn=_clock(NOW + dt.timedelta(hours=2)))
    again = deliver_due(practice, texting, now_fn=_clock(NOW + dt.timedelta(hours=3)))
    assert (first.sent, again.sent) == (1, 0)
    [request] = gateway.requests
    assert request.body["to"] == "+15035550100"
    assert request.body["body"] == "Hi, it has been a while. Dana"
    row = _row(practice, outbox_id)
    assert row.state == "sent" and request.body["reference"] == row.message_id
    with practice.connect() as conn:
        touch = conn.execute(sa.select(touches).where(touches.c.id == row.touch_id)).one()
    assert (touch.channel, touch.outcome) == ("sms", "sent")


def test_a_client_without_sms_consent_is_never_texted(practice, texting, gateway) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="no consent to texts"):
        _queue_text(practice, texting)
    # consent given, the text queued, then consent withdrawn before the send
    set_consent(practice, "C0", "sms", True, actor="Dana", now=NOW, source="request")
    outbox_id = _queue_text(practice, texting)
    set_consent(practice, "C0", "sms", False, actor="Dana", now=NOW, source="request")
    report = deliver_due(practice, texting, now_fn=_clock(NOW + dt.timedelta(hours=2)))
    assert report.sent == 0 and gateway.requests == []
    assert _row(practice, outbox_id).state == "failed"


def test_a_client_without_a_mobile_number_is_never_texted(practice, texting, gateway) -> None:  # type: ignore[no-untyped-def]
    set_consent(practice, "C0", "sms", True, actor="Dana", now=NOW, source="request")
    with practice.begin() as conn:  # a London landline
        conn.execute(sa.text("UPDATE clients SET phone = '+442079460000' WHERE external_id = 'C0'"))
    with pytest.raises(InvalidInput, match="not a mobile number"):
        _queue_text(practice, texting)
    with practice.begin() as conn:
        conn.execute(sa.text("UPDATE clients SET phone = NULL WHERE external_id = 'C0'"))
    with pytest.raises(InvalidInput, match="no phone number"):
        _queue_text(practice, texting)
    assert deliver_due(practice, texting, now_fn=_clock(NOW)).sent == 0
    assert gateway.requests == []


def test_quiet_hours_defer_the_text_until_they_end(practice, texting, gateway) -> None:  # type: ignore[no-untyped-def]
    set_policy_value(practice, "time_zone", "America/Los_Angeles", now=NOW)
    set_consent(practice, "C0", "sms", True, actor="Dana", now=NOW, source="request")
    outbox_id = _queue_text(practice, texting)
    zone = ZoneInfo("America/Los_Angeles")
    evening = dt.datetime(2026, 11, 24, 21, 15, tzinfo=zone)
    report = deliver_due(practice, texting, now_fn=_clock(evening))
    assert report.deferred == 1 and gateway.requests == []
    assert _row(practice, outbox_id).state == "queued"
    morning = dt.datetime(2026, 11, 25, 9, 1, tzinfo=zone)
    assert deliver_due(practice, texting, now_fn=_clock(morning)).sent == 1
    assert len(gateway.requests) == 1
