"""The owner's audit log page (/audit): newest first, filters, pages, client links, erased
clients shown as such, exports as CSV and JSON with the same filters; staff refused. And the
`keepwarm audit` command."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import sqlalchemy as sa

from conftest import NOW, Cli
from keepwarm.services import audit
from keepwarm.services.consent import set_consent
from keepwarm.services.erasure import erase_client
from keepwarm.store import writing
from keepwarm.store.tables import clients

OWNER = "owner@example.com"
LATER = NOW + dt.timedelta(days=3)


def _client(engine: sa.Engine, ref: str, name: str) -> int:
    with writing(engine) as conn:
        return int(
            conn.execute(
                sa.insert(clients)
                .values(external_id=ref, name=name, created_at=NOW, updated_at=NOW)
                .returning(clients.c.id)
            ).scalar_one()
        )


def _history(engine: sa.Engine) -> None:
    _client(engine, "C1", "Kim Morris")
    _client(engine, "C2", "Ada Lovelace")
    set_consent(engine, "C1", "email", False, actor=OWNER, now=NOW, note="asked")
    set_consent(engine, "C2", "sms", True, actor="sam@example.com", now=LATER, note="desk")
    with writing(engine) as conn:
        audit.record(conn, actor="command line", action="backup", now=LATER, subject="b.db")


def test_the_owner_sees_entries_newest_first_with_client_links(web, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    owner = web(OWNER)
    _history(engine)
    page = owner.get("/audit")
    assert page.status_code == 200
    html = page.text
    assert html.index('data-action="backup"') < html.index('data-action="consent"')
    assert 'href="/clients/C1"' in html and "Kim Morris (C1)" in html
    assert "Changed contact preferences" in html and "Made a backup" in html
    assert "channel: email; allowed: False" in html


def test_filters_narrow_the_page_and_its_exports(web, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    owner = web(OWNER)
    _history(engine)
    only_kim = owner.get("/audit?action=consent&client=C1")
    assert "Kim Morris (C1)" in only_kim.text and "Ada Lovelace" not in only_kim.text
    by_sam = owner.get("/audit?actor=sam%40example.com")
    assert "Ada Lovelace" in by_sam.text and "Kim Morris" not in by_sam.text
    day = LATER.date().isoformat()
    since = owner.get(f"/audit?since={day}&until={day}")
    assert "Made a backup" in since.text and "Kim Morris" not in since.text
    exported = owner.get(f"/audit.csv?since={day}&until={day}")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["action"] for r in rows) == ["backup", "consent"]
    as_json = owner.get("/audit.json?action=consent&client=C2").json()["entries"]
    assert [e["subject"] for e in as_json] == ["Ada Lovelace (C2)"]
    assert as_json[0]["details"]["channel"] == "sms"
    assert owner.get("/audit?action=teleport").status_code == 400
    assert owner.get("/audit?since=yesterday").status_code == 400
    assert owner.get("/audit?client=C404").status_code in (400, 404)


def test_pages_of_fifty(web, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    owner = web(OWNER)
    with writing(engine) as conn:
        for n in range(60):
            audit.record(conn, actor=OWNER, action="print", now=NOW, subject=f"batch {n}")
    first = owner.get("/audit?action=print").text
    assert "batch 59" in first and "batch 9<" not in first and "Page 1 of 2" in first
    second = owner.get("/audit?action=print&page=2").text
    assert "batch 9<" in second and "batch 59" not in second


def test_an_erased_client_shows_as_erased_and_keeps_the_fact(web, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    owner = web(OWNER)
    _history(engine)
    erase_client(engine, "C1", actor=OWNER, now=LATER)
    html = owner.get("/audit?action=consent").text
    assert "(erased client)" in html and "Kim Morris" not in html
    assert "Ada Lovelace (C2)" in html


def test_staff_are_refused_the_audit_log(web) -> None:  # type: ignore[no-untyped-def]
    sam = web("sam@example.com", role="staff", staff="Sam")
    for url in ("/audit", "/audit.csv", "/audit.json"):
        answer = sam.get(url)
        assert answer.status_code == 403, url
        assert "only the owner can see the audit log" in answer.text


def test_settings_link_to_the_audit_log(web) -> None:  # type: ignore[no-untyped-def]
    assert 'href="/audit"' in web(OWNER).get("/settings").text


def test_the_audit_command_filters_and_formats(cli: Cli, engine: sa.Engine) -> None:
    _history(engine)
    table = cli("audit")
    assert table.exit_code == 0 and "Made a backup" in table.output
    as_json = json.loads(cli("audit", "--client", "C2", "--format", "json").output)
    assert [e["actor"] for e in as_json] == ["sam@example.com"]
    day = LATER.date().isoformat()
    rows = list(csv.DictReader(io.StringIO(cli("audit", "--since", day, "--format", "csv").output)))
    assert sorted(r["action"] for r in rows) == ["backup", "consent"]
    until = json.loads(cli("audit", "--until", NOW.date().isoformat(), "--format", "json").output)
    assert [e["subject"] for e in until] == ["Kim Morris (C1)"]
    assert cli("audit", "--action", "consent", "--actor", OWNER).output.count("Kim Morris") == 1
    bad = cli("audit", "--action", "teleport")
    assert bad.exit_code == 1 and "teleport" in bad.output
    missing = cli("audit", "--client", "C404")
    assert missing.exit_code == 1 and "C404" in missing.output
