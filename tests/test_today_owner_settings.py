"""The owner's own settings reach the morning list: key-purchase anniversaries, the owner's
draft templates (checked when saved), and feedback asked at most once per period. CSV in
through the import path, `keepwarm today --format json` out, on both backends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest


def _practice(cli, folder: Path, clients: list[str], visits: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert cli("staff", "add", "Dana", "--weekly-quota", "20").exit_code == 0
    assert cli("policy", "set", "daily_capacity", "20").exit_code == 0
    for kind, lines in (("clients", clients), ("activities", visits)):
        path = folder / f"{kind}.csv"
        path.write_text("\n".join(lines) + "\n")
        result = cli("import", kind, str(path))
        assert result.exit_code == 0, result.output


def _actions(cli, day: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    assert cli("run-daily", "--as-of", day).exit_code == 0
    result = cli("today", "--as-of", day, "--format", "json")
    assert result.exit_code == 0, result.output
    return {a["client"]["id"]: a for a in json.loads(result.output)["actions"]}


def _codes(action: dict | None) -> set[str]:
    return {s["code"] for s in action["signals"]} if action else set()


@pytest.fixture
def realtor(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    _practice(
        cli,
        tmp_path,
        [
            "id,name,owner,since,email,address",
            "HOME,Hana Home,Dana,2019-05-10,hana@example.com,1 Elm St",
            "RENT,Remy Rent,Dana,2019-05-10,remy@example.com,2 Elm St",
            "OLD,Otto Old,Dana,2019-05-10,otto@example.com,3 Elm St",
        ],
        [
            "client_id,date,amount,kind",
            "HOME,2025-12-03,450000.00,house purchase",
            "RENT,2025-12-03,1200.00,rental",
            "OLD,2025-06-01,300000.00,house purchase",
        ],
    )
    touches = tmp_path / "touches.csv"  # all called lately: no cadence reason to contact them
    touches.write_text("client_id,date,channel\nHOME,2026-11-02,call\nRENT,2026-11-02,call\n")
    assert cli("import", "touches", str(touches)).exit_code == 0
    return cli


def test_a_key_purchase_anniversary_appears_when_the_kind_is_named(realtor) -> None:  # type: ignore[no-untyped-def]
    assert "anniversary" not in _codes(_actions(realtor, "2026-11-30").get("HOME"))


def test_the_anniversary_of_a_key_purchase_gets_a_card_and_its_own_draft(realtor) -> None:  # type: ignore[no-untyped-def]
    result = realtor("policy", "set", "key_purchases", '["house purchase"]')
    assert result.exit_code == 0, result.output
    actions = _actions(realtor, "2026-11-30")
    home = actions["HOME"]
    said = next(s["explanation"] for s in home["signals"] if s["code"] == "anniversary")
    assert said.startswith("1 year since the house purchase on Thu 3 Dec (in 3 days)")
    assert "03 Dec 2025" in said
    assert home["channel"] == "card"
    assert "a year since your house purchase" in home["draft"]
    # the same date for another kind, and a purchase whose anniversary is months away: no card
    assert "anniversary" not in _codes(actions.get("RENT"))
    assert "anniversary" not in _codes(actions.get("OLD"))


def test_the_owners_template_is_used_for_the_draft(realtor) -> None:  # type: ignore[no-untyped-def]
    assert realtor("policy", "set", "key_purchases", '["house purchase"]').exit_code == 0
    mine = "Hi {{ first_name }}! {{ years }} in your home - from all of us at Keys & Co."
    result = realtor("policy", "set", "templates.anniversary.letter", mine)
    assert result.exit_code == 0, result.output
    shown = json.loads(realtor("policy", "show", "--format", "json").output)
    assert shown["templates"] == {"anniversary": {"letter": mine}}
    draft = _actions(realtor, "2026-11-30")["HOME"]["draft"]
    assert draft == "Hi Hana! a year in your home - from all of us at Keys & Co."


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("templates.anniversary.letter", "Hi {{ first_name", "templates.anniversary.letter"),
        ("templates.anniversary.letter", "Hi {{ nickname }}", "nickname"),
        ("templates.anniversary.letter", "{{ 1 // 0 }}", "templates.anniversary.letter"),
        ("templates.anniversary.letter", "{{ ''.__class__.__mro__ }}", "templates.anniver"),
        (
            "templates.anniversary.letter",
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "loops more than",
        ),
        ("templates.anniversary.letter", "{{ 'x' * 100000000 }}", "over 20,000 long"),
        ("templates.anniversary.poem", "Roses", "choose letter, subject, sms or call"),
        ("templates.anniversaries.letter", "Hi", "no such signal"),
    ],
)
def test_a_template_that_cannot_render_is_refused_and_nothing_changes(
    realtor, key: str, value: str, said: str
) -> None:  # type: ignore[no-untyped-def]
    before = realtor("policy", "show", "--format", "json").output
    result = realtor("policy", "set", key, value)
    assert result.exit_code == 1
    assert said in result.output
    assert realtor("policy", "show", "--format", "json").output == before


def test_an_owner_template_can_be_removed_again(realtor) -> None:  # type: ignore[no-untyped-def]
    assert realtor("policy", "set", "templates.birthday.call", "Sing!").exit_code == 0
    result = realtor("policy", "set", "templates.birthday.call", "null")
    assert result.exit_code == 0 and "Removed" in result.output
    shown = json.loads(realtor("policy", "show", "--format", "json").output)
    assert shown["templates"] == {"birthday": {}}


def test_feedback_is_asked_at_most_once_per_period(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _practice(
        cli,
        tmp_path,
        ["id,name,owner", "FEE,Fern Feedback,Dana"],
        [
            "client_id,date,amount,kind",
            "FEE,2026-01-05,60.00,massage",
            "FEE,2026-03-02,60.00,massage",
            "FEE,2026-09-07,60.00,massage",
        ],
    )
    # The clock, the one thing mocked: the feedback email goes out on the morning of 8 Jan.
    morning = dt.datetime(2026, 1, 8, 9, tzinfo=dt.UTC)
    monkeypatch.setattr("keepwarm.cli.today.now", lambda: morning)
    first = _actions(cli, "2026-01-08")["FEE"]
    assert "feedback" in _codes(first)
    done = cli("done", str(first["id"]), "--channel", "email", "--note", "Asked how it went")
    assert done.exit_code == 0, done.output
    # two months later another visit: asked 54 days ago, so not again within the half year
    assert "feedback" not in _codes(_actions(cli, "2026-03-05").get("FEE"))
    # after the period, the next visit is a reason to ask again, saying when we last asked
    again = _actions(cli, "2026-09-10")["FEE"]
    said = next(s["explanation"] for s in again["signals"] if s["code"] == "feedback")
    assert said.endswith("(last asked 245 days ago)")
