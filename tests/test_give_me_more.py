"""Give me more: when a member's list for today is done and the week's quota is not met, the
next best clients from their queue (the planner's order) come onto the list, passing over a
client contacted personally a few days ago or whose reason was dismissed; nothing is added
once the quota is met. The service, the Today page's button (POST /today/more) and
`keepwarm today --more --staff NAME`, on a planted practice, on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY, Cli
from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import ImportKind
from keepwarm.services.actions import Dismiss, Done, act
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.services.todays_list import give_more, todays_list, waiting_list
from keepwarm.services.touches import record_touch
from scenarios.practice import Client, Touch, write_activities, write_clients, write_touches
from scenarios.stories import d, regular

ANA = "Ana Silva"
YESTERDAY = TODAY - dt.timedelta(days=1)
# Eight regulars of Ana's who came monthly until the summer and have not been back: each a
# lapsing reason, worth more the higher their price, so the planner ranks them by price.
PRICES = (400.0, 350.0, 300.0, 250.0, 200.0, 150.0, 100.0, 60.0)
PEOPLE = tuple(
    Client(
        f"M-{n}",
        first,
        "Lapsed",
        ANA,
        regular(f"more-{n}", d("2024-01-08"), d("2026-06-20"), 30, price, "check-up", 2),
        since=d("2024-01-08"),
    )
    for n, (first, price) in enumerate(
        zip(("Ada", "Bea", "Cy", "Dot", "Eli", "Fay", "Gus", "Hal"), PRICES, strict=True)
    )
)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for where in ("keepwarm.web.auth.clock", "keepwarm.web.pages.clock", "keepwarm.web.api.clock"):
        monkeypatch.setattr(where, lambda: NOW)
    monkeypatch.setattr("keepwarm.cli.today.now", lambda: NOW)


# Two regulars of Ana's who keep coming, called in the summer (no reason to call now): hugs.
STEADY = tuple(
    Client(
        f"S-{n}",
        first,
        "Steady",
        ANA,
        regular(f"steady-{n}", d("2024-01-10"), d("2026-11-20"), 30, price, "check-up", 2),
        (Touch(d("2026-08-03"), ANA),),
        since=d("2024-01-10"),
    )
    for n, (first, price) in enumerate((("Ivy", 300.0), ("Jo", 80.0)))
)


def _planted(
    engine: sa.Engine, settings: Settings, folder: Path, extra: tuple[Client, ...] = ()
) -> None:
    """Ana (quota 6 a week, 2 a day). Monday: her two are Ada (she dismisses it: moved away)
    and Bea (done). Tuesday (today): two more come, she does both; her list is done with 3
    of 6 this week, and the rest wait in her queue."""
    add_staff(engine, ANA, email=None, weekly_quota=6, daily_capacity=2, now=NOW)
    people = (*PEOPLE, *extra)
    for kind, path in (
        (ImportKind.CLIENTS, write_clients(folder / "clients.csv", people)),
        (ImportKind.ACTIVITIES, write_activities(folder / "visits.csv", people, lambda _: True)),
        (ImportKind.TOUCHES, write_touches(folder / "touches.csv", people, lambda _: True)),
    ):
        if path is None:
            continue
        assert import_file(engine, settings, kind, path, today=YESTERDAY, now=NOW).ok
    monday = dt.datetime.combine(YESTERDAY, dt.time(9), tzinfo=dt.UTC)
    run_daily(engine, settings, day=YESTERDAY, now=monday)
    first, second = todays_list(engine, ANA, YESTERDAY)
    assert (first.client_name, second.client_name) == ("Ada Lapsed", "Bea Lapsed")
    act(engine, first.id, Dismiss("moved away"), by=None, day=YESTERDAY, now=monday)
    act(engine, second.id, Done("call"), by=None, day=YESTERDAY, now=monday)
    run_daily(engine, settings, day=TODAY, now=NOW)


def _finish_the_list(engine: sa.Engine) -> None:
    for action in todays_list(engine, ANA, TODAY):
        act(engine, action.id, Done("call"), by=None, day=TODAY, now=NOW)
    assert todays_list(engine, ANA, TODAY) == []


def test_the_next_best_waiting_clients_come_in_order_passing_over_recent_and_dismissed(  # type: ignore[no-untyped-def]
    engine, settings, tmp_path
) -> None:
    _planted(engine, settings, tmp_path)
    today = [a.client_id for a in todays_list(engine, ANA, TODAY)]
    assert len(today) == 2 and "M-0" not in today and "M-1" not in today
    with pytest.raises(InvalidInput, match="still has 2 open"):
        give_more(engine, staff_name=ANA, by=None, now=NOW)
    _finish_the_list(engine)
    queue = [a.client_id for a in waiting_list(engine, ANA)]
    assert "M-0" not in queue  # dismissed: the planner keeps it off the queue
    # The first in the queue was called three days ago (logged after the plan was made).
    called_on = TODAY - dt.timedelta(days=3)
    record_touch(engine, queue[0], channel="call", date=called_on, staff=ANA, now=NOW)
    assert queue[0] in [a.client_id for a in waiting_list(engine, ANA)]

    more = give_more(engine, staff_name=ANA, by=None, now=NOW)

    # 3 of 6 done this week and up to 2 a day: the next two of the queue, the called one passed
    assert more.outcome == "added"
    assert list(more.added) == queue[1:3]
    listed = todays_list(engine, ANA, TODAY)
    assert [a.client_id for a in listed] == queue[1:3]
    assert [a.rank for a in listed] == [1, 2]
    assert all(a.draft.startswith("Call ") for a in listed)  # drafts written when listed
    assert "M-0" not in more.added and queue[0] not in more.added
    assert [a.client_id for a in waiting_list(engine, ANA)] == [queue[0], *queue[3:]]


def test_when_the_queue_runs_out_hugs_come_in_the_planners_order(  # type: ignore[no-untyped-def]
    engine, settings, tmp_path
) -> None:
    _planted(engine, settings, tmp_path, STEADY)
    listed = {a.client_id for a in todays_list(engine, ANA, TODAY)}
    assert not listed & {"S-0", "S-1"}  # no reason to call them: not on the plan
    _finish_the_list(engine)
    queue = [a.client_id for a in waiting_list(engine, ANA)]
    with engine.begin() as conn:  # a big week: room for everyone who may come
        conn.execute(
            sa.text("UPDATE staff SET weekly_quota = 40, daily_capacity = 20 WHERE name = :n"),
            {"n": ANA},
        )

    more = give_more(engine, staff_name=ANA, by=None, now=NOW)

    # the whole queue first, then the hugs, the more valuable first; never Ada (dismissed),
    # Bea (done yesterday) nor today's two (done today)
    assert list(more.added) == [*queue, "S-0", "S-1"]
    shown = todays_list(engine, ANA, TODAY)
    assert [a.client_id for a in shown] == [*queue, "S-0", "S-1"]
    hug = shown[-2]
    assert hug.signals == () and hug.reason.startswith("Time to say hello")
    assert hug.draft.startswith("Dear Ivy,") or hug.draft.startswith("Call Ivy")
    _finish_the_list(engine)  # everyone of Ana's is now contacted, dismissed or done
    again = give_more(engine, staff_name=ANA, by=None, now=NOW)
    assert again.outcome == "none_waiting" and again.added == ()
    assert again.message == f"Nobody else to contact for {ANA} right now: nothing added."


def test_nothing_is_added_once_the_weeks_quota_is_met(engine, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _planted(engine, settings, tmp_path)
    _finish_the_list(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE staff SET weekly_quota = 3 WHERE name = :n"), {"n": ANA})
    waiting = waiting_list(engine, ANA)
    more = give_more(engine, staff_name=ANA, by=None, now=NOW)
    assert more.outcome == "quota_met" and more.added == ()
    assert "quota for the week is met (3 of 3): nothing added" in more.message
    assert waiting_list(engine, ANA) == waiting and todays_list(engine, ANA, TODAY) == []


def test_the_button_shows_only_on_a_done_list_with_the_quota_unmet(  # type: ignore[no-untyped-def]
    web, engine, settings, tmp_path
) -> None:
    _planted(engine, settings, tmp_path)
    ana = web("ana@example.com", role="staff", staff=ANA)
    assert 'action="/today/more"' not in ana.get("/today").text  # two still open
    _finish_the_list(engine)
    page = ana.get("/today").text
    assert 'action="/today/more"' in page and ">Give me 2 more</button>" in page
    answer = ana.post("/today/more", {"member": ANA})
    assert answer.status_code == 303 and "msg=more" in answer.headers["location"]
    assert len(todays_list(engine, ANA, TODAY)) == 2
    assert 'action="/today/more"' not in ana.get("/today").text  # open again
    # another member may not ask for Ana; the owner may
    sam = web("sam@example.com", role="staff", staff="Sam Tan")
    assert sam.post("/today/more", {"member": ANA}).status_code == 403
    _finish_the_list(engine)  # 5 of 6: one more wanted
    owner = web()
    assert ">Give me 1 more</button>" in owner.get(f"/today?staff={ANA}").text
    assert owner.post("/today/more", {"member": ANA, "staff": ANA}).status_code == 303
    _finish_the_list(engine)  # 6 of 6: the quota is met, no button
    html = owner.get("/today").text
    anas = html[html.index('data-staff-list="Ana Silva"') : html.index('data-staff-list="Sam Tan"')]
    assert "6 of 6 this week" in anas and 'action="/today/more"' not in anas
    assert ">Give me 2 more</button>" in html  # Sam's list is done too, with none of his 2
    said = owner.post("/today/more", {"member": ANA})
    assert "msg=quota_met" in said.headers["location"]
    assert "quota is met: nothing added" in owner.get(said.headers["location"]).text


def test_the_command_line_gives_more(cli: Cli, engine, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _planted(engine, settings, tmp_path)
    refused = cli("today", "--more", "--staff", ANA)
    assert refused.exit_code != 0 and "still has 2 open" in refused.output
    _finish_the_list(engine)
    queue = [a.client_id for a in waiting_list(engine, ANA)]
    result = cli("today", "--more", "--staff", ANA)
    assert result.exit_code == 0, result.output
    assert f"2 more on {ANA}'s list: {queue[0]}, {queue[1]}." in result.output
    assert f"1. {todays_list(engine, ANA)[0].client_name} ({queue[0]})" in result.output
    assert cli("today", "--more").exit_code != 0  # whose list?
