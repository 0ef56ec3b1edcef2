"""Saved filters: saved, listed, shown and deleted at the command line, saved and picked on the
Clients page, and the same clients either way."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import sqlalchemy as sa

from conftest import TODAY
from keepwarm.config import Settings
from keepwarm.domain.audience import Filters
from keepwarm.services import audiences
from test_audiences import plant


def test_the_cli_saves_lists_shows_and_deletes_a_filter(  # type: ignore[no-untyped-def]
    cli, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    plant(engine, settings, tmp_path)
    saved = cli("segment", "save", "vip dana", "--tag", "vip", "--owner", "Dana")
    assert saved.exit_code == 0, saved.output
    assert "clients tagged vip looked after by Dana (2 today)" in saved.output
    assert "vip dana" in cli("segment", "list").output
    shown = json.loads(cli("segment", "show", "vip dana", "--format", "json").output)
    assert shown["filters"] == {"tags": ["vip"], "owners": ["Dana"]} and shown["count"] == 2
    listed = cli("clients", "--filter", "vip dana").output
    assert "R1" in listed and "D1" in listed and "Q1" not in listed
    bad = cli("segment", "save", "x", "--last-visit-before", "soon")
    assert bad.exit_code == 1 and "last_visit_before: expected a date" in bad.output
    assert cli("segment", "delete", "vip dana").exit_code == 0
    gone = cli("segment", "show", "vip dana")
    assert gone.exit_code == 1 and "no saved filter" in gone.output


def test_the_clients_page_filters_counts_and_saves_for_staff_too(  # type: ignore[no-untyped-def]
    web, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    plant(engine, settings, tmp_path)
    owner = web()
    page = owner.get("/clients?tag=vip&tier=top").text
    assert '<span id="audience-count">1</span> client match' in page
    assert 'data-client="R1"' in page and 'data-client="D1"' not in page
    page = owner.get("/clients?not_seen=2026-06-01").text
    assert '<span id="audience-count">' in page
    assert 'data-client="P1"' in page and 'data-client="R1"' not in page
    staff = web("sam@example.com", role="staff", staff="Sam")
    answer = staff.post(
        "/saved-filters",
        {"name": "sams quiet", "filters": json.dumps({"owners": ["Sam"], "signals": ["lapsing"]})},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/clients?saved=sams%20quiet"
    picked = owner.get("/clients?saved=sams+quiet").text
    assert '<option value="sams quiet" selected>' in picked
    assert 'data-client="Q1"' in picked and 'data-client="X1"' not in picked
    assert "Clients looked after by Sam, gone quiet." in unescape(picked)
    with_engine = audiences.matching_clients(engine, Filters(saved="sams quiet"), today=TODAY)
    assert [r.ref for r in with_engine] == ["Q1"]
    refused = owner.post("/saved-filters", {"name": "bad", "filters": '{"colour": 1}'})
    assert refused.status_code == 400 and "colour: not a filter" in refused.text
