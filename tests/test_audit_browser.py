"""The audit log in a real browser (headless Chromium): the owner opens it from Settings,
filters it by what, by who and by client, follows an entry to the client's page and sees the
CSV link carry the filters; staff are refused. The demo practice on SQLite, served live."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from browser_support import (
    DESKTOP,
    NOW,
    OWNER,
    PHONE,
    STAFF,
    Site,
    Watch,
    chromium,
    demo_site,
    overflow,
    screenshot,
    sign_in,
)
from keepwarm.services import audit
from keepwarm.services.consent import set_consent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with demo_site(tmp_path_factory) as running:
        yield running


def _a_client(site: Site) -> tuple[str, str]:
    with site.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT external_id, name FROM clients ORDER BY external_id LIMIT 1"
        ).one()
    return str(row[0]), str(row[1])


def test_the_owner_filters_the_audit_log_and_follows_an_entry(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    client_id, name = _a_client(site)
    set_consent(site.engine, client_id, "sms", False, actor=OWNER, now=NOW, note="asked")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch = Watch(site.url)
    watch.attach(page)

    # a refused attempt, then the owner signs in: both on the log
    page.goto(site.url + "/login")
    page.get_by_label("Email").fill(STAFF)
    page.get_by_label("Password").fill("a wrong password")
    page.get_by_role("button", name="Sign in").click()
    sign_in(page, site.url, OWNER)

    page.goto(site.url + "/settings")
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/audit")
    rows = page.locator("table.audit tbody tr")
    assert rows.count() >= 3
    assert rows.first.get_attribute("data-action") == "sign-in"  # newest first

    page.get_by_label("What").select_option("sign-in-failed")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**action=sign-in-failed**")
    assert rows.count() == 1
    assert STAFF in rows.first.inner_text() and "Sign-in refused" in rows.first.inner_text()
    assert "action=sign-in-failed" in (
        page.get_by_role("link", name="CSV").get_attribute("href") or ""
    )

    page.get_by_label("What").select_option("")
    page.get_by_label("Who").select_option(OWNER)
    page.get_by_label("Client id").fill(client_id)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**client=**")
    assert rows.count() == 1 and rows.first.get_attribute("data-action") == "consent"
    screenshot(page, "audit-filtered")
    rows.first.get_by_role("link", name=f"{name} ({client_id})").click()
    page.wait_for_url(f"**/clients/{client_id}")
    assert name in page.locator("h1").inner_text()

    page.set_viewport_size(PHONE)
    page.goto(site.url + "/audit")
    assert overflow(page) <= 1  # the table scrolls in its box, not the page
    watch.assert_clean()
    context.close()
    assert audit.entries(site.engine, audit.AuditFilter(action="sign-in-failed"))


def test_staff_are_refused_the_audit_log_in_the_browser(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, site.url, STAFF)
    answer = page.goto(site.url + "/audit")
    assert answer is not None and answer.status == 403
    assert "only the owner can see the audit log" in page.content()
    context.close()


def test_the_audit_log_has_no_serious_accessibility_violation(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    from test_accessibility import axe_source, serious_violations

    axe = axe_source()
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport, locale="en-US", bypass_csp=True)
        try:
            page = context.new_page()
            sign_in(page, site.url, OWNER)
            for path in ("/audit", "/audit?action=sign-in"):
                page.goto(site.url + path)
                assert serious_violations(page, axe) == [], path
        finally:
            context.close()
