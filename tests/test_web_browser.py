"""The web app in a real browser (headless Chromium): sign in, act on today's list, import,
edit a template, and check that hostile data stays text and the CSP holds on every page.

One live server per module on SQLite (PostgreSQL is covered by the route tests), the demo
practice planned for its fixed day; the clock is the only thing mocked. Screenshots of the main
pages at desktop and phone width land in test-artifacts/screenshots/ (git-ignored); run with
KEEPWARM_UPDATE_SCREENSHOTS=1 to refresh the README's in docs/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from browser_support import (
    DESKTOP,
    HOSTILE_FIRST,
    HOSTILE_ID,
    HOSTILE_NAME,
    HOSTILE_NOTE,
    HOSTILE_STAFF,
    IMG,
    NOW,
    OWNER,
    PHONE,
    SCRIPT,
    STAFF,
    STAFF_NAME,
    TODAY,
    Site,
    Watch,
    build_demo_file,
    chromium,
    frozen_clock,
    overflow,
    screenshot,
    sign_in,
    start_site,
    until,
)

pytestmark = pytest.mark.slow


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_file(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def clock_frozen() -> Iterator[None]:
    with frozen_clock(NOW):
        yield


@pytest.fixture(scope="module")
def site(demo_file: Path, clock_frozen: None, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The demo practice, planned for its day, served live (owner and staff users)."""
    running = start_site(demo_file, tmp_path_factory.mktemp("site"))
    yield running
    running.server.stop()
    running.engine.dispose()


