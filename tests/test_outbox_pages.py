"""Sending from Today's card and the Outbox page: the edited draft is queued once, the owner
sees every message and staff their own, the people's buttons (mark sent, send again, cancel)
move a message only from the state shown, and without mail settings the card keeps its
mailto link while the owner is told what to set. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.services.consent import set_consent
from keepwarm.services.todays_list import ListedAction, listing, todays_list
from keepwarm.services.users import add_user, create_token
from keepwarm.store import outbox as q
from keepwarm.store import writing
from keepwarm.store.tables import actions, outbox
from test_web_api import Api
from test_web_today import _practice
from web_support import PASSWORD, Web

MAIL = {
    "smtp_url": "smtp://127.0.0.1:2525",
    "mail_from": "Northside Physio <hello@northside.example>",
    "base_url": "https://keepwarm.example.com",
}


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for where in (
        "keepwarm.web.auth.clock",
        "keepwarm.web.pages.clock",
        "keepwarm.web.api.clock",
        "keepwarm.web.outbox_pages.clock",
        "keepwarm.web.outbox_api.clock",
    ):
        monkeypatch.setattr(where, lambda: NOW)


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    _practice(engine, settings, tmp_path)
    add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    add_user(engine, "dana@example.com", PASSWORD, "staff", staff_name="Dana", now=NOW)
    add_user(engine, "sam@example.com", PASSWORD, "staff", staff_name="Sam", now=NOW)
    return engine


def _app(db_url: str, mail: bool) -> Any:
    from keepwarm.web import create_app

    return create_app(Settings(database_url=db_url, **(MAIL if mail else {})))


@pytest.fixture
def mail_app(db_url: str, practice: sa.Engine) -> Any:
    return _app(db_url, mail=True)


def _signed_in(app: Any, email: str) -> Web:
    client = Web(app)
    assert client.sign_in(email).status_code == 303
    return client


def _first(engine: sa.Engine, staff: str) -> int:
    return next(a.id for a in todays_list(engine, staff, day=TODAY))


def _card(html: str, action_id: int) -> str:
    start = html.index(f'id="action-{action_id}"')
    return html[start : html.index("\n  </li>", start)]


def _rows(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(outbox).order_by(outbox.c.id)))


def _send(client: Web, action_id: int, **data: str) -> Any:
    form = {"channel": "email", "subject": "Hello", "body": "Dear client, hello."} | data
    return client.post(f"/actions/{action_id}/send", data=form)


def test_the_card_offers_send_email_with_the_draft_editable(mail_app, practice) -> None:  # type: ignore[no-untyped-def]
    dana = _signed_in(mail_app, "dana@example.com")
    action_id = _first(practice, "Dana")
    html = dana.get("/today").text
    card = _card(html, action_id)
    assert f'action="/actions/{action_id}/send"' in card
    assert "Send email" in card
    subject = re.search(r'name="subject" type="text" maxlength="200" value="([^"]+)"', card)
    assert subject and subject.group(1).strip()
    body = re.search(r'name="body" rows="8" maxlength="10000" required>([^<]+)</textarea>', card)
    assert body and "Client" in unescape(body.group(1))
    assert "mailto:" not in card  # sending is set up: the card sends, not the mail program


def test_sending_from_the_card_queues_exactly_one_row_with_the_edited_text(
    mail_app, practice
) -> None:  # type: ignore[no-untyped-def]
    dana = _signed_in(mail_app, "dana@example.com")
    action_id = _first(practice, "Dana")
    answer = _send(dana, action_id, subject="See you soon", body="Edited by Dana.\nBest, Dana")
    assert answer.status_code == 303
    [row] = _rows(practice)
    assert (row.subject, row.body, row.state) == (
        "See you soon",
        "Edited by Dana.\nBest, Dana",
        "queued",
    )
    assert row.action_id == action_id and row.to_address.endswith("@example.com")
    page = dana.get(answer.headers["location"]).text
    assert re.search(r"Email to Client \d queued — it leaves within a minute", page)
    again = _send(dana, action_id, subject="See you soon", body="Edited by Dana.\nBest, Dana")
    assert again.status_code == 400 and "already done" in again.text
    assert len(_rows(practice)) == 1
    with practice.connect() as conn:
        status = conn.execute(sa.select(actions.c.status).where(actions.c.id == action_id))
        assert status.scalar_one() == "done"


def test_staff_cannot_send_from_another_members_action(mail_app, practice) -> None:  # type: ignore[no-untyped-def]
    sam = _signed_in(mail_app, "sam@example.com")
    answer = _send(sam, _first(practice, "Dana"))
    assert answer.status_code == 403
    assert _rows(practice) == []


def test_a_form_without_its_csrf_token_sends_nothing(mail_app, practice) -> None:  # type: ignore[no-untyped-def]
    dana = _signed_in(mail_app, "dana@example.com")
    dana.token = "forged"
    assert _send(dana, _first(practice, "Dana")).status_code == 403
    assert _rows(practice) == []


def test_an_unsubscribed_client_has_no_send_button_and_the_card_says_why(
    mail_app, practice
) -> None:  # type: ignore[no-untyped-def]
    action = next(a for a in todays_list(practice, "Dana", day=TODAY))
    set_consent(
        practice, action.client_id, "email", False, actor="test", now=NOW, source="unsubscribe"
    )
    html = _signed_in(mail_app, "dana@example.com").get("/today").text
    card = _card(html, action.id)
    assert f'action="/actions/{action.id}/send"' not in card
    assert "Not by email: unsubscribed on" in card


def test_without_mail_settings_the_card_keeps_mailto_and_the_owner_is_told_what_to_set(
    db_url, practice
) -> None:  # type: ignore[no-untyped-def]
    app = _app(db_url, mail=False)
    owner = _signed_in(app, "owner@example.com").get("/today").text
    assert "mailto:" in owner and "/send" not in owner
    assert owner.count("KEEPWARM_SMTP_URL") == 1  # said once
    assert "Sending email, texts and letters" in owner
    dana = _signed_in(app, "dana@example.com").get("/today").text
    assert "mailto:" in dana and "KEEPWARM_SMTP_URL" not in dana


def test_without_mail_settings_the_outbox_page_says_email_is_not_set_up(db_url, practice) -> None:  # type: ignore[no-untyped-def]
    app = _app(db_url, mail=False)
    owner = unescape(_signed_in(app, "owner@example.com").get("/outbox").text)
    assert "Email is not set up" in owner
    assert "KEEPWARM_SMTP_URL, KEEPWARM_MAIL_FROM, KEEPWARM_BASE_URL" in owner
    dana = unescape(_signed_in(app, "dana@example.com").get("/outbox").text)
    assert "Email is not set up: ask the owner to set up email." in dana
    assert "KEEPWARM_SMTP_URL" not in dana
    set_up = _app(db_url, mail=True)
    assert "Email is not set up" not in _signed_in(set_up, "owner@example.com").get("/outbox").text


def _queue(mail_app: Any, engine: sa.Engine, who: str, staff: str) -> int:
    client = _signed_in(mail_app, who)
    assert _send(client, _first(engine, staff)).status_code == 303
    return int(_rows(engine)[-1].id)


def _set_state(engine: sa.Engine, outbox_id: int, **values: Any) -> None:
    with writing(engine) as conn:
        assert q.move(conn, outbox_id, ("queued",), NOW, **values)


def test_the_owner_sees_every_message_and_staff_only_their_own(mail_app, practice) -> None:  # type: ignore[no-untyped-def]
    dana_id = _queue(mail_app, practice, "dana@example.com", "Dana")
    sam_id = _queue(mail_app, practice, "sam@example.com", "Sam")
    owner = _signed_in(mail_app, "owner@example.com").get("/outbox").text
    assert f'id="message-{dana_id}"' in owner and f'id="message-{sam_id}"' in owner
    assert owner.index(f'id="message-{sam_id}"') < owner.index(
        f'id="message-{dana_id}"'
    )  # newest first
    sam = _signed_in(mail_app, "sam@example.com")
    page = sam.get("/outbox").text
    assert f'id="message-{sam_id}"' in page and f'id="message-{dana_id}"' not in page
    assert sam.post(f"/outbox/{dana_id}/cancel").status_code == 403
    assert _rows(practice)[0].state == "queued"
    token = create_token(practice, 3, "t", now=NOW)  # Sam's user
    listed = Api(mail_app, token).get("/api/v1/outbox").json()
    assert [m["id"] for m in listed] == [sam_id]


def test_an_unknown_message_needs_you_and_can_be_marked_sent(mail_app, practice) -> None:  # type: ignore[no-untyped-def]
    outbox_id = _queue(mail_app, practice, "dana@example.com", "Dana")
    _set_state(practice, outbox_id, state="unknown")
    dana = _signed_in(mail_app, "dana@example.com")
    page = dana.get("/outbox").text
    needs = page[page.index("Needs you") : page.index("All messages")]
    assert "The mail server may or may not have it." in needs
    assert f'action="/outbox/{outbox_id}/mark-sent"' in needs
    assert f'action="/outbox/{outbox_id}/send-again"' in needs
    answer = dana.post(f"/outbox/{outbox_id}/mark-sent")
    assert answer.status_code == 303
    row = _rows(practice)[0]
    assert row.state == "sent" and row.touch_id is not None
    assert dana.post(f"/outbox/{outbox_id}/mark-sent").status_code == 400  # not unknown now


def test_a_failed_message_says_why_and_is_sent_again_or_called(mail_app, practice) -> None:  # type: ignore[no-untyped-def]
    outbox_id = _queue(mail_app, practice, "dana@example.com", "Dana")
    _set_state(practice, outbox_id, state="failed", last_error="550 mailbox unavailable")
    dana = _signed_in(mail_app, "dana@example.com")
    page = unescape(dana.get("/outbox").text)
    assert "It was not sent: 550 mailbox unavailable. Send it again, or call instead." in page
    assert "Call instead" in page
    assert dana.post(f"/outbox/{outbox_id}/send-again").status_code == 303
    assert _rows(practice)[0].state == "queued"


def test_cancelling_a_waiting_message_reopens_its_action(mail_app, practice) -> None:  # type: ignore[no-untyped-def]
    action_id = _first(practice, "Dana")
    outbox_id = _queue(mail_app, practice, "dana@example.com", "Dana")
    dana = _signed_in(mail_app, "dana@example.com")
    assert f'action="/outbox/{outbox_id}/cancel"' in dana.get("/outbox").text
    answer = dana.post(f"/outbox/{outbox_id}/cancel")
    assert answer.status_code == 303 and "msg=cancelled" in answer.headers["location"]
    assert _rows(practice)[0].state == "cancelled"
    with practice.connect() as conn:
        status = conn.execute(sa.select(actions.c.status).where(actions.c.id == action_id))
        assert status.scalar_one() == "open"


def test_a_bounced_message_says_call_instead_and_correct_the_address(mail_app, practice) -> None:  # type: ignore[no-untyped-def]
    outbox_id = _queue(mail_app, practice, "dana@example.com", "Dana")
    _set_state(practice, outbox_id, state="sent", last_error="bounced: 550 no such user")
    page = _signed_in(mail_app, "owner@example.com").get("/outbox").text
    needs = page[page.index("Needs you") : page.index("All messages")]
    assert "bounced" in needs and "call instead, and correct the address" in needs


def test_the_client_page_lists_the_clients_messages(mail_app, practice) -> None:  # type: ignore[no-untyped-def]
    action = next(a for a in todays_list(practice, "Dana", day=TODAY))
    dana = _signed_in(mail_app, "dana@example.com")
    assert _send(dana, action.id, subject="Checking in").status_code == 303
    page = dana.get(f"/clients/{action.client_id}").text
    section = page[page.index('id="messages-h"') :]
    assert "Checking in" in section and "queued" in section


def test_the_api_sends_and_lists(mail_app, practice) -> None:  # type: ignore[no-untyped-def]
    token = create_token(practice, 2, "t", now=NOW)  # Dana's user
    api = Api(mail_app, token)
    action_id = _first(practice, "Dana")
    answer = api.post(f"/api/v1/actions/{action_id}/send", json={"channel": "email"})
    assert answer.status_code == 202, answer.text
    outbox_id = answer.json()["outbox_id"]
    again = api.post(f"/api/v1/actions/{action_id}/send", json={"channel": "email"})
    assert again.status_code == 422
    listed = api.get("/api/v1/outbox").json()
    assert [m["id"] for m in listed] == [outbox_id] and listed[0]["state"] == "queued"
    assert api.post(f"/api/v1/actions/{action_id}/send", json={"channel": "fax"}).status_code == 422


def todays_list_with_drafts(engine: sa.Engine) -> list[ListedAction]:
    """Dana's list with its drafts, as the Today page reads it."""
    return listing(engine, TODAY, "Dana").actions


