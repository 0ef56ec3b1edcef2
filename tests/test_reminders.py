"""Reminders: set from a client's page, `keepwarm remind`, or when marking an action done; on
their day first on their member's list (signal "reminder"), beyond the daily capacity, once;
acted on like any action. And the scenario: the BUSY practice's week lived twice, without and
with reminders planted for several days: each is on the right list exactly on its day, the
planted pressing cases stay, and the rest of the plan is the same. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput, NotAllowed
from keepwarm.services import actions as svc
from keepwarm.services.daily_job import run_daily
from keepwarm.services.reminders import FollowUp, client_reminders, set_reminder
from keepwarm.services.todays_list import todays_list
from keepwarm.services.users import add_user
from keepwarm.store import connect
from scenarios import stories as s
from scenarios.practice import Week, fresh_db, live_week
from test_web_today import _practice
from web_support import PASSWORD

NEXT = TODAY + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for where in ("keepwarm.web.auth.clock", "keepwarm.web.pages.clock", "keepwarm.web.api.clock"):
        monkeypatch.setattr(where, lambda: NOW)


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    """Dana (capacity 1: C0 on her list today, C1-C3 waiting) and Sam (C4), planned TODAY."""
    _practice(engine, settings, tmp_path)
    return engine


def _plan(engine: sa.Engine, settings: Settings, day: dt.date) -> None:
    run_daily(engine, settings, day=day, now=dt.datetime.combine(day, NOW.timetz()))


def _reminded(engine: sa.Engine, staff: str, day: dt.date) -> list[Any]:
    return [
        a
        for a in todays_list(engine, staff, day=day)
        if a.signals and a.signals[0]["code"] == "reminder"
    ]


def test_a_reminder_is_first_on_its_members_list_on_its_day_beyond_capacity_once(
    practice: sa.Engine, settings: Settings
) -> None:
    set_reminder(
        practice,
        "C3",
        on=NEXT,
        note="ask about the new glasses",
        staff="Dana",
        by=None,
        day=TODAY,
        now=NOW,
    )
    assert _reminded(practice, "Dana", TODAY) == []  # not before its day
    _plan(practice, settings, NEXT)
    dana = todays_list(practice, "Dana", day=NEXT)
    assert dana[0].client_id == "C3" and dana[0].rank == 1
    assert (
        dana[0].signals[0]["explanation"] == "You asked to be reminded: ask about the new glasses"
    )
    assert dana[0].reason == "You asked to be reminded: ask about the new glasses"
    assert dana[0].channel == "call"
    assert len(dana) == 2  # her capacity of one is full with C0: the reminder took no place
    _plan(practice, settings, NEXT + dt.timedelta(days=1))
    again = [a for a in todays_list(practice, "Dana") if a.client_id == "C3"]
    assert len(again) == 1  # not done: still there, once
    [reminder] = client_reminders(practice, "C3")
    assert reminder.state == "on the list"


def test_a_reminder_for_a_client_already_on_the_list_joins_that_card(
    practice: sa.Engine, settings: Settings
) -> None:
    set_reminder(
        practice, "C0", on=NEXT, note="bring the form", staff="Dana", by=None, day=TODAY, now=NOW
    )
    _plan(practice, settings, NEXT)
    mine = [a for a in todays_list(practice, "Dana", day=NEXT) if a.client_id == "C0"]
    assert len(mine) == 1 and mine[0].rank == 1
    assert [x["code"] for x in mine[0].signals][:2] == ["reminder", "cadence_overdue"]


def test_a_past_date_or_an_empty_note_is_refused_naming_the_field_and_changes_nothing(
    practice: sa.Engine,
) -> None:
    with pytest.raises(InvalidInput, match=r"^on: 2026-11-23 is in the past"):
        set_reminder(
            practice,
            "C1",
            on=TODAY - dt.timedelta(days=1),
            note="x",
            staff="Dana",
            by=None,
            day=TODAY,
            now=NOW,
        )
    with pytest.raises(InvalidInput, match=r"^note: "):
        set_reminder(practice, "C1", on=NEXT, note="  ", staff="Dana", by=None, day=TODAY, now=NOW)
    action = todays_list(practice, "Dana")[0].id
    with pytest.raises(InvalidInput, match=r"^follow_up_on: "):
        svc.act(
            practice,
            action,
            svc.Done(follow_up=FollowUp(TODAY - dt.timedelta(days=2), "x")),
            by=None,
            day=TODAY,
            now=NOW,
        )
    with pytest.raises(InvalidInput, match=r"^follow_up_note: "):
        svc.act(
            practice, action, svc.Done(follow_up=FollowUp(NEXT, " ")), by=None, day=TODAY, now=NOW
        )
    assert client_reminders(practice, "C1") == [] and client_reminders(practice, "C0") == []
    assert action in {a.id for a in todays_list(practice, "Dana")}  # still open, no touch
    assert svc.feed(practice).total == 0


def test_a_reminder_for_today_after_the_plan_is_made_is_on_the_list_at_once(
    practice: sa.Engine,
) -> None:
    set_reminder(
        practice, "C2", on=TODAY, note="call back at four", staff="Sam", by=None, day=TODAY, now=NOW
    )
    [found] = _reminded(practice, "Sam", TODAY)
    assert found.client_id == "C2" and found.rank == 1


def test_done_undo_snooze_and_dismiss_work_on_a_reminder(
    practice: sa.Engine, settings: Settings
) -> None:
    set_reminder(practice, "C3", on=NEXT, note="ring", staff="Dana", by=None, day=TODAY, now=NOW)
    _plan(practice, settings, NEXT)
    [action] = _reminded(practice, "Dana", NEXT)
    svc.act(practice, action.id, svc.Done("call"), by=None, day=NEXT, now=NOW)
    assert _reminded(practice, "Dana", NEXT) == []
    svc.undo(practice, action.id, by=None, now=NOW)
    svc.act(
        practice, action.id, svc.Snooze(NEXT + dt.timedelta(days=2)), by=None, day=NEXT, now=NOW
    )
    _plan(practice, settings, NEXT + dt.timedelta(days=1))
    assert _reminded(practice, "Dana", NEXT) == []
    _plan(practice, settings, NEXT + dt.timedelta(days=2))
    assert [a.id for a in _reminded(practice, "Dana", NEXT)] == [action.id]  # back on its day
    svc.act(practice, action.id, svc.Dismiss("sorted by phone"), by=None, day=NEXT, now=NOW)
    assert _reminded(practice, "Dana", NEXT) == []


def test_staff_set_reminders_for_themselves_only(practice: sa.Engine) -> None:
    sam = add_user(practice, "sam@example.com", PASSWORD, "staff", staff_name="Sam", now=NOW)
    with pytest.raises(NotAllowed):
        set_reminder(practice, "C1", on=NEXT, note="x", staff="Dana", by=sam, day=TODAY, now=NOW)
    mine = set_reminder(practice, "C1", on=NEXT, note="x", staff=None, by=sam, day=TODAY, now=NOW)
    assert mine.staff == "Sam" and mine.set_by == "Sam"


# --- the web app and the command line ------------------------------------------------------------


def test_the_client_page_sets_and_deletes_a_reminder_and_done_sets_a_follow_up(  # type: ignore[no-untyped-def]
    practice, web
) -> None:
    owner = web()
    page = owner.get("/clients/C1").text
    assert 'id="reminders-h"' in page and 'action="/reminders"' in page
    assert 'name="staff"' in page[page.index('action="/reminders"') :]  # the owner chooses
    answer = owner.post(
        "/reminders",
        {"client_id": "C1", "on": NEXT.isoformat(), "note": "send the brochure", "staff": "Sam"},
    )
    assert answer.status_code == 303 and "msg=reminder_set" in answer.headers["location"]
    [reminder] = client_reminders(practice, "C1")
    assert (reminder.staff, reminder.on, reminder.set_by) == ("Sam", NEXT, "owner@example.com")
    page = owner.get("/clients/C1").text
    assert "send the brochure" in page and f'action="/reminders/{reminder.id}/delete"' in page
    past = owner.post("/reminders", {"client_id": "C1", "on": "2026-11-01", "note": "x"})
    assert past.status_code == 400 and "on: 2026-11-01 is in the past" in past.text
    gone = owner.post(f"/reminders/{reminder.id}/delete")
    assert gone.status_code == 303 and client_reminders(practice, "C1") == []
    # Done with a follow-up, from the Today card's fields
    action = todays_list(practice, "Dana")[0].id
    done = owner.post(
        f"/actions/{action}/done",
        {"channel": "call", "follow_up_on": NEXT.isoformat(), "follow_up_note": "how did it go"},
    )
    assert done.status_code == 303
    [follow] = client_reminders(practice, "C0")
    assert (follow.staff, follow.note) == ("Dana", "how did it go")
    owner.post(f"/actions/{action}/undo")
    assert client_reminders(practice, "C0") == []  # taken back with the done


def test_staff_may_not_delete_someone_elses_reminder(practice, web) -> None:  # type: ignore[no-untyped-def]
    theirs = set_reminder(
        practice, "C1", on=NEXT, note="x", staff="Dana", by=None, day=TODAY, now=NOW
    )
    sam = web("sam@example.com", role="staff", staff="Sam")
    assert sam.post(f"/reminders/{theirs.id}/delete").status_code == 403
    assert len(client_reminders(practice, "C1")) == 1


def test_the_command_line_reminds_undoes_reopens_and_shows_the_feed(practice, cli) -> None:  # type: ignore[no-untyped-def]
    on = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    said = cli("remind", "C2", "--on", on, "--note", "call about the new glasses", "--staff", "Sam")
    assert said.exit_code == 0 and f"on Sam's list on {on}" in said.output
    past = cli("remind", "C2", "--on", "2020-01-01", "--note", "x", "--staff", "Sam")
    assert past.exit_code == 1 and "on: 2020-01-01 is in the past" in past.output
    action = todays_list(practice, "Sam")[0].id
    done = cli("done", str(action), "--follow-up-on", on, "--follow-up-note", "check in")
    assert done.exit_code == 0 and f"Reminder set for {on}" in done.output
    assert cli("undo", str(action)).exit_code == 0
    assert action in {a.id for a in todays_list(practice, "Sam")}
    assert cli("dismiss", str(action), "--reason", "retired").exit_code == 0
    assert cli("reopen", str(action)).exit_code == 0
    nothing = cli("undo", str(action))
    assert nothing.exit_code == 1 and "nothing to undo" in nothing.output
    shown = json.loads(cli("feed", "--format", "json").output)
    steps = [e["step"] for e in shown["events"]]
    assert steps[:4] == ["reopened", "dismissed", "undone", "reminder_deleted"]
    assert {e["by"] for e in shown["events"]} == {"command line"}
    assert shown["events"][0]["for"] == "Sam" and shown["events"][0]["client"]["id"] == "C4"
    assert json.loads(cli("feed", "--staff", "Dana", "--format", "json").output)["total"] == 0
    unknown = cli("feed", "--staff", "Nobody")
    assert unknown.exit_code == 1 and "Nobody" in unknown.output


# --- the scenario: BUSY lived twice -------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def two_weeks(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Week, Week, list[tuple[str, str, dt.date, str]]]]:
    """BUSY's week as it was, then lived again with reminders planted the evening before."""
    practice = s.busy_practice()
    folder = tmp_path_factory.mktemp("plain")
    with fresh_db(request, folder) as url:
        plain = live_week(url, folder, practice)
    # Reminders for clients with no reason all week (each on their owner's list, on three
    # days), and one for María (Ben's hard call, pressing all week) on Wednesday.
    listed = {a["client"]["id"] for day in plain.days for a in plain.actions(day)}
    quiet = [c for c in practice.clients if c.id not in listed and not c.do_not_contact]
    planted = [
        (next(c.id for c in quiet if c.owner == staff), staff, day, f"call about {day:%A}")
        for staff, day in ((s.ANA, s.MON), (s.BEN, s.WED), (s.CLEO, s.THU))
    ]
    planted.append(
        (
            next(c.id for c in quiet if c.owner == s.ANA and c.id != planted[0][0]),
            s.ANA,
            s.FRI,
            "the new glasses",
        )
    )
    planted.append((s.PATIENT.id, s.BEN, s.WED, "ask after her knee"))

    def plant(url: str) -> None:
        engine = connect(url)
        try:
            for client, staff, day, note in planted:
                set_reminder(
                    engine, client, on=day, note=note, staff=staff, by=None, day=s.MON, now=NOW
                )
        finally:
            engine.dispose()

    folder = tmp_path_factory.mktemp("reminded")
    with fresh_db(request, folder) as url:
        reminded = live_week(url, folder, practice, setup=plant)
    yield plain, reminded, planted


