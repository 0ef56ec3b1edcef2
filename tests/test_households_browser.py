"""The Households page in a real browser (headless Chromium): the owner opens it from the
Clients page, accepts one planted suggestion under a name of their own, rejects another, and
finds the household on a member's page with the other member linked. The demo practice on
SQLite, served live."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from browser_support import (
    DESKTOP,
    NOW,
    OWNER,
    TODAY,
    Site,
    Watch,
    chromium,
    demo_site,
    screenshot,
    sign_in,
)
from keepwarm.domain.model import ImportKind
from keepwarm.services import households
from keepwarm.services.importing import import_file

pytestmark = pytest.mark.slow

PLANTED = (
    "id,name,last_name,address,phone\n"
    'HH-1,Ann Quillfeather,Quillfeather,"7 Wren Close, Salem",\n'
    'HH-2,Bob Quillfeather,Quillfeather,"7 wren close salem",\n'
    "HH-3,Dee Ostrander,,1 Heron Row,+44 20 7946 0123\n"
    "HH-4,Eve Pemberly,,2 Heron Row,+44 20 7946 0123\n"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with demo_site(tmp_path_factory) as running:
        path = tmp_path_factory.mktemp("households") / "planted.csv"
        path.write_text(PLANTED)
        report = import_file(
            running.engine, running.settings, ImportKind.CLIENTS, path, today=TODAY, now=NOW
        )
        assert report.ok, report.problems
        yield running


def _key(site: Site, first: str) -> str:
    found = households.suggestions(site.engine)
    return next(s.key for s in found if s.members[0].external_id == first)


def test_the_owner_accepts_one_suggestion_rejects_another_and_sees_it_on_a_members_page(  # type: ignore[no-untyped-def]
    browser, site: Site
) -> None:
    quill, heron = _key(site, "HH-1"), _key(site, "HH-3")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch = Watch(site.url)
    watch.attach(page)
    sign_in(page, site.url, OWNER)

    page.goto(f"{site.url}/clients")
    page.get_by_role("link", name="Households").click()
    page.wait_for_url("**/households")
    card = page.locator(f'li[data-key="{quill}"]')
    assert "same address and last name: 7 Wren Close, Salem, Quillfeather" in card.inner_text()
    assert card.get_by_label("Name").input_value() == "The Quillfeather family"
    screenshot(page, "households")
    card.get_by_label("Name").fill("The Quillfeathers of Wren Close")
    card.get_by_role("button", name="Accept").click()
    page.wait_for_url("**/households?msg=accepted")
    assert page.locator('tr[data-household="The Quillfeathers of Wren Close"]').count() == 1

    other = page.locator(f'li[data-key="{heron}"]')
    assert "same landline: +442079460123" in other.inner_text()
    other.get_by_role("button", name="Reject").click()
    page.wait_for_url("**/households?msg=rejected")
    assert page.locator(f'li[data-key="{heron}"]').count() == 0
    assert page.locator(f'li[data-key="{quill}"]').count() == 0

    page.locator('tr[data-household="The Quillfeathers of Wren Close"]').get_by_role(
        "link", name="Ann Quillfeather"
    ).click()
    page.wait_for_url("**/clients/HH-1")
    details = page.locator("section.client-details")
    assert "The Quillfeathers of Wren Close" in details.inner_text()
    details.get_by_role("link", name="Bob Quillfeather").click()
    page.wait_for_url("**/clients/HH-2")
    assert "The Quillfeathers of Wren Close" in page.locator("section.client-details").inner_text()
    watch.assert_clean()
    context.close()
