"""The Duplicates page in a real browser (headless Chromium): the owner sees a planted pair
side by side, opens the merge's confirmation showing both records, merges, finds the merge
among past merges and undoes it; the pair is back. The demo practice on SQLite, served live."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from browser_support import (
    DESKTOP,
    NOW,
    OWNER,
    STAFF,
    TODAY,
    Site,
    Watch,
    chromium,
    demo_site,
    screenshot,
    sign_in,
)
from keepwarm.domain.model import ImportKind
from keepwarm.services.importing import import_file
from test_accessibility import _context, axe_source, serious_violations

pytestmark = pytest.mark.slow

PLANTED = (
    "id,first_name,last_name,email,phone,birthday\n"
    "DUP-1,Kimberly,Morrisette,kim.m@example.org,,1984-03-02\n"
    "DUP-2,Kim,Morrisette,,+15035550177,1984-03-02\n"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with demo_site(tmp_path_factory) as running:
        path = tmp_path_factory.mktemp("dups") / "planted.csv"
        path.write_text(PLANTED)
        report = import_file(
            running.engine, running.settings, ImportKind.CLIENTS, path, today=TODAY, now=NOW
        )
        assert report.ok, report.problems
        yield running


def _ids(site: Site) -> set[str]:
    with site.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT external_id FROM clients WHERE external_id LIKE 'DUP-%'"
        )
        return {r[0] for r in rows}


def test_the_owner_sees_a_pair_merges_it_and_undoes_the_merge(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch = Watch(site.url)
    watch.attach(page)
    sign_in(page, site.url, OWNER)

    page.goto(f"{site.url}/settings")
    page.get_by_role("link", name="Duplicates").click()
    pair = page.locator('li[data-pair="DUP-1 DUP-2"]')
    assert "names differ only by a nickname (Kimberly / Kim)" in pair.inner_text()
    assert "kim.m@example.org" in pair.inner_text() and "+15035550177" in pair.inner_text()
    screenshot(page, "duplicates")

    pair.get_by_role("link", name="Merge…").click()
    page.wait_for_url("**/duplicates/merge?**")
    body = page.locator("main").inner_text()
    assert "Kimberly Morrisette" in body and "Kim Morrisette" in body and "+15035550177" in body
    page.get_by_role("button", name="Merge DUP-2 into DUP-1").click()
    page.wait_for_url("**/duplicates?msg=merged**")
    assert "Merged." in page.locator("main").inner_text()
    assert _ids(site) == {"DUP-1"}
    assert page.locator('li[data-pair="DUP-1 DUP-2"]').count() == 0

    row = page.locator("tr[data-merge]").filter(has_text="DUP-2")
    row.get_by_role("button", name="Undo merge").click()
    page.wait_for_url("**/duplicates?msg=undone**")
    assert _ids(site) == {"DUP-1", "DUP-2"}
    assert page.locator('li[data-pair="DUP-1 DUP-2"]').count() == 1
    assert "undone by owner@example.com" in page.locator("tr[data-merge]").first.inner_text()
    watch.assert_clean()
    context.close()


def test_staff_are_told_only_the_owner_may(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, site.url, STAFF)
    answer = page.goto(f"{site.url}/duplicates")
    assert answer is not None and answer.status == 403
    assert "only the owner can find and merge duplicate clients" in page.inner_text("body")
    context.close()


def test_the_duplicates_pages_have_no_serious_accessibility_violations(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    axe = axe_source()
    context = _context(browser, DESKTOP)  # bypasses the CSP for the injected axe script only
    page = context.new_page()
    sign_in(page, site.url, OWNER)
    for path in ("/duplicates", "/duplicates/merge?keep=DUP-1&other=DUP-2"):
        page.goto(site.url + path)
        assert "DUP-2" in page.inner_text("main")
        assert serious_violations(page, axe) == [], path
    context.close()