def test_each_reminder_is_first_on_the_right_list_exactly_on_its_day(two_weeks) -> None:  # type: ignore[no-untyped-def]
    _, reminded, planted = two_weeks
    for client, staff, day, note in planted:
        days = [
            d
            for d in reminded.days
            if (a := reminded.action(d, client)) and a["signals"][0]["code"] == "reminder"
        ]
        assert days == [day], (client, days)  # marked done that day, so not again
        action = reminded.action(day, client)
        assert action is not None and action["staff"] == staff
        # first: only the day's other reminders for the member may come before it
        first = [
            x["signals"][0]["code"] if x["signals"] else "" for x in reminded.actions(day, staff)
        ]
        assert first[: action["rank"]] == ["reminder"] * action["rank"], first
        assert action["signals"][0]["explanation"] == f"You asked to be reminded: {note}"


def test_the_pressing_planted_cases_stay_on_their_lists(two_weeks) -> None:  # type: ignore[no-untyped-def]
    plain, reminded, _ = two_weeks
    for day in s.BUSY_WEEK:
        for week in (plain, reminded):
            action = week.action(day, s.PATIENT.id)
            assert action is not None and action["staff"] == s.BEN
            assert "lapsing" in [x["code"] for x in action["signals"]]
        for case in (s.NOTICE.id,):
            assert (plain.action(day, case) is None) == (reminded.action(day, case) is None)


def test_apart_from_the_reminders_the_plan_is_the_same(two_weeks) -> None:  # type: ignore[no-untyped-def]
    plain, reminded, planted = two_weeks
    only_reminded = {client for client, *_ in planted if client != s.PATIENT.id}

    def lists(week: Week, day: dt.date, *, joined: set[str]) -> list[tuple[str, str]]:
        return [
            (a["staff"], a["client"]["id"])
            for a in week.actions(day)
            if a["client"]["id"] not in only_reminded | joined
        ]

    for day in s.BUSY_WEEK:
        # the same clients on the same lists; in the same order but for a reminder that
        # joined a client's card (it comes first)
        joined = {c for c, _, d, _ in planted if d == day}
        assert set(lists(reminded, day, joined=set())) == set(lists(plain, day, joined=set()))
        assert lists(reminded, day, joined=joined) == lists(plain, day, joined=joined), day
        assert reminded.waiting(day, s.BEN) == plain.waiting(day, s.BEN)
