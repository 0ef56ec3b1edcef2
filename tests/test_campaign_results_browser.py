"""A campaign's results in a real browser (headless Chromium), at desktop and phone width: the
two groups side by side, the verdict, the interval drawn against the zero line, "How to read
this" opening, no script and no sideways scrolling; the pooled page of a kind; axe-core finds
no serious accessibility violation on either."""

from __future__ import annotations

from typing import Any

import pytest

from browser_support import DESKTOP, OWNER, PHONE, Site, overflow, screenshot, sign_in
from campaign_results_support import hand_worked
from test_accessibility import axe_source, serious_violations
from test_web_browser import Tab, browser, clock_frozen, demo_file, site  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def campaigns(site: Site) -> Site:  # noqa: F811
    hand_worked(site.engine, "Autumn win-back")
    hand_worked(site.engine, "Winter win-back")
    return site


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_results_section_reads_at_desktop_and_phone_width(
    browser: Any,  # noqa: F811
    campaigns: Site,
    width: str,
) -> None:
    tab = Tab(browser, campaigns, DESKTOP if width == "desktop" else PHONE)
    try:
        tab.sign_in()
        page = tab.page
        assert tab.goto("/campaigns/Autumn%20win-back/results").status == 200
        section = page.locator("section.campaign-results")
        assert section.get_by_role("heading", name="Did it work?").is_visible()
        treated, holdout = section.locator(".arm.treated"), section.locator(".arm.holdout")
        assert "4 of 8 came back" in treated.inner_text()
        assert "1 of 4 came back" in holdout.inner_text()
        assert treated.locator(".rate").inner_text() == "50%"
        assert "Too early to tell" in section.locator(".verdict").inner_text()
        # The point (+25 points) sits right of the zero line; the bar straddles it.
        point = section.locator("circle.point").bounding_box()
        zero = section.locator("line.zero").bounding_box()
        bar = section.locator("line.error-bar").bounding_box()
        assert point and zero and bar
        assert point["x"] > zero["x"]
        assert bar["x"] < zero["x"] < bar["x"] + bar["width"]
        assert bar["x"] + bar["width"] <= page.viewport_size["width"]
        if width == "phone":  # the groups stack on a phone
            assert holdout.bounding_box()["y"] > treated.bounding_box()["y"] + 20  # type: ignore[index]
        else:  # side by side on a desktop
            assert holdout.bounding_box()["y"] == treated.bounding_box()["y"]  # type: ignore[index]
        how = section.locator("details.how-to-read")
        assert not how.locator("p").first.is_visible()
        how.locator("summary").click()
        assert "held out" in how.locator("p").first.inner_text()
        assert overflow(page) == 0
        screenshot(page, f"campaign-results-{width}")
        tab.watch.assert_clean()
    finally:
        tab.close()


def test_the_pooled_page_links_each_campaign(browser: Any, campaigns: Site) -> None:  # noqa: F811
    tab = Tab(browser, campaigns, PHONE)
    try:
        tab.sign_in()
        page = tab.page
        tab.goto("/campaigns/kind/win_back")
        assert "8 of 16 came back" in page.locator(".arm.treated").inner_text()
        page.get_by_role("link", name="Winter win-back").click()
        page.wait_for_url("**/campaigns/Winter%20win-back/results")
        assert page.get_by_role("heading", name="Winter win-back results").is_visible()
        tab.watch.assert_clean()
    finally:
        tab.close()


def test_the_results_pages_have_no_serious_accessibility_violations(
    browser: Any,  # noqa: F811
    campaigns: Site,
) -> None:
    axe = axe_source()  # skips (fails under CI) without axe-core, like tests/test_accessibility
    bad: dict[str, list[str]] = {}
    for viewport in (DESKTOP, PHONE):
        # bypass_csp: the app's CSP (rightly) refuses the injected axe script
        context = browser.new_context(viewport=viewport, locale="en-US", bypass_csp=True)
        try:
            page = context.new_page()
            sign_in(page, campaigns.url, OWNER)
            for path in ("/campaigns/Autumn%20win-back/results", "/campaigns/kind/win_back"):
                page.goto(campaigns.url + path)
                page.locator("details.how-to-read summary").click()
                found = serious_violations(page, axe)
                if found:
                    bad[f"{path} at {viewport['width']}px"] = found
        finally:
            context.close()
    assert not bad, bad
