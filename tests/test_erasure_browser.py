"""A client's data in a real browser (headless Chromium): the owner downloads everything
about a client as a ZIP from their page, then erases them through the confirmation page (the
client's id typed); the client is gone from the pages and the database."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from browser_support import Site
from keepwarm.store.tables import clients, erasures
from test_web_browser import Tab, browser, clock_frozen, demo_file, site  # noqa: F401

pytestmark = pytest.mark.slow


def test_download_a_clients_zip_then_erase_them(
    browser: Any,  # noqa: F811
    site: Site,  # noqa: F811
    tmp_path: Path,
) -> None:
    with site.engine.connect() as conn:
        ref, name = conn.execute(
            sa.select(clients.c.external_id, clients.c.name).order_by(clients.c.id).limit(1)
        ).one()
    before = site.client_count()
    tab = Tab(browser, site)
    try:
        tab.sign_in()
        page = tab.page
        tab.goto("/clients/" + quote(ref, safe=""))
        with page.expect_download() as info:
            page.get_by_role("button", name="Download everything we hold (ZIP)").click()
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(target)
        with zipfile.ZipFile(target) as z:
            assert json.loads(z.read("client.json"))[0]["name"] == name
            assert "README.txt" in z.namelist()

        page.get_by_role("link", name="Erase…").click()
        page.wait_for_url("**/privacy/erase?client=*")
        assert "This cannot be undone" in page.locator("main").inner_text()
        page.locator("#e-confirm").fill(ref)
        page.get_by_role("button", name=f"Erase {name} for good").click()
        page.wait_for_url("**/clients?msg=erased*")
        assert "The client is erased" in page.locator("main").inner_text()
        tab.watch.assert_clean()
    finally:
        tab.context.close()
    assert site.client_count() == before - 1
    with site.engine.connect() as conn:
        assert (
            conn.execute(sa.select(clients.c.id).where(clients.c.external_id == ref)).first()
            is None
        )
        assert conn.execute(sa.select(erasures.c.reason)).scalars().all() == ["request"]
