"""`keepwarm send` and `keepwarm outbox ...` at the terminal, delivering to a real SMTP server
on loopback (aiosmtpd). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY, table_snapshot
from keepwarm.services.todays_list import printable, todays_list
from keepwarm.store import outbox as q
from keepwarm.store import writing
from keepwarm.store.tables import actions, clients, outbox
from smtp_support import FaultyHandler, running_smtp
from test_web_today import _practice


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[str, int, FaultyHandler]]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def server(smtp, monkeypatch) -> FaultyHandler:  # type: ignore[no-untyped-def]
    host, port, handler = smtp
    handler.clear()
    handler.messages.clear()
    monkeypatch.setenv("KEEPWARM_SMTP_URL", f"smtp://{host}:{port}")
    monkeypatch.setenv("KEEPWARM_MAIL_FROM", "Northside Physio <hello@northside.example>")
    monkeypatch.setenv("KEEPWARM_BASE_URL", "https://keepwarm.example.com")
    return handler


@pytest.fixture
def practice(engine: sa.Engine, settings, tmp_path: Path) -> sa.Engine:  # type: ignore[no-untyped-def]
    _practice(engine, settings, tmp_path)
    return engine


def _dana(engine: sa.Engine) -> int:
    return next(a.id for a in todays_list(engine, "Dana", day=TODAY))


def _status(engine: sa.Engine, action_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(sa.select(actions.c.status).where(actions.c.id == action_id)).scalar_one()
        )


def _listed(cli, *args: str) -> list[dict]:  # type: ignore[no-untyped-def]
    result = cli("outbox", "list", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_send_without_mail_settings_names_the_variables_and_changes_nothing(
    cli, practice, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    for name in ("KEEPWARM_SMTP_URL", "KEEPWARM_MAIL_FROM", "KEEPWARM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    action_id = _dana(practice)
    before = table_snapshot(practice)
    result = cli("send", str(action_id))
    assert result.exit_code == 1
    assert "KEEPWARM_SMTP_URL, KEEPWARM_MAIL_FROM, KEEPWARM_BASE_URL" in result.output
    assert table_snapshot(practice) == before and _status(practice, action_id) == "open"
    assert _listed(cli) == []
    refused = cli("outbox", "send")
    assert refused.exit_code == 1 and "KEEPWARM_SMTP_URL" in refused.output


def test_send_queues_the_message_and_outbox_send_delivers_it_once(
    cli, practice, server, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    action_id = _dana(practice)
    note = tmp_path / "note.txt"
    note.write_text("Dear Client 0,\n\nhow is the knee?\n\nDana\n", encoding="utf-8")
    result = cli("send", str(action_id), "--subject", "Your knee", "--body-file", str(note))
    assert result.exit_code == 0, result.output
    [listed] = _listed(cli)
    assert f"Queued as message {listed['id']} (email)" in result.output
    assert "`keepwarm outbox send` delivers it" in result.output
    assert (listed["client"], listed["channel"], listed["state"], listed["sent_at"]) == (
        "C0",
        "email",
        "queued",
        None,
    )
    assert listed["created_at"] and listed["to"] == "c0@example.com"
    assert listed["staff"] == "Dana" and listed["subject"] == "Your knee"
    assert _status(practice, action_id) == "done" and server.messages == []

    sent = cli("outbox", "send")
    assert sent.exit_code == 0, sent.output
    assert "sent 1, retry 0, failed 0, unknown 0, throttled 0" in sent.output
    [email] = server.messages
    assert email["Subject"] == "Your knee" and email["To"] == "c0@example.com"
    [listed] = _listed(cli, "--state", "sent")
    assert listed["sent_at"] is not None
    again = cli("outbox", "send")
    assert "sent 0," in again.output and len(server.messages) == 1
    table = cli("outbox", "list")
    assert "C0" in table.output and "sent" in table.output


def test_the_default_message_is_the_actions_draft(cli, practice, server) -> None:  # type: ignore[no-untyped-def]
    action_id = _dana(practice)
    _, draft = printable(practice, action_id, by=None, day=TODAY, channel="email")
    result = cli("send", str(action_id))
    assert result.exit_code == 0, result.output
    [listed] = _listed(cli)
    assert listed["body"] == draft.text.strip() and listed["subject"] == draft.subject.strip()


def test_staff_settle_an_unknown_message_by_marking_it_sent_or_sending_it_again(
    cli, practice, server
) -> None:  # type: ignore[no-untyped-def]
    action_id = _dana(practice)
    assert cli("send", str(action_id)).exit_code == 0
    [queued] = _listed(cli)
    outbox_id = queued["id"]
    with writing(practice) as conn:
        q.move(conn, outbox_id, ("queued",), NOW, state="unknown", last_error="no answer")
    assert _listed(cli, "--state", "unknown")[0]["last_error"] == "no answer"

    refused = cli("outbox", "cancel", str(outbox_id))
    assert refused.exit_code == 1 and "is unknown" in refused.output
    again = cli("outbox", "send-again", str(outbox_id))
    assert again.exit_code == 0 and "queued again" in again.output
    assert _listed(cli)[0]["state"] == "queued"
    with writing(practice) as conn:
        q.move(conn, outbox_id, ("queued",), NOW, state="unknown")
    marked = cli("outbox", "mark-sent", str(outbox_id))
    assert marked.exit_code == 0, marked.output
    with practice.connect() as conn:
        row = q.get(conn, outbox_id)
    assert row.state == "sent" and row.touch_id is not None
    assert server.messages == []  # marking sends nothing
    missing = cli("outbox", "mark-sent", "999")
    assert missing.exit_code == 1 and "no message 999" in missing.output


def test_cancelling_a_queued_message_puts_its_action_back_on_the_list(
    cli, practice, server
) -> None:  # type: ignore[no-untyped-def]
    action_id = _dana(practice)
    assert cli("send", str(action_id)).exit_code == 0
    [queued] = _listed(cli)
    result = cli("outbox", "cancel", str(queued["id"]))
    assert result.exit_code == 0 and "open again" in result.output
    assert _status(practice, action_id) == "open"
    assert "sent 0," in cli("outbox", "send").output and server.messages == []
    with practice.connect() as conn:
        state = conn.execute(sa.select(outbox.c.state)).scalar_one()
    assert state == "cancelled"


def test_a_bad_channel_or_state_is_refused_by_name(cli, practice, server) -> None:  # type: ignore[no-untyped-def]
    result = cli("send", str(_dana(practice)), "--channel", "pigeon")
    assert result.exit_code == 1 and "--channel" in result.output
    listed = cli("outbox", "list", "--state", "lost")
    assert listed.exit_code == 2 and "--state" in listed.output


def test_send_by_letter_puts_it_with_the_letters_to_print(cli, practice, server) -> None:  # type: ignore[no-untyped-def]
    action_id = _dana(practice)
    with writing(practice) as conn:
        conn.execute(
            sa.update(clients)
            .where(clients.c.external_id == "C0")
            .values(address="12 Alder St, Portland, OR 97201")
        )
    result = cli("send", str(action_id), "--channel", "letter")
    assert result.exit_code == 0, result.output
    assert "letters to print" in result.output and "keepwarm print" in result.output
    assert _status(practice, action_id) == "done"
    assert _listed(cli) == [] and server.messages == []  # a letter is not in the outbox


def test_send_help_names_every_channel_it_accepts() -> None:
    from typer.testing import CliRunner

    from keepwarm.cli import app

    shown = CliRunner().invoke(app, ["send", "--help"], env={"COLUMNS": "200"}).output
    text = " ".join(shown.replace("│", " ").split())
    assert "email, sms or letter" in text
    assert "Default: a letter when the list suggests a card or letter" in text
