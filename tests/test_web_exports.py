"""The owner downloads clients, activities and touches as CSV from the Reports page: the very
bytes `keepwarm export` writes from the same database. Staff may not (403)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import NOW

CLIENTS = [
    "id,name,email,phone,tags,birthday",
    'C-1,"Adélaïde Rocher",a@example.com,+15035550100,vip;yoga,1984-03-05',
    "C-2,=SUM(A1),b@example.com,,,",  # a formula: neutralised in both files alike
]
VISITS = ["client_id,date,amount,kind", "C-1,2026-11-01,80.00,visit", "C-2,2026-10-02,0,check-up"]
TOUCHES = ["client_id,date,channel,staff,note", "C-1,2026-11-02,call,Dana,Asked about her knee"]


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("keepwarm.web.auth.clock", lambda: NOW)
    monkeypatch.setattr("keepwarm.web.reports.clock", lambda: NOW)


@pytest.fixture
def practice(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    for kind, lines in (("clients", CLIENTS), ("activities", VISITS), ("touches", TOUCHES)):
        path = tmp_path / f"{kind}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = cli("import", kind, str(path))
        assert result.exit_code == 0, result.output
    return cli


@pytest.mark.parametrize("kind", ["clients", "activities", "touches"])
def test_the_owner_downloads_the_same_bytes_as_the_cli_export(
    practice, web, tmp_path, kind
) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    answer = owner.get(f"/reports/export/{kind}.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f"keepwarm-{kind}-" in disposition
    out = tmp_path / f"cli-{kind}.csv"
    assert practice("export", kind, str(out)).exit_code == 0
    assert answer.content == out.read_bytes()
    assert answer.content.count(b"\n") == {"clients": 3, "activities": 3, "touches": 2}[kind]


def test_the_reports_page_links_the_downloads_for_the_owner_only(practice, web) -> None:  # type: ignore[no-untyped-def]
    links = re.findall(r'href="(/reports/export/[^"]+)"', web().get("/reports").text)
    assert links == [f"/reports/export/{k}.csv" for k in ("clients", "activities", "touches")]
    staff = web("dana@example.com", role="staff", staff="Dana")
    assert "/reports/export/" not in staff.get("/reports").text


def test_staff_may_not_download_and_unknown_exports_are_404(practice, web) -> None:  # type: ignore[no-untyped-def]
    staff = web("dana@example.com", role="staff", staff="Dana")
    for kind in ("clients", "activities", "touches"):
        assert staff.get(f"/reports/export/{kind}.csv").status_code == 403
    owner = web()
    assert owner.get("/reports/export/passwords.csv").status_code == 404
    assert owner.get("/reports/export/clients").status_code == 404
    signed_out = owner.client.__class__(owner.client.app, follow_redirects=False)
    assert signed_out.get("/reports/export/clients.csv").status_code in (303, 401)
