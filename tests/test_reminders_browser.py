"""A reminder in a real browser (headless Chromium): Dana sets one from a client's page; on its
day it is first on her Today list; she marks it done, takes it back with Undo, and the client's
timeline shows each step with who did it. The demo practice on SQLite, served live; the clock
is the only thing mocked (the day moves forward once)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from browser_support import (
    DESKTOP,
    NOW,
    PHONE,
    STAFF,
    STAFF_NAME,
    TODAY,
    Site,
    Watch,
    chromium,
    demo_site,
    frozen_clock,
    overflow,
    screenshot,
    sign_in,
    until,
)
from keepwarm.services.daily_job import run_daily

pytestmark = pytest.mark.slow

NEXT = TODAY + dt.timedelta(days=1)
NEXT_NOW = NOW + dt.timedelta(days=1)
NOTE = "call about the new glasses"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with demo_site(tmp_path_factory) as running:
        yield running


def _quiet_client_of(site: Site, staff: str) -> tuple[str, str]:
    """A client `staff` looks after who is on no list today: (id, name)."""
    with site.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT c.external_id, c.name FROM clients c JOIN staff s ON s.id = c.owner_id "
            "WHERE s.name = ? AND c.do_not_contact = 0 AND c.id NOT IN "
            "(SELECT client_id FROM actions WHERE status IN ('open', 'waiting')) "
            "ORDER BY c.external_id LIMIT 1",
            (staff,),
        ).one()
    return str(row[0]), str(row[1])


def test_a_reminder_set_on_a_client_page_is_done_undone_and_on_the_timeline(  # type: ignore[no-untyped-def]
    browser, site: Site
) -> None:
    client_id, name = _quiet_client_of(site, STAFF_NAME)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch = Watch(site.url)
    watch.attach(page)
    sign_in(page, site.url, STAFF)

    # Today: Dana sets a reminder for tomorrow on the client's page.
    page.goto(f"{site.url}/clients/{client_id}")
    form = page.locator("form.reminder-form")
    form.get_by_label("On").fill(NEXT.isoformat())
    form.get_by_label("Note").fill(NOTE)
    form.get_by_role("button", name="Set reminder").click()
    until(page, lambda: "msg=reminder_set" in page.url, "the page after setting the reminder")
    pending = page.locator(".reminder-list li")
    assert pending.count() == 1 and NOTE in pending.inner_text()
    assert "pending" in pending.inner_text()
    assert f"for {STAFF_NAME}" in pending.inner_text()
    page.goto(f"{site.url}/today")
    assert NOTE not in page.locator("main").inner_text()  # not before its day

    # Tomorrow: the morning's plan puts it first on her list.
    with frozen_clock(NEXT_NOW):
        run_daily(site.engine, site.settings, day=NEXT, now=NEXT_NOW)
        sign_in(page, site.url, STAFF)  # a new day: yesterday's session has expired
        page.goto(f"{site.url}/today")
        card = page.locator("li.card.action").first
        assert name in card.locator("h3").inner_text()
        assert card.locator(".why").inner_text() == f"You asked to be reminded: {NOTE}"
        action_id = (card.get_attribute("id") or "").removeprefix("action-")
        screenshot(page, "reminder-on-today-desktop")
        page.set_viewport_size(PHONE)
        screenshot(page, "reminder-on-today-phone")
        assert overflow(page) == 0
        page.set_viewport_size(DESKTOP)

        # Done, then Undo.
        card.locator("details.step.done summary").click()
        card.get_by_role("button", name="Mark done").click()
        until(page, lambda: f"undo={action_id}" in page.url, "the Undo after Done")
        assert page.locator(f"#action-{action_id}").count() == 0
        page.locator(".flash.undo").get_by_role("button", name="Undo").click()
        until(page, lambda: "msg=undone" in page.url, "the list after Undo")
        assert page.locator(f"#action-{action_id}").count() == 1

        # The client's timeline: each step, who did it and when.
        page.goto(f"{site.url}/clients/{client_id}")
        steps = page.locator(".timeline li.timeline-step")
        words = [" ".join(steps.nth(i).inner_text().split()) for i in range(steps.count())]
        assert words[0].startswith("25 Nov 2026 Undone (marked done taken back) by Dana Reyes")
        assert words[1].startswith("25 Nov 2026 Marked done (call") and "by Dana Reyes" in words[1]
        assert words[2].startswith("24 Nov 2026 Reminder set for Wed 25 Nov 2026 by Dana Reyes")
        assert NOTE in words[2]
        assert "on the list" in page.locator(".reminder-list li").inner_text()
        screenshot(page, "reminder-timeline-desktop")

        # Dismissed from Today, it is on Put away with who and why; Reopen puts it back.
        page.goto(f"{site.url}/today")
        card = page.locator(f"#action-{action_id}")
        card.locator("details.step.dismiss summary").click()
        card.get_by_label("Reason").fill("she called us first")
        card.get_by_role("button", name="Dismiss it").click()
        until(page, lambda: "msg=dismissed" in page.url, "the list after Dismiss")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Put away").click()
        item = page.locator(f"#action-{action_id}")
        until(page, lambda: item.count() == 1, "the dismissed reminder on Put away")
        text = " ".join(item.inner_text().split())
        assert "“she called us first”" in text and "Dismissed by Dana Reyes, 25 Nov 09:00" in text
        for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            screenshot(page, f"put-away-{width}")
            assert overflow(page) == 0
        page.set_viewport_size(DESKTOP)
        item.get_by_role("button", name=f"Reopen {name}").click()
        until(page, lambda: "msg=reopened" in page.url, "Put away after Reopen")
        assert page.locator(f"#action-{action_id}").count() == 0
        page.goto(f"{site.url}/today")
        assert page.locator(f"#action-{action_id}").count() == 1

        # Activity: Dana's steps, newest first.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity").click()
        until(page, lambda: "/activity" in page.url, "the Activity page")
        steps = [s.get_attribute("data-step") for s in page.locator("ol.feed li").all()]
        assert steps[:5] == ["reopened", "dismissed", "undone", "done", "reminder_set"], steps
        for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            screenshot(page, f"activity-{width}")
            assert overflow(page) == 0
    watch.assert_clean()
    context.close()
