"""The owner's Duplicates page: pairs side by side, "Not the same person", the merge's
confirmation page showing both records, the merge, and its undo from the list of past merges;
staff are refused with the reason. On SQLite and PostgreSQL (the browser test:
test_duplicates_browser)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.importing import import_file

CLIENTS = (
    "id,first_name,last_name,email,phone,birthday\n"
    "K1,Kimberly,Morris,kim@example.org,,1984-03-02\n"
    "K2,Kim,Morris,,+15035550123,1984-03-02\n"
    "B1,Bob,Lane,bob@example.org,,1970-05-05\n"
    "B2,Robert,Lane,,,1970-05-05\n"
)


def _clients(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT external_id FROM clients")).scalars())


def test_the_owner_merges_a_pair_undoes_it_and_keeps_another_apart(  # type: ignore[no-untyped-def]
    web, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(CLIENTS)
    assert import_file(engine, settings, ImportKind.CLIENTS, path, today=TODAY, now=NOW).ok
    staff = web("dana@example.com", role="staff", staff="Dana")
    refused = staff.get("/duplicates")
    assert refused.status_code == 403 and "only the owner can" in refused.text
    owner = web("owner@example.com")

    page = owner.get("/duplicates")
    assert page.status_code == 200
    assert 'data-pair="K1 K2"' in page.text and 'data-pair="B1 B2"' in page.text
    assert "names differ only by a nickname (Kimberly / Kim)" in page.text

    as_json = owner.get("/duplicates.json").json()
    assert {(r["a"], r["b"]) for r in as_json} == {("K1", "K2"), ("B1", "B2")}
    assert staff.get("/duplicates.json").status_code == 403

    apart = owner.post("/duplicates/not-same", {"a": "B1", "b": "B2"})
    assert apart.status_code == 303
    page = owner.get(apart.headers["location"])
    assert 'data-pair="B1 B2"' not in page.text and "two people" in page.text

    confirm = owner.get("/duplicates/merge?keep=K1&other=K2")
    assert confirm.status_code == 200
    assert "kim@example.org" in confirm.text and "+15035550123" in confirm.text
    assert "Merge K2 into K1" in confirm.text
    assert staff.post("/duplicates/merge", {"keep": "K1", "other": "K2"}).status_code == 403
    merged = owner.post("/duplicates/merge", {"keep": "K1", "other": "K2"})
    assert merged.status_code == 303
    assert _clients(engine) == {"K1", "B1", "B2"}
    page = owner.get(merged.headers["location"])
    assert 'data-pair="K1 K2"' not in page.text and 'data-merge="1"' in page.text
    assert "Undo merge 1" in page.text
    # an old link to the merged client leads to the client they are now part of
    old_link = owner.get("/clients/K2")
    assert old_link.status_code == 307 and old_link.headers["location"] == "/clients/K1"
    assert owner.get("/clients/K1").status_code == 200
    assert owner.get("/clients/NOBODY").status_code == 404

    assert staff.post("/duplicates/merges/1/undo").status_code == 403
    undone = owner.post("/duplicates/merges/1/undo")
    assert undone.status_code == 303
    assert _clients(engine) == {"K1", "K2", "B1", "B2"}
    assert owner.get("/clients/K2").status_code == 200  # their own page again
    page = owner.get(undone.headers["location"])
    assert 'data-pair="K1 K2"' in page.text and "undone by owner@example.com" in page.text
    again = owner.post("/duplicates/merges/1/undo")
    assert again.status_code == 400 and "already undone" in again.text
