"""Sending from Today in a real browser (headless Chromium) on the demo practice with email
set up: open a card's Send email, edit the draft, send it, read the message on Today and find
it on the Outbox page; the same at a phone's width (390x844), where nothing overflows the
screen; axe-core finds no serious violation on the Outbox page or the open send form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from browser_support import (
    DESKTOP,
    NOW,
    OWNER,
    PASSWORD,
    PHONE,
    STAFF,
    STAFF_NAME,
    TODAY,
    LiveServer,
    Site,
    build_demo_file,
    chromium,
    copy_database,
    frozen_clock,
    screenshot,
    sign_in,
)
from keepwarm.store.tables import outbox

pytestmark = pytest.mark.slow

MAIL = {
    "smtp_url": "smtp://127.0.0.1:2525",
    "mail_from": "Northside Physio <hello@northside.example>",
    "base_url": "https://keepwarm.example.com",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo practice planned for its day, served with email set up (nothing delivers:
    messages stay queued), with an owner and Dana Reyes's user."""
    from keepwarm.config import Settings
    from keepwarm.services.daily_job import run_daily
    from keepwarm.services.database import open_database
    from keepwarm.services.users import add_user
    from keepwarm.web import create_app

    folder: Path = tmp_path_factory.mktemp("outbox-site")
    path = folder / "keepwarm.db"
    copy_database(build_demo_file(tmp_path_factory.mktemp("demo")), path)
    settings = Settings(database_url=f"sqlite:///{path}", **MAIL)
    engine = open_database(settings)
    with frozen_clock(NOW):
        run_daily(engine, settings, day=TODAY, now=NOW)
        add_user(engine, OWNER, PASSWORD, "owner", now=NOW)
        add_user(engine, STAFF, PASSWORD, "staff", staff_name=STAFF_NAME, now=NOW)
        server = LiveServer(create_app(settings)).start()
        try:
            yield Site(server.url, settings.database_url, engine, settings, server)
        finally:
            server.stop()
            engine.dispose()


def _rows(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(outbox).order_by(outbox.c.id)))


def _send_one(browser: Any, site: Site, viewport: dict[str, int], subject: str) -> Any:
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, site.url, STAFF)
    page.goto(site.url + "/today")
    send = page.locator('details[data-step="send-email"]').first
    card = send.locator("xpath=ancestor::li[@data-card]")
    name = card.locator("h3").inner_text()
    send.locator("summary").click()
    page.wait_for_timeout(50)
    form = send.locator("form")
    assert form.is_visible()
    body = form.locator("textarea[name=body]")
    assert name.split()[0] in body.input_value()  # the client-facing draft, prefilled
    form.locator("input[name=subject]").fill(subject)
    body.fill(f"Dear {name},\nEdited in the browser.\nDana")
    wide = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
    assert not wide, "the open send form makes the page wider than the screen"
    card.screenshot(path=str(screenshot(page, f"today-send-{viewport['width']}")))
    form.get_by_role("button", name="Send email now").click()
    page.wait_for_load_state()
    assert (
        f"Email to {name} queued — it leaves within a minute" in page.locator(".flash").inner_text()
    )
    return context, page, name


def test_a_member_edits_the_draft_sends_it_and_sees_it_in_the_outbox(
    browser: Any, site: Site
) -> None:
    before = len(_rows(site.engine))
    context, page, name = _send_one(browser, site, DESKTOP, "A word from Dana")
    try:
        rows = _rows(site.engine)
        assert len(rows) == before + 1
        assert rows[-1].subject == "A word from Dana" and "Edited in the browser." in rows[-1].body
        page.get_by_role("link", name="Outbox").click()
        page.wait_for_load_state()
        item = page.locator(f"#message-{rows[-1].id}")
        assert "queued" in item.inner_text() and name in item.inner_text()
        assert "A word from Dana" in item.inner_text()
        screenshot(page, "outbox-desktop")
    finally:
        context.close()


def test_sending_works_at_a_phones_width(browser: Any, site: Site) -> None:
    context, page, _ = _send_one(browser, site, PHONE, "From my phone")
    try:
        page.goto(site.url + "/outbox")
        assert "From my phone" in page.locator(".outbox-list").first.inner_text()
        wide = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
        assert not wide, "the Outbox page is wider than a phone's screen"
        screenshot(page, "outbox-phone")
    finally:
        context.close()


def test_the_outbox_page_and_the_send_form_have_no_serious_violations(
    browser: Any, site: Site
) -> None:
    from test_accessibility import axe_source, serious_violations

    axe = axe_source()
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport, locale="en-US", bypass_csp=True)
        try:
            page = context.new_page()
            sign_in(page, site.url, STAFF)
            page.goto(site.url + "/today")
            send = page.locator('details[data-step="send-email"]').first
            send.locator("summary").click()
            assert serious_violations(page, axe) == []
            page.goto(site.url + "/outbox")
            assert serious_violations(page, axe) == []
        finally:
            context.close()
