"""`keepwarm campaign create | list | show | preview | send` on SQLite and PostgreSQL: created
from a starting point, previewed, sent once through the outbox (a second send adds nothing),
with JSON for list, show and preview and an example in every --help."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepwarm.config import Settings
from keepwarm.store.tables import outbox
from test_web_today import _practice

TODAY_REAL = dt.date.today()  # the CLI reads the clock (the policy's local day)


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path, monkeypatch) -> sa.Engine:  # type: ignore[no-untyped-def]
    _practice(engine, settings, tmp_path)
    monkeypatch.setenv("KEEPWARM_SMTP_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("KEEPWARM_MAIL_FROM", "Northside Physio <hello@northside.example>")
    monkeypatch.setenv("KEEPWARM_BASE_URL", "https://keepwarm.example.com")
    return engine


def _json(result) -> object:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _create(cli, *extra: str):  # type: ignore[no-untyped-def]
    wave = str(TODAY_REAL - dt.timedelta(days=1))
    return cli(
        "campaign", "create", "--from", "win-back", "valentines", "--tag", "vip",
        "--wave", wave, "--wave", str(TODAY_REAL + dt.timedelta(days=7)),
        "--holdout-min", "1", "--holdout-share", "0.2", *extra,
    )  # fmt: skip


@pytest.mark.parametrize("command", ["create", "list", "show", "preview", "send"])
def test_every_campaign_command_shows_an_example_in_its_help(cli, command) -> None:  # type: ignore[no-untyped-def]
    result = cli("campaign", command, "--help")
    assert result.exit_code == 0 and "keepwarm campaign " + command in result.output


def test_create_from_win_back_then_list_and_show_as_json(cli, practice) -> None:  # type: ignore[no-untyped-def]
    made = _create(cli)
    assert made.exit_code == 0, made.output
    assert "Created 'valentines' (win_back, email, else letter)" in made.output
    [listed] = _json(cli("campaign", "list", "--format", "json"))  # type: ignore[misc]
    assert listed["status"] == "draft" and listed["audience"] == {"tags": ["vip"]}
    assert listed["offer"] == "15% off your next session until 31 March"
    shown = _json(cli("campaign", "show", "valentines", "--format", "json"))
    assert len(shown["waves"]) == 2 and shown["members"] == []  # type: ignore[index]


def test_create_without_wave_dates_asks_for_them(cli, practice) -> None:  # type: ignore[no-untyped-def]
    result = cli("campaign", "create", "--from", "win-back", "quiet")
    assert result.exit_code == 1 and "--wave: give each wave's date" in result.output


def test_preview_shows_the_count_the_holdout_and_the_message(cli, practice) -> None:  # type: ignore[no-untyped-def]
    _create(cli)
    shown = _json(cli("campaign", "preview", "valentines", "--format", "json"))
    assert shown["count"] == 5 and shown["holdout"] + shown["treated"] == 5  # type: ignore[index]
    assert "15% off your next session" in shown["message"]["body"]  # type: ignore[index]
    with practice.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == 0


def test_send_queues_the_due_wave_once(cli, practice) -> None:  # type: ignore[no-untyped-def]
    _create(cli)
    [report] = _json(cli("campaign", "send", "valentines", "--format", "json"))  # type: ignore[misc]
    with practice.connect() as conn:
        queued = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
    assert report["queued"] == queued and queued + report["held_out"] == 5
    again = cli("campaign", "send", "valentines")
    assert "nothing due; the next wave is on" in again.output
    with practice.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == queued
    text = cli("campaign", "show", "valentines").output
    assert "waves sent" in text and f"Sent: {queued}" in text
