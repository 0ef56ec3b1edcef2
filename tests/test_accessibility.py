"""Accessibility: axe-core checks every page in Chromium, at desktop (1280x900) and phone
(390x844) width, as the owner and as a member of staff: no violation of serious or critical
impact (unlabelled controls, too little contrast, missing names...).

axe-core comes from npm and is never copied into the repository: `.ci/run` installs it with
`npm install --no-save --prefix ~/.cache/keepwarm/axe axe-core@4`; KEEPWARM_AXE_JS may name
another axe.min.js. Without it these tests skip, saying what to install; under CI=true they
fail instead (as the Chromium and PostgreSQL tests do).

The pages are found by following the links of each signed-in user's pages (the menu included),
so pages added later are checked without listing them here; a few are reached on purpose:
sign-in, first-run setup, an import preview, the error pages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from browser_support import (
    DESKTOP,
    IN_CI,
    OWNER,
    PHONE,
    STAFF,
    LiveServer,
    Site,
    chromium,
    demo_site,
    sign_in,
)

pytestmark = pytest.mark.slow

AXE_DEFAULT = Path.home() / ".cache" / "keepwarm" / "axe" / "node_modules" / "axe-core"
AXE_INSTALL = (
    "npm install --no-save --prefix ~/.cache/keepwarm/axe axe-core@4 "
    "(or set KEEPWARM_AXE_JS to an axe.min.js)"
)
BAD = ("serious", "critical")
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}
# One page of each shape (a client, an upload, a template...): enough to check its markup.
_SHAPES = [
    (r"^/clients/.+", "/clients/*"),
    (r"^/import/[^/]+$", "/import/*"),
    (r"^/settings/templates/[^/]+/[^/]+$", "/settings/templates/*"),
    (r"^/actions/\d+/.*", "/actions/*"),
]
_SKIP = ("/logout", "/static/", "/api/", "/favicon.ico")


def axe_source() -> str:
    """axe.min.js's text; skip (fail under CI) when it is not installed."""
    named = os.environ.get("KEEPWARM_AXE_JS")
    path = Path(named) if named else AXE_DEFAULT / "axe.min.js"
    if not path.is_file():
        message = f"the accessibility tests need axe-core at {path}: {AXE_INSTALL}"
        if IN_CI:
            pytest.fail("CI=true but " + message)
        pytest.skip(message)
    return path.read_text(encoding="utf-8")


