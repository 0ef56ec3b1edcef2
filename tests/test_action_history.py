"""Every action visible and reversible: each step (done, snooze, dismiss, undo, reopen, a
reminder set) is recorded with who clicked and whose list and quota it counts for; Undo takes
back the last step; snoozed and dismissed actions are listed and reopened; the activity feed.
Through the services, the web app and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
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


def _text(html: str) -> str:
    """What a page says, without its tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" ,", ",")


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


# --- the web app ------------------------------------------------------------------------------


def test_done_on_the_today_page_offers_undo_and_the_timeline_shows_who_did_it(  # type: ignore[no-untyped-def]
    practice, web
) -> None:
    owner = web("olivia@example.com", staff="Olivia Owner")
    action = _action(practice, "Dana")
    done = owner.post(f"/actions/{action}/done", {"channel": "call", "staff": "Dana"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/today?staff=Dana&msg=done&undo={action}"
    assert _done_this_week(practice, "Dana") == 1
    page = owner.get("/clients/C0").text
    timeline = _text(page[page.index('id="timeline-h"') :])
    assert "Marked done (call) by Olivia Owner for Dana, 24 Nov 14:05" in timeline
    undone = owner.post(f"/actions/{action}/undo", {"staff": "Dana"})
    assert undone.headers["location"] == "/today?staff=Dana&msg=undone"
    assert _done_this_week(practice, "Dana") == 0
    page = owner.get("/clients/C0").text
    assert 'data-step="undone"' in page and "Undone (marked done taken back)" in page
    again = owner.post(f"/actions/{action}/undo", {"staff": "Dana"})
    assert again.status_code == 400 and "nothing to undo" in again.text


def test_undo_and_reopen_check_the_form_token_and_whose_action_it_is(  # type: ignore[no-untyped-def]
    practice, web
) -> None:
    action = _action(practice, "Dana")
    svc.act(practice, action, svc.Dismiss("away"), by=None, day=TODAY, now=NOW)
    sam = web("sam@example.com", role="staff", staff="Sam")
    assert sam.post(f"/actions/{action}/reopen").status_code == 403
    assert sam.post(f"/actions/{action}/undo").status_code == 403
    forged = sam.client.post(f"/actions/{action}/reopen", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert svc.put_away(practice)[0].status == "dismissed"


def test_the_put_away_page_lists_snoozed_and_dismissed_with_reopen(  # type: ignore[no-untyped-def]
    practice, web
) -> None:
    dana_action, sam_action = _action(practice, "Dana"), _action(practice, "Sam")
    svc.act(
        practice, dana_action, svc.Snooze(TODAY + dt.timedelta(days=3)), by=None, day=TODAY, now=NOW
    )
    svc.act(practice, sam_action, svc.Dismiss("moved to Leeds"), by=None, day=TODAY, now=NOW)
    owner = web()
    everyone = owner.get("/put-away").text
    assert f'id="action-{dana_action}"' in everyone and f'id="action-{sam_action}"' in everyone
    assert "until Fri 27 Nov 2026" in everyone and "“moved to Leeds”" in everyone
    assert 'href="/put-away"' in everyone and 'href="/activity"' in everyone  # the nav
    dana = web("dana@example.com", role="staff", staff="Dana")
    mine = dana.get("/put-away").text
    assert f'id="action-{dana_action}"' in mine and f'id="action-{sam_action}"' not in mine
    reopened = dana.post(f"/actions/{dana_action}/reopen", {"staff": "Dana"})
    assert reopened.status_code == 303 and "msg=reopened" in reopened.headers["location"]
    assert dana_action in {a.id for a in todays_list(practice, "Dana", day=TODAY)}
    assert f'id="action-{dana_action}"' not in dana.get("/put-away").text


def test_the_activity_page_shows_the_owner_everyone_and_staff_their_own(  # type: ignore[no-untyped-def]
    practice, web
) -> None:
    svc.act(practice, _action(practice, "Dana"), svc.Done("card"), by=None, day=TODAY, now=NOW)
    svc.act(
        practice, _action(practice, "Sam"), svc.Dismiss("on leave"), by=None, day=TODAY, now=NOW
    )
    owner = web()
    html = owner.get("/activity").text
    assert "Marked done (card)" in html and "Dismissed: on leave" in html
    assert "from the command line for Dana" in html
    only_sam = owner.get("/activity?staff=Sam").text
    assert "Dismissed: on leave" in only_sam and "Marked done" not in only_sam
    dana = web("dana@example.com", role="staff", staff="Dana")
    mine = dana.get("/activity?staff=Sam").text  # staff see their own whatever they ask
    assert "Marked done (card)" in mine and "Dismissed: on leave" not in mine


# --- the JSON API -----------------------------------------------------------------------------


def test_the_api_undoes_reopens_reminds_and_lists_who_did_what(  # type: ignore[no-untyped-def]
    practice, web_app
) -> None:
    from keepwarm.services.reminders import client_reminders
    from keepwarm.services.users import create_token
    from test_web_api import Api

    sam = add_user(practice, "sam@example.com", PASSWORD, "staff", staff_name="Sam", now=NOW)
    api = Api(web_app, create_token(practice, sam.id, "t", now=NOW))
    action = _action(practice, "Sam")
    body = {"channel": "call", "follow_up_on": "2026-12-01", "follow_up_note": "how is the knee"}
    assert api.post(f"/api/v1/actions/{action}/done", json=body).status_code == 200
    [follow] = client_reminders(practice, "C4")
    assert (follow.staff, follow.on, follow.set_by) == ("Sam", dt.date(2026, 12, 1), "Sam")
    assert api.post(f"/api/v1/actions/{action}/undo").json() == {
        "id": action,
        "status": "open",
        "touch": None,
    }
    assert client_reminders(practice, "C4") == []
    api.post(f"/api/v1/actions/{action}/dismiss", json={"reason": "moved"})
    [away] = api.get("/api/v1/put-away?staff=Dana").json()  # staff: their own
    assert (away["id"], away["status"], away["reason"], away["by"]) == (
        action,
        "dismissed",
        "moved",
        "Sam",
    )
    assert api.post(f"/api/v1/actions/{action}/reopen").json()["status"] == "open"
    refused = api.post(f"/api/v1/actions/{_action(practice, 'Dana')}/undo")
    assert refused.status_code == 403
    made = api.post(
        "/api/v1/reminders", json={"client_id": "C4", "on": "2026-12-02", "note": "ring back"}
    )
    assert made.status_code == 201 and made.json()["staff"] == "Sam"
    past = api.post("/api/v1/reminders", json={"client_id": "C4", "on": "2026-11-01", "note": "x"})
    assert past.status_code == 422 and "on: 2026-11-01 is in the past" in past.json()["detail"]
    shown = api.get("/api/v1/activity?staff=Dana").json()  # staff: their own, whatever asked
    assert shown["total"] >= 5 and {e["for_staff"] for e in shown["events"]} == {"Sam"}
    assert shown["events"][0]["step"] == "reminder_set" and shown["events"][0]["by"] == "Sam"