@pytest.fixture(scope="module")
def hostile_site(demo_file: Path, clock_frozen: None, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The same, plus a client with markup in every imported field (on today's list)."""
    running = start_site(demo_file, tmp_path_factory.mktemp("hostile"), hostile=True)
    yield running
    running.server.stop()
    running.engine.dispose()


_SESSIONS: dict[tuple[str, str], list[Any]] = {}


class Tab:
    """A fresh browser context (no cookies) with one page and its watch."""

    def __init__(self, browser: Any, site: Site, viewport: dict[str, int] = DESKTOP) -> None:
        self.site = site
        self.context = browser.new_context(viewport=viewport, locale="en-US")
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.watch = Watch(site.url)
        self.watch.attach(self.page)

    def goto(self, path: str) -> Any:
        answer = self.page.goto(self.site.url + path)
        assert answer is not None
        return answer

    def sign_in(self, email: str = OWNER) -> None:
        """Signed in as `email`: through the form the first time for this site, then by
        reusing that session's cookie (each sign-in hashes a password: slow on purpose).
        Either way the page is then on /today."""
        key = (self.site.url, email)
        if key in _SESSIONS:
            self.context.add_cookies(_SESSIONS[key])
            self.goto("/today")
            return
        sign_in(self.page, self.site.url, email)
        _SESSIONS[key] = self.context.cookies()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser: Any, site: Site) -> Iterator[Tab]:
    opened = Tab(browser, site)
    yield opened
    opened.close()


def _action_ids(page: Any) -> list[int]:
    return [
        int(x.split("-")[1])
        for x in page.locator("ol.actions > li.action").evaluate_all("els => els.map(e => e.id)")
    ]


# --- the watchers themselves ------------------------------------------------------------------


def test_the_watch_sees_a_csp_violation_and_a_dialog(tab: Tab) -> None:
    """The checks below rely on these detectors: show they fire when something slips in."""
    tab.goto("/login")
    tab.page.evaluate(
        """() => {
        document.body.setAttribute('style', 'color: red');
        const s = document.createElement('script');
        s.textContent = 'window.ran = 1';
        document.body.appendChild(s);
        }"""
    )
    tab.page.evaluate("() => alert('hi')")
    assert tab.page.evaluate("() => window.ran") is None  # the inline script was refused
    until(tab.page, lambda: tab.watch.dialogs, "the alert was seen")
    assert "hi" in tab.watch.dialogs[0]
    # the inline style and the inline script
    until(tab.page, lambda: len(tab.watch.csp) >= 2, f"two CSP refusals: {tab.watch.csp}")
    with pytest.raises(AssertionError):
        tab.watch.assert_clean()
    # Markup that escaped escaping is found in the page, and its handler is refused.
    tab.page.evaluate(f"() => {{ document.querySelector('main').innerHTML += {IMG!r}; }}")
    with pytest.raises(AssertionError, match="img"):
        _no_markup_ran(tab, "the sign-in page")
    until(
        tab.page,
        lambda: any("inline event handler" in m or "script-src" in m for m in tab.watch.csp[2:]),
        f"the injected handler refused: {tab.watch.csp}",
    )
    assert len(tab.watch.dialogs) == 1  # alert(2) never ran


# --- sign in, today's list ----------------------------------------------------------------------


def test_owner_signs_in_through_the_form_and_sees_todays_list(tab: Tab) -> None:
    page = tab.page
    tab.goto("/today")
    assert "/login" in page.url  # signed out: sent to the sign-in page
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password").fill("wrong password entirely")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()  # a wrong password is refused
    sign_in(page, tab.site.url, OWNER)
    assert urlsplit(page.url).path == "/today"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Today")
    assert TODAY.strftime("%A") in page.get_by_role("heading", level=1).inner_text()
    actions = page.locator("ol.actions > li.action")
    assert actions.count() >= 1
    first = actions.first
    assert first.locator("h3 a").inner_text().strip()
    assert first.locator("p.why").inner_text().strip()  # one plain sentence of why
    numbers = first.locator("details.numbers")
    assert not numbers.locator("p").is_visible()  # the numbers are one click away
    numbers.locator("summary").click()
    assert "priority" in numbers.locator("p").inner_text()
    draft = first.locator("textarea.draft")
    assert draft.is_visible()
    assert len(draft.input_value()) > 40
    assert page.get_by_role("link", name="Settings").is_visible()  # the owner's menu
    tab.watch.assert_clean()


def test_staff_see_only_their_own_list_and_no_settings(browser: Any, site: Site) -> None:
    from keepwarm.services.todays_list import todays_list

    tab = Tab(browser, site)
    try:
        tab.sign_in(STAFF)
        page = tab.page
        assert urlsplit(page.url).path == "/today"
        mine = {a.id for a in todays_list(site.engine, STAFF_NAME)}
        assert mine, "the demo gives Dana Reyes something to do today"
        assert set(_action_ids(page)) == mine
        assert page.get_by_role("link", name="Settings").count() == 0
        assert tab.goto("/settings").status == 403
        tab.watch.assert_clean()
    finally:
        tab.close()


# --- screenshots (before the flows below change the list) --------------------------------------

MAIN_PAGES = {
    "today": "/today",
    "clients": "/clients",
    "client": None,  # the first client on today's list
    "import": "/import",
    "reports": "/reports",
    "settings": "/settings",
    "settings-template": "/settings/templates/lapsing/letter",
}
DOCS = {("today", "desktop"): "today-desktop.png", ("today", "phone"): "today-phone.png"}
DOCS[("client", "desktop")] = "client-desktop.png"


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_screenshots_of_the_main_pages(browser: Any, site: Site, width: str) -> None:
    from keepwarm.services.todays_list import todays_list

    tab = Tab(browser, site, DESKTOP if width == "desktop" else PHONE)
    too_wide = []
    try:
        tab.sign_in()
        for name, path in MAIN_PAGES.items():
            path = path or f"/clients/{todays_list(site.engine)[0].client_id}"
            assert tab.goto(path).status == 200, path
            shot = screenshot(tab.page, f"{name}-{width}", DOCS.get((name, width)))
            assert shot.stat().st_size > 5_000
            if overflow(tab.page) > 1:
                too_wide.append((path, overflow(tab.page)))
        tab.watch.assert_clean()
    finally:
        tab.close()
    assert not too_wide, f"pages wider than the {width} screen (sideways scrolling): {too_wide}"


# --- acting on the list ---------------------------------------------------------------------------


def test_done_with_a_note_leaves_the_list_and_shows_on_the_client_page(tab: Tab) -> None:
    from keepwarm.services.todays_list import todays_list

    tab.sign_in()
    page = tab.page
    listed = todays_list(tab.site.engine)
    action = listed[-1]
    card = page.locator(f"#action-{action.id}")
    note = "Rang her: booked a check-up for Thursday (browser test)"
    assert not card.get_by_label("Outcome").is_visible()  # the fields open when needed
    card.locator("summary", has_text="Done").click()
    card.get_by_label("How").select_option("call")
    card.get_by_label("Outcome").select_option("reached")
    card.get_by_label("Note", exact=True).fill(note)
    card.get_by_role("button", name="Mark done").click()
    page.wait_for_url(re.compile(r"/today\?.*msg=done"))
    assert page.get_by_role("status").inner_text().startswith("Done")
    assert page.locator(f"#action-{action.id}").count() == 0
    assert action.id not in _action_ids(page)
    assert action.id not in {a.id for a in todays_list(tab.site.engine)}
    page.locator(f"#action-{listed[0].id}").wait_for()  # the rest of the list is still there
    tab.goto(f"/clients/{action.client_id}")
    timeline = page.get_by_role("region", name="Timeline")
    entry = timeline.locator("li", has_text=note)
    assert entry.count() == 1
    assert entry.is_visible()
    assert "call" in entry.inner_text()  # the channel chosen in the form
    tab.watch.assert_clean()


def test_snooze_until_tomorrow_leaves_todays_list(tab: Tab) -> None:
    from keepwarm.services.todays_list import todays_list

    tab.sign_in()
    page = tab.page
    action = todays_list(tab.site.engine)[0]
    card = page.locator(f"#action-{action.id}")
    card.locator("summary", has_text="Snooze").click()
    card.get_by_label("Until").fill((TODAY + dt.timedelta(days=1)).isoformat())
    card.get_by_role("button", name="Snooze it").click()
    page.wait_for_url(re.compile(r"/today\?.*msg=snoozed"))
    assert page.get_by_role("status").inner_text().startswith("Snoozed")
    assert page.locator(f"#action-{action.id}").count() == 0
    assert action.id not in {a.id for a in todays_list(tab.site.engine)}
    tab.watch.assert_clean()


# --- import ---------------------------------------------------------------------------------------

_IMPORT_HEADER = "Client ID,First Name,Last Name,Email,Birthday\n"


def _upload(page: Any, name: str, text: str) -> None:
    page.get_by_label("Clients (one row per client)").check()
    page.get_by_label("CSV file").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r"/import/[^/?]+$"))


