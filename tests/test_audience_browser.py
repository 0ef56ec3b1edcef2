"""In Chromium, at desktop and phone sizes: the Clients page's audience filters give a count and
a list, and a filter is saved; the Reports page draws the retention chart inside the width."""

from __future__ import annotations

import pytest

from browser_support import (
    DESKTOP,
    OWNER,
    PHONE,
    chromium,
    demo_site,
    overflow,
    screenshot,
    sign_in,
)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_clients_filter_and_retention_chart_in_chromium(tmp_path_factory, viewport) -> None:  # type: ignore[no-untyped-def]
    with demo_site(tmp_path_factory) as site, chromium() as browser:
        page = browser.new_context(viewport=viewport).new_page()
        sign_in(page, site.url, OWNER)
        page.goto(site.url + "/clients")
        page.select_option("#f-tier", "top")
        page.click("form.client-search button[type=submit]")
        page.wait_for_selector("#audience-count")
        count = int(page.inner_text("#audience-count").replace(",", ""))
        assert count > 0
        assert page.locator("#audience-table tbody tr").count() == min(count, 50)
        assert "top value tier" in page.inner_text("#audience-description")
        assert overflow(page) <= 0
        name = f"top {viewport['width']}"
        page.fill("#save-name", name)
        page.click("form.save-filter button[type=submit]")
        page.wait_for_selector("#audience-count")
        assert page.locator("#f-saved option:checked").inner_text() == name
        assert int(page.inner_text("#audience-count").replace(",", "")) == count
        screenshot(page, f"clients-audience-{viewport['width']}")

        page.goto(site.url + "/reports#retention")
        chart = page.locator("#retention-chart")
        assert chart.is_visible()
        right = chart.evaluate("e => e.getBoundingClientRect().right")
        assert right <= viewport["width"]
        assert page.locator("#retention-table tbody tr").count() >= 1
        assert overflow(page) <= 0
        screenshot(page, f"reports-retention-{viewport['width']}")
