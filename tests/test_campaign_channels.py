"""A campaign with a message per channel, in an order of preference, on SQLite and PostgreSQL:
each treated member gets a wave once, by the first channel they can receive (the letter when
there is no email address, or email is refused); only those who can receive none are left out,
the preview counts each channel, the outbox still asks consent when it delivers, the migration
turns an existing campaign's channel into a one-item list, and the CLI and the form round-trip.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.audience import Filters
from keepwarm.domain.errors import InvalidInput
from keepwarm.services import campaigns as svc
from keepwarm.services.consent import set_consent
from keepwarm.services.delivery import deliver_due
from keepwarm.store.tables import campaign_sends, clients, outbox, print_items
from keepwarm.store.tables import campaigns as campaign_rows
from smtp_support import running_smtp
from test_web_today import _practice

MAIL = {
    "smtp_url": "smtp://127.0.0.1:2525",
    "mail_from": "Northside Physio <hello@northside.example>",
    "base_url": "https://keepwarm.example.com",
}
EMAIL_THEN_LETTER = [
    svc.Message("email", "We miss you, {{ first_name }}", "Dear {{ first_name }}, by email."),
    svc.Message("letter", None, "Dear {{ first_name }}, on paper."),
]
BOTH_MISSING = "email: no email address; letter: no postal address"


@pytest.fixture
def mail(settings: Settings) -> Settings:
    return settings.replace(**MAIL)


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    """C0 has only an address; C1 an email and an address; C2 neither; C3 both but is do not
    contact; C4 both, unsubscribed from email."""
    _practice(engine, settings, tmp_path)
    changes = {
        "C0": {"email": None, "address": "1 Oak Street, Portland OR 97201"},
        "C1": {"address": "2 Elm Street, Portland OR 97201"},
        "C2": {"email": None, "address": None},
        "C3": {"address": "3 Ash Street, Portland OR 97201", "do_not_contact": True},
        "C4": {"address": "4 Fir Street, Portland OR 97201"},
    }
    with engine.begin() as conn:
        for ref, values in changes.items():
            conn.execute(sa.update(clients).where(clients.c.external_id == ref).values(**values))
    set_consent(engine, "C4", "email", False, actor="C4", now=NOW, source="unsubscribe")
    return engine


def _create(engine: sa.Engine, name: str = "reach", **changes: object) -> svc.Campaign:
    values: dict[str, object] = {
        "kind": "win_back",
        "filters": Filters(tags=("vip",)),
        "messages": EMAIL_THEN_LETTER,
        "waves": [TODAY, TODAY + dt.timedelta(days=7)],
        "holdout_share": 0.0,
    }
    values.update(changes)
    return svc.create(engine, name, by=None, now=NOW, **values)  # type: ignore[arg-type]


def _sent(engine: sa.Engine) -> tuple[dict[str, str], dict[str, str]]:
    """Who got what: business id -> email address (outbox), business id -> letter body."""
    with engine.connect() as conn:
        emails = conn.execute(
            sa.select(clients.c.external_id, outbox.c.to_address).join(
                clients, clients.c.id == outbox.c.client_id
            )
        )
        letters = conn.execute(
            sa.select(clients.c.external_id, print_items.c.body).join(
                clients, clients.c.id == print_items.c.client_id
            )
        )
        return {r: a for r, a in emails}, {r: b for r, b in letters}


def test_a_client_with_only_an_address_gets_the_letter_and_one_with_email_the_email(  # type: ignore[no-untyped-def]
    practice, mail
) -> None:
    _create(practice)
    report = svc.send_wave(practice, mail, "reach", day=TODAY, now=NOW, by=None)
    emails, letters = _sent(practice)
    assert emails == {"C1": "c1@example.com"}
    # C0 has no email address, C4 unsubscribed from email: both get the letter
    assert sorted(letters) == ["C0", "C4"] and letters["C0"] == "Dear Client, on paper."
    assert (report.queued, report.letters) == (1, 2)
    assert report.by_channel == {"email": 1, "letter": 2}
    assert "1 message(s) queued (1 email), 2 letter(s) in the letters to print" in report.summary()
    sends = {s.client: s for s in svc.detail(practice, "reach").sends}
    # C2 can receive neither, C3 is do not contact: never members, nothing on any channel
    assert sorted(sends) == ["C0", "C1", "C4"]
    assert [sends[c].channel for c in ("C0", "C1", "C4")] == ["letter", "email", "letter"]


def test_nobody_gets_two_channels_in_a_wave_and_each_wave_reaches_each_member_once(  # type: ignore[no-untyped-def]
    practice, mail
) -> None:
    _create(practice)
    svc.send_wave(practice, mail, "reach", day=TODAY, now=NOW, by=None)
    later = TODAY + dt.timedelta(days=7)
    svc.send_wave(practice, mail, "reach", day=later, now=NOW, by=None)
    with practice.connect() as conn:
        rows = conn.execute(
            sa.select(
                campaign_sends.c.wave_id,
                campaign_sends.c.client_id,
                campaign_sends.c.outbox_id,
                campaign_sends.c.print_item_id,
            )
        ).all()
        keys = list(conn.scalars(sa.select(outbox.c.key)))
    assert len({(r.wave_id, r.client_id) for r in rows}) == len(rows) == 2 * 3
    assert not any(r.outbox_id and r.print_item_id for r in rows)
    assert len(keys) == len(set(keys)) == 2  # C1's email, once per wave
    assert sum(1 for r in rows if r.print_item_id) == 4  # C0's and C4's letters, per wave


def test_the_preview_counts_each_channel_and_says_why_the_others_are_left_out(  # type: ignore[no-untyped-def]
    practice, mail
) -> None:
    _create(practice)
    shown = svc.preview(practice, mail, "reach", today=TODAY)
    assert shown.by_channel == {"email": 1, "letter": 2} and shown.pieces == 3
    data = shown.as_json()
    assert data["by_channel"] == {"email": 1, "letter": 2} and data["count"] == 3
    assert {g["reason"]: g["count"] for g in data["excluded"]} == {  # type: ignore[union-attr]
        "the client is marked do not contact": 1,
        BOTH_MISSING: 1,
    }
    assert [m["channel"] for m in data["messages"]] == ["email", "letter"]  # type: ignore[union-attr,index]
    report = svc.send_wave(practice, mail, "reach", day=TODAY, now=NOW, by=None)
    assert report.by_channel == shown.by_channel  # the preview said what the wave did


def test_a_one_channel_campaign_still_leaves_out_clients_without_that_address(  # type: ignore[no-untyped-def]
    practice, mail
) -> None:
    _create(practice, messages=EMAIL_THEN_LETTER[:1])
    shown = svc.preview(practice, mail, "reach", today=TODAY)
    assert shown.by_channel == {"email": 1}
    reasons = {g.reason: g.count for g in shown.audience.excluded}
    assert reasons["no email address"] == 2 and reasons["unsubscribed"] == 1
    report = svc.send_wave(practice, mail, "reach", day=TODAY, now=NOW, by=None)
    assert (report.queued, report.letters) == (1, 0)
    assert report.summary() == f"reach, wave of {TODAY}: 1 message(s) queued, 0 held out."


def test_consent_withdrawn_for_email_after_queuing_is_not_sent_nor_turned_into_a_letter(  # type: ignore[no-untyped-def]
    practice, settings
) -> None:
    _create(practice)
    with running_smtp() as (_, port, handler):
        mail = settings.replace(**{**MAIL, "smtp_url": f"smtp://127.0.0.1:{port}"})
        svc.send_wave(practice, mail, "reach", day=TODAY, now=NOW, by=None)
        set_consent(practice, "C1", "email", False, actor="C1", now=NOW, source="unsubscribe")
        deliver_due(practice, mail, now_fn=lambda: NOW)
        got = handler.messages
    assert got == []
    _, letters = _sent(practice)
    assert sorted(letters) == ["C0", "C4"]  # the wave has gone: no letter instead


def test_one_per_address_gives_a_shared_home_one_piece_on_its_first_members_channel(  # type: ignore[no-untyped-def]
    practice, mail
) -> None:
    with practice.begin() as conn:
        conn.execute(
            sa.update(clients)
            .where(clients.c.external_id == "C4")
            .values(address="1 oak street portland or 97201")
        )
    _create(practice, one_per_address=True)
    shown = svc.preview(practice, mail, "reach", today=TODAY)
    report = svc.send_wave(practice, mail, "reach", day=TODAY, now=NOW, by=None)
    _, letters = _sent(practice)
    assert sorted(letters) == ["C0"]  # C4 shares C0's address and gets the letter by it too
    assert report.skipped["one per address: someone there already gets it"] == 1
    assert shown.by_channel == report.by_channel == {"email": 1, "letter": 1}


def test_channels_are_checked_and_edited_until_the_first_wave(practice, mail) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=r"^channel: email is given twice"):
        _create(practice, messages=[EMAIL_THEN_LETTER[0], EMAIL_THEN_LETTER[0]])
    with pytest.raises(InvalidInput, match=r"^body \(letter\): the message is empty"):
        _create(practice, messages=[EMAIL_THEN_LETTER[0], svc.Message("letter", None, " ")])
    with pytest.raises(InvalidInput, match=r"^channel: at least one|^channel: a campaign needs"):
        _create(practice, messages=[])
    _create(practice)
    edited = svc.edit(practice, "reach", now=NOW, messages=EMAIL_THEN_LETTER[::-1])
    assert edited.channels == ("letter", "email") and edited.channel == "letter"
    assert svc.edit(practice, "reach", now=NOW, body="Hello on paper").messages[0].body == (
        "Hello on paper"
    )


def test_the_migration_makes_an_existing_campaigns_channel_a_one_item_list(db_url: str) -> None:
    from alembic import command

    from keepwarm.store import connect, migrate
    from keepwarm.store.migrate import _config

    engine = connect(db_url, create=True)
    config = _config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0028_audit_and_backups")
        conn.execute(
            sa.text(
                "INSERT INTO campaigns (name, kind, channel, subject, body, created_by, "
                "created_at, updated_at) VALUES ('old', 'holiday', 'letter', NULL, 'Dear x', "
                "'test', :now, :now)"
            ),
            {"now": NOW},
        )
        conn.commit()
    migrate(engine)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(campaign_rows.c.messages)).scalar_one()
    assert json.loads(stored) == [{"channel": "letter", "subject": None, "body": "Dear x"}]
    old = svc.get(engine, "old")
    assert old.channels == ("letter",) and old.message("letter").body == "Dear x"
    engine.dispose()


def test_the_cli_takes_channels_in_order_with_a_message_each(cli, practice, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "email.txt").write_text("Dear {{ first_name }}, by email.", encoding="utf-8")
    (tmp_path / "letter.txt").write_text("Dear {{ first_name }}, on paper.", encoding="utf-8")
    made = cli(
        "campaign", "create", "autumn", "--channel", "email", "--channel", "letter",
        "--subject", "Hello {{ first_name }}", "--body-file-email", str(tmp_path / "email.txt"),
        "--body-file-letter", str(tmp_path / "letter.txt"), "--tag", "vip",
        "--wave", str(dt.date.today() + dt.timedelta(days=3)), "--holdout-share", "0",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "Created 'autumn' (custom, email, else letter)" in made.output
    shown = json.loads(cli("campaign", "show", "autumn", "--format", "json").output)
    assert shown["channels"] == ["email", "letter"]
    assert shown["messages"] == [
        {
            "channel": "email",
            "subject": "Hello {{ first_name }}",
            "body": EMAIL_THEN_LETTER[0].body,
        },
        {"channel": "letter", "subject": None, "body": EMAIL_THEN_LETTER[1].body},
    ]
    preview = json.loads(cli("campaign", "preview", "autumn", "--format", "json").output)
    assert preview["by_channel"] == {"email": 1, "letter": 2}
    text = cli("campaign", "preview", "autumn").output
    assert "By channel (the first each client can receive): 1 by email, 2 by letter." in text
    # a starting point gives its drafts for the channels asked for, in the order given
    cards = cli(
        "campaign", "create", "--from", "holiday-cards", "cards", "--channel", "letter",
        "--channel", "email", "--wave", str(dt.date.today() + dt.timedelta(days=3)),
    )  # fmt: skip
    assert cards.exit_code == 0, cards.output
    got = json.loads(cli("campaign", "show", "cards", "--format", "json").output)
    assert got["channels"] == ["letter", "email"] and got["messages"][1]["subject"]
    wrong = cli(
        "campaign", "create", "x", "--channel", "email", "--subject", "Hi", "--body-file",
        str(tmp_path / "email.txt"), "--body-file-letter", str(tmp_path / "letter.txt"),
        "--wave", str(dt.date.today()),
    )  # fmt: skip
    assert wrong.exit_code == 1 and "--body-file-letter: the campaign has no letter" in wrong.output


def test_the_form_ticks_channels_in_order_and_edits_each_message(practice, web) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    page = owner.get("/campaigns/new?from=win-back").text
    assert 'name="channel_email" value="yes" checked' in page
    assert 'name="channel_letter" value="yes" checked' in page
    assert 'name="channel_sms" value="yes" >' in page  # offered, not ticked
    form = {
        "start": "win-back",
        "name": "by-form",
        "channel_email": "yes",
        "order_email": "2",
        "subject_email": "Hello {{ first_name }}",
        "body_email": "Dear {{ first_name }}, by email.",
        "channel_letter": "yes",
        "order_letter": "1",
        "body_letter": "{{ nope }}",
        "order_sms": "3",
        "body_sms": "Hi",
        "tags": "vip",
        "waves": str(TODAY),
        "holdout_percent": "0",
        "holdout_min": "1",
        "return_days": "60",
    }
    refused = owner.post("/campaigns/new", form)
    assert refused.status_code == 400 and "body (letter):" in refused.text
    assert "{{ nope }}" in refused.text.replace("&#39;", "'")  # what was typed stays
    made = owner.post("/campaigns/new", {**form, "body_letter": "Dear {{ first_name }}, paper."})
    assert made.status_code == 303
    campaign = svc.get(practice, "by-form")
    assert campaign.channels == ("letter", "email")
    assert campaign.message("email").subject == "Hello {{ first_name }}"
    preview = owner.get("/campaigns/by-form/preview").text
    # letters first: everyone with an address (C0, C1, C4) gets one, nobody an email
    assert 'data-channel-count="letter">3<' in preview
    assert owner.get("/campaigns/by-form/preview.json").json()["by_channel"] == {"letter": 3}