def serious_violations(page: Any, axe: str) -> list[str]:
    """axe-core's violations of serious or critical impact on the page as it is now, one line
    each: rule id, impact, the elements (CSS selectors) and what is wrong."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe)
    results = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(' ')),
                summary: v.nodes.slice(0, 1).map(n => n.failureSummary || '').join(''),
            }));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'][:6])}"
        + (f" (+{len(v['targets']) - 6} more)" if len(v["targets"]) > 6 else "")
        + f" -- {v['summary'].splitlines()[-1].strip() if v['summary'] else ''}"
        for v in results
        if v["impact"] in BAD
    ]


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.fixture(scope="module")
def browser(axe: str) -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with demo_site(tmp_path_factory) as running:
        yield running


def _context(browser: Any, viewport: dict[str, int]) -> Any:
    # bypass_csp: the app's CSP (rightly) refuses the injected axe script; nothing else changes
    return browser.new_context(viewport=viewport, locale="en-US", bypass_csp=True)


def _shape(path: str) -> str:
    for pattern, same in _SHAPES:
        if re.match(pattern, path):
            return same
    return path


def _crawl(page: Any, base: str, start: list[str], limit: int = 40) -> Iterator[str]:
    """Each same-site page reachable by links from `start` (one per shape), left loaded in
    `page` while the caller checks it."""
    seen: set[str] = set()
    queue = list(start)
    while queue and len(seen) < limit:
        target = queue.pop(0)
        path = urlsplit(target).path
        if path.startswith(_SKIP) or path == "/logout" or _shape(path) in seen:
            continue
        seen.add(_shape(path))
        try:
            answer = page.goto(base + target)
        except Exception as exc:  # a download (CSV, calendar): not a page
            if "Download is starting" in str(exc):
                continue
            raise
        if answer is None or "text/html" not in answer.headers.get("content-type", ""):
            continue
        yield target
        for href in page.locator("a[href]").evaluate_all("els => els.map(e => e.href)"):
            if href.startswith(base + "/"):
                queue.append(href[len(base) :].split("#")[0])


def _upload_preview(page: Any, base: str) -> None:
    """An import's preview with a problem on it (the owner's)."""
    page.goto(base + "/import")
    page.get_by_label("Clients (one row per client)").check()
    page.get_by_label("CSV file").set_input_files(
        {
            "name": "a11y.csv",
            "mimeType": "text/csv",
            "buffer": b"Client ID,First Name,Last Name,Email\nA-1,Ann,Lee,not an email\n",
        }
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r"/import/[^/?]+$"))


# --- the checks -------------------------------------------------------------------------------


def test_the_check_finds_a_violation(browser: Any, site: Site, axe: str) -> None:
    """The check itself: an unlabelled input and grey-on-grey text are reported, with the rule,
    the impact and the element."""
    context = _context(browser, DESKTOP)
    try:
        page = context.new_page()
        page.goto(site.url + "/login")
        page.evaluate(
            """() => {
                const i = document.createElement('input'); i.id = 'nameless';
                document.querySelector('main').appendChild(i);
                const p = document.createElement('p'); p.id = 'faint';
                p.textContent = 'Hard to read'; p.style.color = '#bbb'; p.style.background = '#ccc';
                document.querySelector('main').appendChild(p);
            }"""
        )
        found = serious_violations(page, axe)
        assert any(v.startswith("label (critical)") and "#nameless" in v for v in found), found
        assert any(v.startswith("color-contrast (serious)") and "#faint" in v for v in found), found
    finally:
        context.close()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_signed_out_pages_have_no_serious_violations(
    browser: Any, site: Site, axe: str, tmp_path: Path, width: str
) -> None:
    from keepwarm.config import Settings
    from keepwarm.services.database import init_database
    from keepwarm.web import create_app

    found: dict[str, list[str]] = {}
    context = _context(browser, WIDTHS[width])
    fresh_settings = Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    init_database(fresh_settings)
    fresh = LiveServer(create_app(fresh_settings, setup_code="12345678")).start()
    try:
        page = context.new_page()
        from test_feedback_browser import feedback_link  # a client's feedback page

        answer = feedback_link(site.engine, "a11y-feedback-token")
        for base, path in (
            (site.url, "/login"),
            (site.url, "/forgot"),
            (fresh.url, "/setup"),
            (site.url, answer),
        ):
            page.goto(base + path)
            page.wait_for_load_state()
            found[path] = serious_violations(page, axe)
        page.goto(site.url + "/login")  # a refused sign-in: the error shown on the form
        page.get_by_label("Email").fill(OWNER)
        page.get_by_label("Password").fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        found["/login (refused)"] = serious_violations(page, axe)
    finally:
        context.close()
        fresh.stop()
    bad = {path: v for path, v in found.items() if v}
    assert not bad, _report(bad, width)


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("who", ["owner", "staff"])
def test_every_page_has_no_serious_violations(
    browser: Any, site: Site, axe: str, who: str, width: str
) -> None:
    """Every page the user can reach from the menu and the pages' links, plus the error
    pages (and, for the owner, an import's preview)."""
    found: dict[str, list[str]] = {}
    context = _context(browser, WIDTHS[width])
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, site.url, OWNER if who == "owner" else STAFF)
        visited: list[str] = []
        # each page checked while it is loaded (the crawl goes on to the next when asked)
        for path in _crawl(page, site.url, ["/today", "/clients", "/reports", "/account"]):
            visited.append(path)
            found[path] = serious_violations(page, axe)
            if path == "/today":  # its closed parts too (fields that open when needed)
                page.evaluate(
                    "() => document.querySelectorAll('details').forEach(d => d.open = true)"
                )
                found["/today (all open)"] = serious_violations(page, axe)
        assert "/today" in visited and len(visited) >= 5, visited
        page.goto(site.url + "/clients/NO-SUCH-CLIENT")
        found["/clients/NO-SUCH-CLIENT (404)"] = serious_violations(page, axe)
        if who == "owner":
            assert any(p.startswith("/settings/") for p in visited), visited
            _upload_preview(page, site.url)
            found["/import/* (preview)"] = serious_violations(page, axe)
        else:
            page.goto(site.url + "/settings")
            found["/settings (403)"] = serious_violations(page, axe)
    finally:
        context.close()
    bad = {path: v for path, v in found.items() if v}
    assert not bad, _report(bad, f"{who}, {width}")


def _report(bad: dict[str, list[str]], where: str) -> str:
    lines = [f"serious or critical axe-core violations ({where}):"]
    for path, violations in bad.items():
        lines.append(f"  {path}")
        lines += [f"    - {v}" for v in violations]
    return "\n".join(lines)
