"""Every action visible and reversible: each step (done, snooze, dismiss, undo, reopen, a
reminder set) is recorded with who clicked and whose list and quota it counts for; Undo takes
back the last step; snoozed and dismissed actions are listed and reopened; the activity feed.
Through the services, the web app and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput, NotAllowed
from keepwarm.domain.model import User
from keepwarm.services import actions as svc
from keepwarm.services.staff import add_staff
from keepwarm.services.todays_list import todays_list, week_quota
from keepwarm.services.users import add_user
from test_web_today import _practice
from web_support import PASSWORD

LATER = NOW + dt.timedelta(hours=5, minutes=5)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for where in ("keepwarm.web.auth.clock", "keepwarm.web.pages.clock", "keepwarm.web.api.clock"):
        monkeypatch.setattr(where, lambda: LATER)


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    """Dana (capacity 1: C0 on her list, three waiting) and Sam (C4), planned for TODAY; the
    owner Olivia is a member of staff too."""
    _practice(engine, settings, tmp_path)
    add_staff(engine, "Olivia Owner", email=None, now=NOW)
    return engine


def _owner(engine: sa.Engine) -> User:
    return add_user(
        engine, "olivia@example.com", PASSWORD, "owner", staff_name="Olivia Owner", now=NOW
    )


def _action(engine: sa.Engine, staff: str) -> int:
    return next(a.id for a in todays_list(engine, staff, day=TODAY))


def _done_this_week(engine: sa.Engine, staff: str) -> int:
    return next(x.done for x in week_quota(engine, TODAY)[1] if x.staff == staff)


def _touches(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM touches").scalar_one())


def test_the_owner_marking_danas_action_done_counts_for_dana_and_shows_who_clicked(
    practice: sa.Engine,
) -> None:
    owner = _owner(practice)
    action = _action(practice, "Dana")
    svc.act(practice, action, svc.Done("call", "reached"), by=owner, day=TODAY, now=LATER)
    assert _done_this_week(practice, "Dana") == 1
    assert _done_this_week(practice, "Olivia Owner") == 0
    [event] = svc.client_history(practice, "C0")
    assert (event.step, event.actor, event.staff) == ("done", "Olivia Owner", "Dana")
    assert event.on_behalf
    assert event.sentence == "Marked done (call, reached) by Olivia Owner for Dana, 24 Nov 14:05"
    assert json.loads(json.dumps(dict(event.details)))["channel"] == "call"


def test_undo_of_done_deletes_the_touch_and_puts_the_quota_back(practice: sa.Engine) -> None:
    action = _action(practice, "Dana")
    before = _touches(practice)
    svc.act(practice, action, svc.Done(), by=None, day=TODAY, now=NOW)
    assert _done_this_week(practice, "Dana") == 1 and _touches(practice) == before + 1
    assert svc.undo(practice, action, by=None, now=LATER) == "done"
    assert _done_this_week(practice, "Dana") == 0 and _touches(practice) == before
    assert action in {a.id for a in todays_list(practice, "Dana", day=TODAY)}
    steps = [(e.step, e.actor) for e in svc.client_history(practice, "C0")]
    assert steps == [("undone", "command line"), ("done", "command line")]
    with pytest.raises(InvalidInput, match="nothing to undo"):
        svc.undo(practice, action, by=None, now=LATER)


@pytest.mark.parametrize(
    ("step", "words"),
    [
        (svc.Snooze(TODAY + dt.timedelta(days=7)), "Snoozed until Tue 1 Dec 2026"),
        (svc.Dismiss("moved away"), "Dismissed: moved away"),
    ],
)
def test_a_snooze_or_a_dismissal_is_listed_put_away_undone_and_reopened(
    practice: sa.Engine, step: svc.Step, words: str
) -> None:
    action = _action(practice, "Dana")
    svc.act(practice, action, step, by=None, day=TODAY, now=NOW)
    assert action not in {a.id for a in todays_list(practice, "Dana", day=TODAY)}
    [away] = svc.put_away(practice)
    assert (away.id, away.client_id, away.actor) == (action, "C0", "command line")
    assert svc.put_away(practice, "Sam") == []
    assert svc.client_history(practice, "C0")[0].what == words
    svc.undo(practice, action, by=None, now=LATER)
    assert action in {a.id for a in todays_list(practice, "Dana", day=TODAY)}
    assert svc.put_away(practice) == []
    # put away again, then reopened from the list
    svc.act(practice, action, step, by=None, day=TODAY, now=LATER)
    svc.reopen(practice, action, by=None, now=LATER)
    assert action in {a.id for a in todays_list(practice, "Dana", day=TODAY)}
    assert [e.step for e in svc.client_history(practice, "C0")][:2] == ["reopened", step_name(step)]
    with pytest.raises(InvalidInput, match="only a snoozed or dismissed action"):
        svc.reopen(practice, action, by=None, now=LATER)


def step_name(step: svc.Step) -> str:
    return "snoozed" if isinstance(step, svc.Snooze) else "dismissed"


def test_staff_may_not_undo_or_reopen_someone_elses_action(practice: sa.Engine) -> None:
    sam = add_user(practice, "sam@example.com", PASSWORD, "staff", staff_name="Sam", now=NOW)
    action = _action(practice, "Dana")
    svc.act(practice, action, svc.Dismiss("no"), by=None, day=TODAY, now=NOW)
    with pytest.raises(NotAllowed):
        svc.undo(practice, action, by=sam, now=LATER)
    with pytest.raises(NotAllowed):
        svc.reopen(practice, action, by=sam, now=LATER)
    assert svc.put_away(practice)[0].status == "dismissed"


def test_an_undo_after_the_plan_brought_a_snoozed_action_back_is_refused(
    practice: sa.Engine, settings: Settings
) -> None:
    from keepwarm.services.daily_job import run_daily

    action = _action(practice, "Dana")
    back = TODAY + dt.timedelta(days=2)
    svc.act(practice, action, svc.Snooze(back), by=None, day=TODAY, now=NOW)
    run_daily(practice, settings, day=back, now=NOW + dt.timedelta(days=2))
    with pytest.raises(InvalidInput, match="nothing to undo"):
        svc.undo(practice, action, by=None, now=NOW + dt.timedelta(days=2))


def test_the_feed_is_newest_first_paged_and_per_member(practice: sa.Engine) -> None:
    dana, sam = _action(practice, "Dana"), _action(practice, "Sam")
    svc.act(practice, dana, svc.Done(), by=None, day=TODAY, now=NOW)
    svc.act(practice, sam, svc.Dismiss("on holiday"), by=None, day=TODAY, now=LATER)
    everyone = svc.feed(practice)
    assert everyone.total == 2
    assert [(e.step, e.staff) for e in everyone.events] == [("dismissed", "Sam"), ("done", "Dana")]
    assert [e.step for e in svc.feed(practice, limit=1, offset=1).events] == ["done"]
    assert [e.staff for e in svc.feed(practice, staff="Dana").events] == ["Dana"]