def test_import_preview_shows_a_bad_rows_line_and_writes_nothing(tab: Tab) -> None:
    site, page = tab.site, tab.page
    before = site.client_count()
    tab.sign_in()
    tab.goto("/import")
    bad = (
        _IMPORT_HEADER
        + "B-1,Ada,Lovelace,ada@example.org,1985-12-10\n"
        + "B-2,Bob,Stone,bob@example.org,1990-02-31\n"  # no 31 February
        + "B-3,Cy,Twombly,cy@example.org,1970-04-05\n"
    )
    _upload(page, "browser-bad.csv", bad)
    problems = page.locator("#problems li")
    assert problems.count() == 1
    shown = problems.first.inner_text()
    assert "browser-bad.csv:3" in shown  # the header is line 1: Bob's row is line 3
    assert "birthday" in shown.lower()
    assert page.get_by_role("button", name="Confirm import").count() == 0
    assert site.client_count() == before  # the preview wrote nothing
    screenshot(page, "import-problems-desktop")

    tab.goto("/import")  # the same file fixed: previewed, confirmed, written
    _upload(page, "browser-good.csv", bad.replace("1990-02-31", "1990-01-02"))
    assert page.get_by_role("heading", name="Ready to import").is_visible()
    assert site.client_count() == before
    page.get_by_role("button", name="Confirm import").click()
    page.wait_for_load_state()
    assert site.client_count() == before + 3
    tab.watch.assert_clean()


# --- settings: a template and its live preview ----------------------------------------------------


def test_editing_a_template_updates_the_live_preview(tab: Tab) -> None:
    page = tab.page
    tab.sign_in()
    tab.goto("/settings/templates")
    page.locator("main table a").first.click()
    page.wait_for_url(re.compile(r"/settings/templates/[^/]+/[^/?]+"))
    chooser = page.get_by_label("Preview on client")
    option = chooser.locator("option").nth(1)
    client_id = option.get_attribute("value")
    chooser.select_option(client_id)
    from keepwarm.services.clients import client_card

    name = client_card(tab.site.engine, client_id).client.name
    preview = page.locator("#preview-out")
    page.get_by_label("Template").fill(
        "Hello {{ name }}, this sentence was typed in the browser test."
    )
    page.wait_for_function(
        "() => document.getElementById('preview-out').textContent.includes('typed in the browser')"
    )
    shown = preview.inner_text()
    assert "this sentence was typed in the browser test" in shown
    assert name in shown
    assert "{{" not in shown  # rendered, not echoed
    screenshot(page, "settings-template-edited-desktop")
    tab.watch.assert_clean()


# --- hostile data stays text; the CSP holds everywhere -------------------------------------------


_SHAPES = (  # pages alike but for an id: one of each is enough
    (r"^/clients/[^/]+", "/clients/*"),
    (r"^/settings/templates/[^/]+/[^/]+", "/settings/templates/*/*"),
    (r"^/import/[^/]+", "/import/*"),
)


