"""The Print page in a real browser (headless Chromium): a card's "Add to print batch" on
Today, the letters batch made from the list, the PDF downloaded with the clients' address
blocks, one sheet confirmed printed (its touch recorded, the others still waiting); the page
fits a phone's width."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from browser_support import PHONE, Site, overflow, screenshot
from keepwarm.store.tables import actions, clients, print_items
from test_web_browser import Tab, browser, clock_frozen, demo_file, site  # noqa: F401

pytestmark = pytest.mark.slow


def _cards(running: Site, count: int) -> list[tuple[int, str]]:
    """`count` open actions of the demo made cards, their clients given an address."""
    with running.engine.begin() as conn:
        rows = conn.execute(
            sa.select(actions.c.id, clients.c.id.label("client"), clients.c.name)
            .join(clients, clients.c.id == actions.c.client_id)
            .where(actions.c.status == "open", clients.c.do_not_contact.is_(False))
            .order_by(actions.c.id)
            .limit(count)
        ).all()
        for n, row in enumerate(rows):
            conn.execute(sa.update(actions).where(actions.c.id == row.id).values(channel="card"))
            conn.execute(
                sa.update(clients)
                .where(clients.c.id == row.client)
                .values(address=f"{n + 1} Müllerstraße, Portland")
            )
        conn.execute(
            sa.update(actions)
            .where(
                actions.c.id.not_in([r.id for r in rows]), actions.c.channel.in_(("card", "letter"))
            )
            .values(channel="call")
        )
    return [(r.id, r.name) for r in rows]


def _pdf_text(page: Any, section: Any, folder: Path) -> str:
    with page.expect_download() as info:
        section.locator("a[data-download]").click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return "\n".join(
        p.extract_text() or "" for p in PdfReader(io.BytesIO(target.read_bytes())).pages
    )


def test_a_batch_is_downloaded_as_a_pdf_and_confirmed_sheet_by_sheet(
    browser: Any,  # noqa: F811
    site: Site,  # noqa: F811
    tmp_path: Path,
) -> None:
    (first, first_name), (second, second_name), (third, third_name) = _cards(site, 3)
    tab = Tab(browser, site)
    try:
        tab.sign_in()
        page = tab.page
        tab.goto("/today")
        page.locator(f'button[data-print-batch="{first}"]').click()
        page.wait_for_url("**/print?note=queued")
        assert "Added to the print batch" in page.locator("[data-note]").inner_text()
        assert page.locator("nav a[href='/print']").get_attribute("aria-current") == "page"
        mine = page.locator("section[data-kind=letters]")
        assert mine.count() == 1 and first_name in mine.inner_text()

        # The owner's batch of the rest of the list: the practice's, newest first.
        page.get_by_role("button", name="Make the letters batch").click()
        page.wait_for_url("**/print?note=made*")
        practice = page.locator("section[data-kind=letters]").first
        names = practice.locator("li[data-item] a.client").all_inner_texts()
        assert names == [second_name, third_name]

        text = _pdf_text(page, practice, tmp_path)
        assert second_name in text and third_name in text and first_name not in text
        assert "2 Müllerstraße" in text and "3 Müllerstraße" in text

        practice.locator("button[data-confirm-sheet='1']").click()
        page.wait_for_url("**/print?note=confirmed*")
        assert "Confirmed printed" in page.locator("[data-note]").inner_text()
        with site.engine.connect() as conn:
            touched = dict(
                conn.execute(
                    sa.select(actions.c.id, actions.c.touch_id).where(
                        actions.c.id.in_([first, second, third])
                    )
                ).all()
            )
            states = sorted(conn.execute(sa.select(print_items.c.state)).scalars())
        assert touched[second] is not None
        assert touched[first] is None and touched[third] is None
        assert states == ["pending", "pending", "printed"]
        assert not tab.watch.dialogs and not tab.watch.csp and not tab.watch.errors
        screenshot(page, "print-desktop")
    finally:
        tab.close()
    phone = Tab(browser, site, viewport=PHONE)
    try:
        phone.sign_in()
        phone.goto("/print")
        assert phone.page.locator("section[data-kind=letters]").count() == 2
        screenshot(phone.page, "print-phone")
        wide = overflow(phone.page)
        assert wide <= 1, "the Print page scrolls sideways on a phone"
    finally:
        phone.close()
