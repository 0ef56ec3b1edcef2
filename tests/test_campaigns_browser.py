"""Campaigns in a real browser (headless Chromium) on the demo practice, with email going to a
real SMTP server on loopback: the owner starts a win-back from its starting point, previews it
(count, holdout, the message), ticks the confirmation and sends the first wave; the outbox
delivers it through the SMTP server; the campaign's page shows the members treated and held
out. At desktop width and at a phone's (390x844), where nothing overflows the screen. Staff
are refused the pages."""

from __future__ import annotations

import datetime as dt
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
from keepwarm.store.tables import campaign_members, campaigns, outbox
from smtp_support import running_smtp

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[str, int, Any]]:
    with running_smtp() as running:
        yield running


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, smtp: tuple[str, int, Any]) -> Iterator[Site]:
    """The demo practice planned for its day, served with email going to the SMTP server."""
    from keepwarm.config import Settings
    from keepwarm.services.daily_job import run_daily
    from keepwarm.services.database import open_database
    from keepwarm.services.users import add_user
    from keepwarm.web import create_app

    host, port, _ = smtp
    folder: Path = tmp_path_factory.mktemp("campaign-site")
    path = folder / "keepwarm.db"
    copy_database(build_demo_file(tmp_path_factory.mktemp("demo")), path)
    settings = Settings(
        database_url=f"sqlite:///{path}",
        smtp_url=f"smtp://{host}:{port}",
        mail_from="Northside Physio <hello@northside.example>",
        base_url="https://keepwarm.example.com",
    )
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


def _not_wider(page: Any, where: str) -> None:
    wide = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
    if wide:
        culprits = page.evaluate(
            "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
            ".right > window.innerWidth + 1).map(e => e.tagName + '.' + e.className).slice(0, 5)"
        )
        raise AssertionError(f"{where} is wider than the screen: {culprits}")


def _arms(engine: sa.Engine, name: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(campaign_members.c.arm, sa.func.count())
            .join(campaigns, campaigns.c.id == campaign_members.c.campaign_id)
            .where(campaigns.c.name == name)
            .group_by(campaign_members.c.arm)
        )
        return {a: n for a, n in rows}


def _campaign_mail(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(outbox).where(outbox.c.kind == "campaign")))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_owner_previews_a_win_back_and_sends_its_first_wave_through_smtp(
    browser: Any, site: Site, smtp: tuple[str, int, Any], viewport: dict[str, int]
) -> None:
    from keepwarm.services.delivery import deliver_due

    name = f"winback-{viewport['width']}"
    handler = smtp[2]
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, site.url, OWNER)
        page.goto(site.url + "/campaigns")
        _not_wider(page, "the Campaigns page")
        page.locator('a[data-start="win-back"]').click()
        page.wait_for_load_state()
        page.locator("#name").fill(name)
        page.locator("#waves").fill(f"{TODAY}, {TODAY.replace(day=28)}")
        page.locator("#holdout_min").fill("2")
        _not_wider(page, "the new campaign form")
        screenshot(page, f"campaign-new-{viewport['width']}")
        page.get_by_role("button", name="Create and preview").click()
        page.wait_for_load_state()
        count = int(page.locator("[data-count]").get_attribute("data-count") or "0")
        holdout = int(page.locator("[data-holdout]").get_attribute("data-holdout") or "0")
        assert count > 0 and 0 < holdout < count
        assert (
            "15% off your next session until 31 March"
            in page.locator('.message-preview[data-message="email"]').inner_text()
        )
        _not_wider(page, "the preview")
        screenshot(page, f"campaign-preview-{viewport['width']}")
        assert _campaign_mail(site.engine) == [] or name not in str(_campaign_mail(site.engine))
        before = len(_campaign_mail(site.engine))
        page.get_by_label("Send the wave of").check()
        page.get_by_role("button", name="Send wave now").click()
        page.wait_for_load_state()
        assert "The wave has gone" in page.locator(".flash").inner_text()
        arms = _arms(site.engine, name)
        assert arms == {"treated": count - holdout, "holdout": holdout}
        assert page.locator('tr[data-arm="holdout"]').count() == holdout
        _not_wider(page, "the campaign's page")
        screenshot(page, f"campaign-page-{viewport['width']}")
        queued = len(_campaign_mail(site.engine)) - before
        assert 0 < queued <= count - holdout
        received = len(handler.messages)
        ids = {r.message_id for r in _campaign_mail(site.engine)[before:]}
        for minute in range(60):  # the outbox sends so many a minute (the policy's budget)
            at = NOW + dt.timedelta(minutes=minute + (60 if viewport == PHONE else 0))
            with frozen_clock(at):
                deliver_due(site.engine, site.settings, now_fn=lambda at=at: at)
            if all(r.state == "sent" for r in _campaign_mail(site.engine)[before:]):
                break
        got = [m for m in handler.messages[received:] if m["Message-ID"] in ids]
        assert len(got) == queued  # the demo's other waiting mail left too: not counted
        assert all(m["List-Unsubscribe"] is not None for m in got)
        assert any("15% off" in m.get_body(("plain",)).get_content() for m in got)
        page.reload()
        assert page.locator("[data-status]").first.get_attribute("data-status") == "waves sent"
    finally:
        context.close()


def test_staff_are_refused_the_campaign_pages(browser: Any, site: Site) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    try:
        sign_in(page, site.url, STAFF)
        answer = page.goto(site.url + "/campaigns")
        assert answer is not None and answer.status == 403
        page.goto(site.url + "/today")
        assert page.locator('nav a[href="/campaigns"]').count() == 0
    finally:
        context.close()


def test_the_campaign_pages_have_no_serious_accessibility_violations(
    browser: Any, site: Site
) -> None:
    from keepwarm.domain.audience import Filters
    from keepwarm.services import campaigns as svc
    from test_accessibility import axe_source, serious_violations

    svc.create(
        site.engine,
        "axe-check",
        kind="holiday",
        filters=Filters(statuses=("active",)),
        channel="letter",
        subject=None,
        body="Dear {{ first_name }}, warm wishes.",
        waves=[TODAY],
        by=None,
        now=NOW,
    )
    axe = axe_source()
    pages = ["/campaigns", "/campaigns/new?from=holiday-cards", "/campaigns/axe-check"]
    pages.append("/campaigns/axe-check/preview")
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport, locale="en-US", bypass_csp=True)
        try:
            page = context.new_page()
            sign_in(page, site.url, OWNER)
            for path in pages:
                page.goto(site.url + path)
                assert serious_violations(page, axe) == [], path
        finally:
            context.close()