def _html_pages(
    tab: Tab,
    start: list[str],
    too_wide: list[tuple[str, int]] | None = None,
    each: Callable[[Tab, str], None] | None = None,
    limit: int = 45,
) -> list[tuple[str, int]]:
    """Visit `start`, then every same-site page linked from the pages visited (GET only; one
    page per path, one page of each _SHAPES), in the browser, calling `each(tab, path)` on
    each. Returns (path, status) of each; pages wider than the window go into `too_wide`."""
    seen: set[str] = set()
    queue = list(start)
    visited: list[tuple[str, int]] = []
    while queue and len(visited) < limit:
        target = queue.pop(0)
        parts = urlsplit(target)
        shape = parts.path
        for pattern, same in _SHAPES:
            shape = re.sub(pattern, same, shape)
        key = target if target in start else shape
        if key in seen or parts.path == "/logout" or parts.path.startswith(("/static/", "/api/")):
            continue
        seen.add(key)
        try:
            answer = tab.goto(target)
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):
                continue  # a download (a CSV, a calendar), not a page
            raise
        visited.append((target, answer.status))
        if too_wide is not None and overflow(tab.page) > 1:
            too_wide.append((target, overflow(tab.page)))
        assert answer.status < 500, (target, answer.status)
        if each is not None:
            each(tab, target)
        for href in tab.page.locator("a[href]").evaluate_all("els => els.map(e => e.href)"):
            if href.startswith(tab.site.url + "/"):
                link = href[len(tab.site.url) :].split("#")[0]
                queue.append(link)
    return visited


def _no_markup_ran(tab: Tab, where: str) -> None:
    page = tab.page
    assert page.locator('img[src="x"]').count() == 0, f"an <img> was injected on {where}"
    assert page.locator("script:not([src])").count() == 0, f"an inline <script> on {where}"
    assert page.locator("[onerror], [onclick], [onload], [style]").count() == 0, where


def test_hostile_client_is_text_on_every_page(browser: Any, hostile_site: Site) -> None:
    tab = Tab(browser, hostile_site)
    try:
        tab.sign_in()
        named = {  # each page, and what of the client's name it shows (None: nothing)
            "/today": HOSTILE_NAME,
            "/clients?q=Mallory": HOSTILE_NAME,
            f"/clients/{HOSTILE_ID}": HOSTILE_NAME,
            "/reports": None,
            "/import": None,
            "/settings": None,
            f"/settings/templates/birthday/letter?client={HOSTILE_ID}": HOSTILE_FIRST,
        }
        for path, shown in named.items():
            assert tab.goto(path).status == 200, path
            text = tab.page.locator("main").inner_text()
            _no_markup_ran(tab, path)
            if shown:
                assert shown in text, f"the client's name is not shown as text on {path}"
        tab.goto(f"/clients/{HOSTILE_ID}")
        text = tab.page.locator("main").inner_text()
        assert f"note {SCRIPT}{IMG}" in text  # the notes, as typed
        assert f"{SCRIPT} Main St {IMG}" in text  # the address
        assert HOSTILE_NOTE in text  # a touch's note on the timeline
        tags = tab.page.locator("main .pill").all_inner_texts()
        assert SCRIPT in tags and IMG in tags, tags
        tab.goto("/today")
        assert HOSTILE_STAFF in tab.page.get_by_label("List of").locator("option").all_inner_texts()
        tab.goto("/reports")
        assert HOSTILE_STAFF in tab.page.locator("main").inner_text()
        tab.goto("/settings/staff")
        assert HOSTILE_STAFF in tab.page.locator("main").inner_text()
        _no_markup_ran(tab, "/settings/staff")
        visited = _html_pages(tab, list(named), each=_no_markup_ran)  # and every other page
        assert len(visited) >= 12, visited
        tab.watch.assert_clean()
    finally:
        tab.close()


def test_csp_holds_on_every_page_for_owner_and_staff(browser: Any, site: Site) -> None:
    """Every page either role can reach, in the browser: no CSP violation, no script error,
    nothing fetched from elsewhere. The staff member browses at phone width: no page may
    scroll sideways."""
    for email, viewport in ((OWNER, DESKTOP), (STAFF, PHONE)):
        tab = Tab(browser, site, viewport)
        try:
            tab.sign_in(email)
            too_wide: list[tuple[str, int]] = []
            visited = _html_pages(tab, ["/today", "/clients", "/account"], too_wide)
            paths = {path for path, _ in visited}
            assert {"/today", "/clients", "/account", "/reports"} <= paths
            if email == OWNER:
                assert {"/import", "/settings", "/settings/staff", "/settings/templates"} <= paths
                assert any(p.startswith("/clients/") for p in paths)
            else:
                assert not any(p.startswith(("/settings", "/import")) for p in paths)  # no links
                assert not too_wide, f"wider than a phone (sideways scrolling): {too_wide}"
            tab.watch.assert_clean()
        finally:
            tab.close()
