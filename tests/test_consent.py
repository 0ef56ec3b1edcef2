"""A client's contact preferences on their page and in the CLI: each channel allowed or not
and why, the history newest first, a bounced address in words, and staff recording what the
client said (the owner and the client's own member of staff, with the form's CSRF token).
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW
from keepwarm.config import Settings
from keepwarm.services.consent import client_consent, record, set_consent
from keepwarm.store import writing
from test_web_today import _practice


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    _practice(engine, settings, tmp_path)
    return engine


def _events(engine: sa.Engine) -> list[tuple[str, bool, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM consent_events ORDER BY id"))
        return [(r.channel, bool(r.allowed), r.source, r.actor) for r in rows]


def _bounce(engine: sa.Engine, ref: str = "C0", address: str = "c0@example.com") -> None:
    with writing(engine) as conn:
        internal = conn.execute(
            sa.text("SELECT id FROM clients WHERE external_id = :r"), {"r": ref}
        ).scalar_one()
        record(
            conn,
            client_id=internal,
            channel="email",
            allowed=False,
            source="bounce",
            actor="the mail server (bounce)",
            now=NOW,
            address=address,
        )


def _block(html: str) -> str:
    start = html.index('id="consent-h"')
    return html[start : html.index("</section>", start)]


def test_the_client_page_shows_each_channel_and_why(practice, web) -> None:  # type: ignore[no-untyped-def]
    set_consent(practice, "C0", "email", False, actor="C0", now=NOW, source="unsubscribe")
    block = _block(web().get("/clients/C0").text)
    assert "Contact preferences" in block
    assert "not allowed: unsubscribed on 24 Nov 2026" in block
    assert "not allowed: no consent to texts on record" in block
    assert 'class="consent-phone allowed">allowed' in block
    assert "refused by C0 (unsubscribe)" in block  # the history


def test_a_bounced_address_shows_prominently(practice, web) -> None:  # type: ignore[no-untyped-def]
    _bounce(practice)
    block = _block(web().get("/clients/C0").text)
    assert (
        "Email to c0@example.com bounced on 24 Nov 2026 — call instead, and correct the address"
        in block
    )
    assert client_consent(practice, "C1").bounced is None


def test_the_clients_member_of_staff_records_agreed_to_texts(practice, web) -> None:  # type: ignore[no-untyped-def]
    dana = web("dana@example.com", "staff", staff="Dana")
    answer = dana.post(
        "/clients/C0/consent", {"choice": "sms:allow", "source": "request", "note": "at the desk"}
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/clients/C0?")
    assert _events(practice) == [("sms", True, "request", "dana@example.com")]
    sms = next(s for s in client_consent(practice, "C0").states if s.channel == "sms")
    assert sms.allowed
    page = dana.get(answer.headers["location"]).text
    assert "at the desk" in _block(page) and "Contact preference recorded." in page


def test_the_owner_records_asked_not_to_be_emailed(practice, web) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    answer = owner.post("/clients/C4/consent", {"choice": "email:refuse", "source": "staff"})
    assert answer.status_code == 303
    assert _events(practice) == [("email", False, "staff", "owner@example.com")]


def test_another_member_of_staff_may_not_and_the_form_needs_its_token(practice, web) -> None:  # type: ignore[no-untyped-def]
    sam = web("sam@example.com", "staff", staff="Sam")  # C0 is Dana's
    assert sam.post("/clients/C0/consent", {"choice": "sms:allow"}).status_code == 403
    assert 'action="/clients/C0/consent"' not in sam.get("/clients/C0").text
    owner = web()
    forged = owner.client.post("/clients/C0/consent", data={"choice": "sms:allow"})
    assert forged.status_code == 403
    assert owner.post("/clients/C0/consent", {"choice": "sms:maybe"}).status_code == 400
    assert _events(practice) == []


def test_the_cli_records_and_shows_consent(practice, cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("consent", "C0", "--channel", "sms", "--allow", "--source", "request")
    assert done.exit_code == 0, done.output
    assert "Recorded: sms allowed for client C0." in done.output
    cli("consent", "C0", "--channel", "email", "--refuse", "--note", "asked by phone")
    shown = cli("consent", "C0")
    assert shown.exit_code == 0
    assert "sms    allowed" in shown.output
    assert "email  not allowed: the client asked not to be contacted this way" in shown.output
    assert shown.output.index("email refused") < shown.output.index("sms allowed")  # newest first
    data = json.loads(cli("consent", "C0", "--format", "json").output)
    assert data["channels"]["sms"]["allowed"] is True
    assert data["channels"]["email"]["latest"]["note"] == "asked by phone"
    assert [e["channel"] for e in data["history"]] == ["email", "sms"]


def test_the_cli_names_what_is_wrong(practice, cli) -> None:  # type: ignore[no-untyped-def]
    both = cli("consent", "C0", "--channel", "sms", "--allow", "--refuse")
    assert both.exit_code == 2 and "--allow or --refuse" in both.output
    bad = cli("consent", "C0", "--channel", "fax", "--allow")
    assert bad.exit_code == 2 and "email, sms, post, phone" in bad.output
    unknown = cli("consent", "NOPE", "--channel", "sms", "--allow")
    assert unknown.exit_code == 1 and "no client 'NOPE'" in unknown.output
    assert _events(practice) == []


def test_the_cli_shows_a_bounce(practice, cli) -> None:  # type: ignore[no-untyped-def]
    _bounce(practice)
    shown = cli("consent", "C0").output
    assert shown.startswith("Email to c0@example.com bounced on 24 Nov 2026")


def test_bounces_check_without_a_mailbox_says_what_to_set(practice, cli) -> None:  # type: ignore[no-untyped-def]
    answer = cli("bounces", "check")
    assert answer.exit_code == 1 and "KEEPWARM_IMAP_URL" in answer.output