def test_with_texts_set_up_a_client_who_agreed_gets_send_text(db_url, practice) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.web import create_app

    action = next(a for a in todays_list(practice, "Dana", day=TODAY))
    app = create_app(Settings(database_url=db_url, sms_url="http://127.0.0.1:9/sms", **MAIL))
    dana = _signed_in(app, "dana@example.com")
    card = _card(dana.get("/today").text, action.id)
    assert 'data-step="send-sms"' not in card  # no consent to texts on record yet
    assert "Not by text: no consent to texts on record" in card
    set_consent(practice, action.client_id, "sms", True, actor="test", now=NOW, source="request")
    card = _card(dana.get("/today").text, action.id)
    assert 'data-step="send-sms"' in card and "Send text" in card
    # the text starts from the text template (short, written to the client), not the email's
    sms_form = card[card.index('data-step="send-sms"') :]
    prefilled = unescape(sms_form.split(">", 1)[1].split("<textarea", 1)[1])
    prefilled = prefilled.split(">", 1)[1].split("</textarea>", 1)[0]
    listed = next(a for a in todays_list_with_drafts(practice) if a.id == action.id)
    assert prefilled == listed.drafts["sms"].text != listed.drafts["email"].text
    answer = _send(dana, action.id, channel="sms", body="See you soon? Dana")
    assert answer.status_code == 303
    [row] = _rows(practice)
    assert (row.channel, row.subject, row.body) == ("sms", None, "See you soon? Dana")
    assert row.to_address.startswith("+1503555010")
    assert "Text to Client" in dana.get(answer.headers["location"]).text
