"""Today in a real browser (headless Chromium): keys to move between cards and act on the
focused one, with their help overlay; every card fits a phone's screen on the demo practice
(years of history per client); the printable letter prints without the page around it; and
the README's screenshots of Today at desktop and phone width (KEEPWARM_UPDATE_SCREENSHOTS=1
writes docs/screenshots/today-desktop.png and today-phone.png)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from browser_support import DESKTOP, PHONE, Site, screenshot, until
from test_web_browser import Tab, browser, clock_frozen, demo_file, site  # noqa: F401

pytestmark = pytest.mark.slow


def _focused_card(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement.closest('[data-card]')?.id || ''"))


def _open_steps(page: Any, card_id: str) -> list[str]:
    return list(
        page.evaluate(
            "(id) => [...document.getElementById(id).querySelectorAll('details[data-step]')]"
            ".filter(d => d.open).map(d => d.dataset.step)",
            card_id,
        )
    )


def test_keys_move_between_cards_and_open_done_snooze_and_dismiss(browser: Any, site: Site) -> None:  # noqa: F811
    tab = Tab(browser, site)
    try:
        tab.sign_in()
        page = tab.page
        tab.goto("/today")
        cards = page.locator("li[data-card]").evaluate_all("els => els.map(e => e.id)")
        assert len(cards) >= 3
        help_box = page.locator("#keys-help")
        assert not help_box.is_visible()

        page.keyboard.press("j")
        until(page, lambda: _focused_card(page) == cards[0], "j focuses the first card")
        page.keyboard.press("j")
        until(page, lambda: _focused_card(page) == cards[1], "j moves to the next card")
        page.keyboard.press("k")
        until(page, lambda: _focused_card(page) == cards[0], "k moves back")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        until(page, lambda: _focused_card(page) == cards[2], "ArrowDown moves on")
        page.keyboard.press("ArrowUp")
        until(page, lambda: _focused_card(page) == cards[1], "ArrowUp moves back")

        page.keyboard.press("d")
        until(page, lambda: _open_steps(page, cards[1]) == ["done"], "d opens Done")
        assert page.evaluate("() => document.activeElement.name") == "channel"
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")  # into the note: keys are text there
        assert page.evaluate("() => document.activeElement.name") == "note"
        page.keyboard.type("just keys")
        assert page.locator(f"#{cards[1]} input[name=note]").input_value() == "just keys"
        assert _focused_card(page) == cards[1] and _open_steps(page, cards[1]) == ["done"]
        assert not help_box.is_visible()
        page.keyboard.press("Escape")
        until(page, lambda: _open_steps(page, cards[1]) == [], "Escape closes the fields")
        assert page.evaluate("() => document.activeElement.id") == cards[1]

        page.keyboard.press("s")
        until(page, lambda: _open_steps(page, cards[1]) == ["snooze"], "s opens Snooze")
        page.keyboard.press("Escape")
        page.keyboard.press("x")
        until(page, lambda: _open_steps(page, cards[1]) == ["dismiss"], "x opens Dismiss")
        assert page.evaluate("() => document.activeElement.name") == "reason"
        page.keyboard.press("Escape")

        page.keyboard.press("?")
        until(page, help_box.is_visible, "? shows the keys")
        listed = help_box.inner_text()
        for key in ("j", "k", "d", "s", "x", "Esc"):
            assert key in listed
        page.keyboard.press("Escape")
        until(page, lambda: not help_box.is_visible(), "Escape closes the help")
        page.keyboard.press("?")
        until(page, help_box.is_visible, "? shows the keys again")
        page.keyboard.press("?")
        until(page, lambda: not help_box.is_visible(), "? hides them")
        assert _open_steps(page, cards[1]) == []  # nothing was submitted or left open
        tab.watch.assert_clean()
    finally:
        tab.close()


def test_every_card_fits_a_phone_screen_and_the_screenshots(browser: Any, site: Site) -> None:  # noqa: F811
    with site.engine.connect() as conn:
        longest = conn.execute(
            sa.text(
                "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM activities a JOIN actions x "
                "ON x.client_id = a.client_id WHERE x.status = 'open' GROUP BY a.client_id) t"
            )
        ).scalar()
    assert longest >= 20, "a practice with long histories"
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        tab = Tab(browser, site, viewport)
        try:
            tab.sign_in()
            tab.goto("/today")
            page = tab.page
            heights = page.locator("li[data-card]").evaluate_all(
                "els => els.map(e => [e.id, e.getBoundingClientRect().height])"
            )
            assert len(heights) >= 5
            too_tall = [(i, h) for i, h in heights if h > viewport["height"]]
            assert not too_tall, f"cards taller than the {name} screen: {too_tall}"
            heads = page.locator("section.staff-list h2").all_inner_texts()
            assert len(heads) >= 2  # the owner's Everyone view: one list per member
            shot = screenshot(page, f"today-{name}-cards", f"today-{name}.png")
            assert shot.stat().st_size > 5_000
            tab.watch.assert_clean()
        finally:
            tab.close()


def test_the_printed_letter_leaves_the_page_around_it_out(browser: Any, site: Site) -> None:  # noqa: F811
    from keepwarm.services.todays_list import todays_list

    action = todays_list(site.engine)[0]
    tab = Tab(browser, site)
    try:
        tab.sign_in()
        assert tab.goto(f"/actions/{action.id}/print").status == 200
        page = tab.page
        assert page.get_by_role("button", name="Print").is_visible()
        letter = page.locator(".letter-text").inner_text()
        first = action.client_name.split()[0]
        assert letter.startswith("Dear ") and first in letter
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible()
        assert not page.get_by_role("button", name="Print").is_visible()
        assert page.locator(".letter-text").is_visible()
        tab.watch.assert_clean()
    finally:
        tab.close()
