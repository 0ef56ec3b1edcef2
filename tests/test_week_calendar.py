"""The week view (/week) and each member's private calendar feed (/calendar/<token>.ics):
recalls due, birthdays and client anniversaries, pending reminders and snoozed actions coming
back, day by day; the feed holds the member's items and not others', a revoked or unknown
token is 404, and the feed parses as iCalendar. Real databases and app; the clock is mocked."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pytest
from icalendar import Calendar

from conftest import NOW
from keepwarm.services.actions import snooze_action
from keepwarm.services.reminders import set_reminder
from keepwarm.services.todays_list import todays_list
from keepwarm.services.week import ItemKind, week_items

TODAY = NOW.date()  # Tuesday 24 November 2026
CLIENTS = [
    "id,name,owner,next_due,birthday,since",
    f"D1,Dora Recall,Dana,{TODAY + dt.timedelta(days=2)},,",
    f"D2,Dan Birthday,Dana,,1980-{(TODAY + dt.timedelta(days=3)):%m-%d},",
    f"S1,Sara Recall,Sam,{TODAY + dt.timedelta(days=1)},,",
    f"S2,Sid Since,Sam,,,2019-{(TODAY + dt.timedelta(days=4)):%m-%d}",
    f"X1,Xena Later,Dana,{TODAY + dt.timedelta(days=9)},,",
]


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("keepwarm.web.auth.clock", lambda: NOW)
    monkeypatch.setattr("keepwarm.web.pages.clock", lambda: NOW)
    monkeypatch.setattr("keepwarm.web.calendar_pages.clock", lambda: NOW)


@pytest.fixture
def practice(cli, engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    for name in ("Dana", "Sam"):
        assert cli("staff", "add", name).exit_code == 0
    path = tmp_path / "clients.csv"
    path.write_text("\n".join(CLIENTS) + "\n", encoding="utf-8")
    assert cli("import", "clients", str(path)).exit_code == 0
    set_reminder(
        engine,
        "D2",
        on=TODAY + dt.timedelta(days=5),
        note="Ask about the new glasses",
        staff="Dana",
        by=None,
        day=TODAY,
        now=NOW,
    )
    return cli


def _kinds(days, client: str) -> list[tuple[dt.date, ItemKind]]:  # type: ignore[no-untyped-def]
    return [(d.day, i.kind) for d in days for i in d.items if i.client_id == client]


def test_the_week_holds_recalls_occasions_and_reminders_day_by_day(practice, engine) -> None:  # type: ignore[no-untyped-def]
    days = week_items(engine, TODAY, today=TODAY, staff_name=None)
    assert [d.day for d in days] == [TODAY + dt.timedelta(days=n) for n in range(7)]
    assert _kinds(days, "D1") == [(TODAY + dt.timedelta(days=2), ItemKind.RECALL)]
    assert _kinds(days, "S1") == [(TODAY + dt.timedelta(days=1), ItemKind.RECALL)]
    d2 = _kinds(days, "D2")
    assert (TODAY + dt.timedelta(days=3), ItemKind.BIRTHDAY) in d2
    assert (TODAY + dt.timedelta(days=5), ItemKind.REMINDER) in d2
    assert _kinds(days, "S2") == [(TODAY + dt.timedelta(days=4), ItemKind.ANNIVERSARY)]
    assert _kinds(days, "X1") == []  # beyond the week
    later = week_items(engine, TODAY + dt.timedelta(days=7), today=TODAY, staff_name=None)
    assert _kinds(later, "X1") == [(TODAY + dt.timedelta(days=9), ItemKind.RECALL)]
    danas = week_items(engine, TODAY, today=TODAY, staff_name="Dana")
    assert _kinds(danas, "S1") == [] and _kinds(danas, "D1")


def test_a_snoozed_action_shows_on_the_day_it_comes_back(practice, engine) -> None:  # type: ignore[no-untyped-def]
    assert practice("run-daily", "--as-of", TODAY.isoformat()).exit_code == 0
    listed = todays_list(engine, day=TODAY)
    assert listed, "the daily run planned nothing"
    action = listed[0]
    back = TODAY + dt.timedelta(days=3)
    snooze_action(engine, action.id, until=back, today=TODAY, now=NOW)
    days = week_items(engine, TODAY, today=TODAY, staff_name=action.staff)
    assert (back, ItemKind.SNOOZED) in _kinds(days, action.client_id)


def test_the_week_page_for_staff_and_owner(practice, web) -> None:  # type: ignore[no-untyped-def]
    dana = web("dana@example.com", role="staff", staff="Dana")
    page = dana.get("/week")
    assert page.status_code == 200
    html = page.text
    assert 'href="/week" aria-current="page">This week<' in html
    assert "Dora Recall" in html and "Ask about the new glasses" in html
    assert "Sara Recall" not in html  # Sam's
    days = re.split(r'id="day-', html)[1:]
    assert len(days) == 7
    assert "Dora Recall" in days[2] and "Dora Recall" not in days[0] + days[1] + days[3]
    assert f"/week?start={(TODAY + dt.timedelta(days=7)).isoformat()}" in html
    owner = web()
    everyone = owner.get("/week").text
    assert "Dora Recall" in everyone and "Sara Recall" in everyone
    sams = owner.get("/week", params={"staff": "Sam"}).text
    assert "Sara Recall" in sams and "Dora Recall" not in sams
    nxt = owner.get("/week", params={"start": (TODAY + dt.timedelta(days=7)).isoformat()}).text
    assert "Xena Later" in nxt and "Dora Recall" not in nxt
    assert owner.get("/week", params={"start": "someday"}).status_code == 400
    assert owner.get("/week", params={"staff": "Nobody"}).status_code == 400


def _make_feed(client) -> str:  # type: ignore[no-untyped-def]
    answer = client.post("/week/calendar", {})
    assert answer.status_code == 303
    page = client.get(answer.headers["location"]).text
    found = re.search(r'<code class="feed-url" id="feed-https">(http[^<]+)</code>', page)
    assert found, "the new link is shown"
    assert re.search(r'href="webcal://[^"]+/calendar/[^"]+\.ics"', page)
    again = client.get("/week").text  # shown once
    assert found.group(1) not in again and "A calendar link is in use" in again
    return found.group(1).split("/calendar/", 1)[1]


def test_each_member_subscribes_to_their_own_feed(practice, web, engine, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    dana = web("dana@example.com", role="staff", staff="Dana")
    name = _make_feed(dana)
    anonymous = web("sam@example.com", role="staff", staff="Sam")
    anonymous.client.cookies.clear()
    feed = anonymous.get(f"/calendar/{name}")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    events = [c for c in calendar.walk("VEVENT")]
    summaries = [str(e["summary"]) for e in events]
    assert any("Dora Recall" in s for s in summaries)
    assert any("Dan Birthday" in s and "Birthday" in s for s in summaries)
    assert any(s == "Reminder: Dan Birthday" for s in summaries)
    assert not any("Sara Recall" in s or "Sid Since" in s for s in summaries)  # Sam's
    recall = next(e for e in events if "Dora Recall" in str(e["summary"]))
    assert recall["dtstart"].dt == TODAY + dt.timedelta(days=2)
    assert len({str(e["uid"]) for e in events}) == len(events)
    token = name.removesuffix(".ics")
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("keepwarm")]
    assert ours and not any(token in line for line in ours)  # the secret is never logged


def test_revoked_replaced_and_unknown_feeds_are_404(practice, web) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    first = _make_feed(owner)
    assert owner.get(f"/calendar/{first}").status_code == 200
    second = _make_feed(owner)  # a new link: the old one stops at once
    assert owner.get(f"/calendar/{first}").status_code == 404
    assert owner.get(f"/calendar/{second}").status_code == 200
    assert owner.post("/week/calendar/revoke", {}).status_code == 303
    assert owner.get(f"/calendar/{second}").status_code == 404
    assert owner.get("/calendar/not-a-token.ics").status_code == 404
    assert owner.get("/calendar/" + "x" * 500 + ".ics").status_code == 404
    assert owner.get(f"/calendar/{second.removesuffix('.ics')}").status_code == 404
    assert "A calendar link is in use" not in owner.get("/week").text


def test_the_owners_feed_holds_everyone(practice, web) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    body = owner.get(f"/calendar/{_make_feed(owner)}").content
    summaries = [str(e["summary"]) for e in Calendar.from_ical(body).walk("VEVENT")]
    assert any("Dora Recall" in s for s in summaries) and any("Sara Recall" in s for s in summaries)


@pytest.mark.slow
def test_the_week_fits_a_phone_and_makes_a_link_in_chromium(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """At 390 x 844 the week page never scrolls sideways, and the phone's own browser makes
    and shows the calendar link."""
    from browser_support import OWNER, PHONE, chromium, demo_site, screenshot, sign_in

    with demo_site(tmp_path_factory) as site, chromium() as browser:
        page = browser.new_context(viewport=PHONE).new_page()
        sign_in(page, site.url, OWNER)
        page.goto(site.url + "/week")
        items = page.locator("li.week-item").count()
        page.get_by_role("button", name="Make my calendar link").click()
        page.wait_for_url(lambda url: "/week" in url)
        link = page.locator("#feed-https").inner_text()
        width = page.evaluate("document.scrollingElement.scrollWidth")
        screenshot(page, "week-phone")
        feed = page.request.get(link)
        status, body = feed.status, feed.body()
    assert items > 0, "the demo practice's week is empty"
    assert width <= PHONE["width"]
    assert status == 200 and Calendar.from_ical(body).walk("VEVENT")
