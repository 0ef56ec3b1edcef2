"""Today's list end to end: CSV in through the import path, `keepwarm today --format json`
out, on both backends; and `run-daily` makes one plan per date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from test_signals_service import AS_OF, _write

DAY = AS_OF.isoformat()


@pytest.fixture
def practice(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    for name in ("Dana", "Sam"):
        assert cli("staff", "add", name, "--weekly-quota", "3").exit_code == 0
    for kind, path in zip(("clients", "activities", "touches"), _write(tmp_path), strict=True):
        result = cli("import", kind, str(path))
        assert result.exit_code == 0, result.output
    return cli


def _today(cli, *args: str) -> dict:  # type: ignore[no-untyped-def]
    cli("run-daily", "--as-of", DAY)
    result = cli("today", "--as-of", DAY, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_cancellation_with_no_touch_since_is_at_the_top_of_a_list(practice) -> None:  # type: ignore[no-untyped-def]
    listed = _today(practice)
    assert listed["as_of"] == DAY
    gone = next(a for a in listed["actions"] if a["client"]["id"] == "GONE")
    assert gone["rank"] == 1
    assert gone["signals"][0]["code"] == "cancellation"
    assert gone["draft"] and gone["channel"]


def test_the_json_has_the_documented_contract(practice) -> None:  # type: ignore[no-untyped-def]
    actions = _today(practice)["actions"]
    assert actions
    for action in actions:
        assert {"id", "client", "staff", "priority", "signals", "channel", "draft"} <= set(action)
        assert set(action["client"]) == {"id", "name"}
        assert all({"code", "explanation"} <= set(s) for s in action["signals"])


def test_a_do_not_contact_client_never_appears(practice) -> None:  # type: ignore[no-untyped-def]
    assert "QUIET" not in {a["client"]["id"] for a in _today(practice)["actions"]}


def test_quotas_are_filled_for_every_member_of_staff(practice) -> None:  # type: ignore[no-untyped-def]
    actions = _today(practice)["actions"]
    assert {a["staff"] for a in actions} == {"Dana", "Sam"}


def test_run_daily_twice_makes_one_plan(practice, engine) -> None:  # type: ignore[no-untyped-def]
    first = practice("run-daily", "--as-of", DAY)
    assert first.exit_code == 0 and "Planned" in first.output
    with engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT id, client_id, rank FROM actions ORDER BY id").all()
    second = practice("run-daily", "--as-of", DAY)
    assert "already made; nothing changed" in second.output
    with engine.connect() as conn:
        after = conn.exec_driver_sql("SELECT id, client_id, rank FROM actions ORDER BY id").all()
        plans = conn.exec_driver_sql("SELECT COUNT(*) FROM plans").scalar()
    assert after == before and before
    assert plans == 1


def _actions_table(engine) -> list[tuple]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM actions ORDER BY id")]


def test_looking_at_another_day_changes_nothing(practice, engine) -> None:  # type: ignore[no-untyped-def]
    assert practice("run-daily", "--as-of", DAY).exit_code == 0
    before = _actions_table(engine)
    for other in ("2026-06-01", "2026-07-15"):
        looked = practice("today", "--as-of", other, "--format", "json")
        assert looked.exit_code == 0, looked.output
        shown = json.loads(looked.output)
        assert shown["planned"] is False and shown["latest_plan"] == DAY
        assert {a["day"] for a in shown["actions"]} == {DAY}  # each action names its day
    text = practice("today", "--as-of", "2026-07-15").output
    assert "The plan for 2026-07-15 is not made" in text and f"planned Tue {DAY}" in text
    assert _actions_table(engine) == before and before


def test_plans_go_forward_in_time(practice, engine) -> None:  # type: ignore[no-untyped-def]
    assert practice("run-daily", "--as-of", DAY).exit_code == 0
    before = _actions_table(engine)
    back = practice("run-daily", "--as-of", "2026-06-29")
    assert back.exit_code == 1
    assert "plans go forward in time" in " ".join(back.output.split())
    assert _actions_table(engine) == before


def test_one_staff_members_list_holds_only_their_actions(practice) -> None:  # type: ignore[no-untyped-def]
    mine = _today(practice, "--staff", "Dana")["actions"]
    assert mine and {a["staff"] for a in mine} == {"Dana"}


def _action_for(cli, client_id: str) -> dict:  # type: ignore[no-untyped-def]
    return next(a for a in _today(cli)["actions"] if a["client"]["id"] == client_id)


def _listed(cli) -> set[str]:  # type: ignore[no-untyped-def]
    return {a["client"]["id"] for a in _today(cli)["actions"]}


def test_done_records_the_touch_and_takes_the_action_off_the_list(practice) -> None:  # type: ignore[no-untyped-def]
    action = _action_for(practice, "GONE")
    result = practice(
        "done",
        str(action["id"]),
        "--channel",
        "call",
        "--outcome",
        "reached",
        "--note",
        "Will think it over",
    )
    assert result.exit_code == 0, result.output
    assert "GONE" not in _listed(practice)
    card = json.loads(practice("client", "GONE", "--format", "json").output)
    assert any(
        t["note"] == "Will think it over" and t["channel"] == "call" for t in card["touches"]
    )
    again = practice("done", str(action["id"]))
    assert again.exit_code == 1 and "already done" in again.output


def test_a_snoozed_action_comes_back_on_its_date(practice, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The clock, the one thing mocked: it is the scenario's day, 9 in the morning.
    morning = dt.datetime.combine(AS_OF, dt.time(9), tzinfo=dt.UTC)
    monkeypatch.setattr("keepwarm.cli.today.now", lambda: morning)
    action = _action_for(practice, "GONE")
    result = practice("snooze", str(action["id"]), "--until", "2026-07-03")
    assert result.exit_code == 0, result.output
    assert "GONE" not in _listed(practice)
    assert practice("run-daily", "--as-of", "2026-07-03").exit_code == 0
    later = practice("today", "--as-of", "2026-07-03", "--format", "json")
    assert "GONE" in {a["client"]["id"] for a in json.loads(later.output)["actions"]}


def test_a_dismissed_action_does_not_return_for_the_same_reason(practice) -> None:  # type: ignore[no-untyped-def]
    action = _action_for(practice, "GONE")
    assert practice("dismiss", str(action["id"]), "--reason", "Moved away").exit_code == 0
    assert practice("run-daily", "--as-of", "2026-07-01").exit_code == 0
    later = practice("today", "--as-of", "2026-07-01", "--format", "json")
    returned = [a for a in json.loads(later.output)["actions"] if a["client"]["id"] == "GONE"]
    assert all(s["code"] != "cancellation" for a in returned for s in a["signals"])


def test_a_touch_logged_any_other_way_closes_the_open_action(practice) -> None:  # type: ignore[no-untyped-def]
    assert "GONE" in _listed(practice)
    result = practice("touch", "GONE", "--channel", "call", "--date", DAY, "--note", "Rang")
    assert result.exit_code == 0, result.output
    assert "GONE" not in _listed(practice)


def test_the_quota_counts_personal_touches_of_the_week_per_staff(practice, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    week = tmp_path / "week.csv"
    week.write_text(
        "client_id,date,channel,staff\n"
        "B001,2026-06-29,call,Dana\nB002,2026-06-30,card,Dana\n"
        "B003,2026-07-01,newsletter,Dana\nB004,2026-06-22,call,Sam\n"
    )
    assert practice("import", "touches", str(week)).exit_code == 0
    result = practice("quota", "--week", "2026-07-01", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["week_of"] == "2026-06-29"
    by_name = {x["staff"]: x for x in report["staff"]}
    assert by_name["Dana"] == {
        "staff": "Dana",
        "weekly_quota": 3,
        "quota_source": "own",
        "daily_capacity": 5,
        "capacity_source": "practice default",
        "done": 2,
        "met": False,
        "waiting": 0,
    }
    assert by_name["Sam"]["done"] == 0  # last week's call does not count


def test_the_calendar_feed_has_one_event_per_action_with_a_stable_uid(practice) -> None:  # type: ignore[no-untyped-def]
    from icalendar import Calendar

    mine = _today(practice, "--staff", "Sam")["actions"]
    feeds = [practice("calendar", "Sam", "--as-of", DAY) for _ in range(2)]
    assert all(f.exit_code == 0 for f in feeds), feeds[0].output
    parsed = [Calendar.from_ical(f.stdout_bytes) for f in feeds]
    events = [list(cal.walk("VEVENT")) for cal in parsed]
    assert len(events[0]) == len(mine) > 0
    assert {str(e["UID"]) for e in events[0]} == {str(e["UID"]) for e in events[1]}
    names = {a["client"]["name"] for a in mine}
    assert all(any(n in str(e["SUMMARY"]) for n in names) for e in events[0])
    assert all(e.decoded("DTSTART") == AS_OF for e in events[0])


def test_the_calendar_of_an_unknown_member_of_staff_is_an_error(practice) -> None:  # type: ignore[no-untyped-def]
    result = practice("calendar", "Nobody", "--as-of", DAY)
    assert result.exit_code == 1 and "no staff member called 'Nobody'" in result.output
