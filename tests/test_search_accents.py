"""The client search ignores accents, case and word order and finds part of an id: through the
service, the CLI (`keepwarm clients QUERY`), the Clients page and the API, on SQLite and
PostgreSQL, with the stored search text kept up to date by every write."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from conftest import NOW
from keepwarm.domain.search import fold, search_terms
from keepwarm.services import clients as svc
from keepwarm.store.migrate import _config

CLIENTS = [
    "id,name,email,phone",
    "C-10432,Adélaïde Rocher,adelaide@example.com,+15035550100",
    "C-20001,Kimberly Morris,kim@example.com,",
    "C-20002,Morris Minor,mm@example.com,",
    "C-30003,ZOË ÅSTRÖM,,",
    "C-40004,Ĳsbrand de Vries,,",
    "C-50005,Pat Sharp,,+15039990100",  # the same last four digits as C-10432's phone
]


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("keepwarm.web.auth.clock", lambda: NOW)
    monkeypatch.setattr("keepwarm.web.pages.clock", lambda: NOW)


@pytest.fixture
def practice(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "clients.csv"
    path.write_text("\n".join(CLIENTS) + "\n", encoding="utf-8")
    result = cli("import", "clients", str(path))
    assert result.exit_code == 0, result.output
    return cli


def _ids(engine: sa.Engine, text: str) -> list[str]:
    rows, total = svc.search_clients(engine, text)
    assert total == len(rows)
    return sorted(r.id for r in rows)


def test_folding_drops_accents_and_case_and_splits_terms() -> None:
    assert fold("  Adélaïde   ROCHER ") == "adelaide rocher"
    assert fold("Straße") == "strasse" and fold("Ĳsbrand") == "ijsbrand"
    assert search_terms("Rocher adel ROCHER") == ["rocher", "adel"]


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("Adelaide Rocher", ["C-10432"]),
        ("rocher adelaide", ["C-10432"]),
        ("ADÉLAÏDE", ["C-10432"]),
        ("adé roc", ["C-10432"]),
        ("Morris Kimberly", ["C-20001"]),
        ("morris", ["C-20001", "C-20002"]),
        ("1043", ["C-10432"]),
        ("c-1043", ["C-10432"]),
        ("zoe astrom", ["C-30003"]),
        ("ijsbrand", ["C-40004"]),
        ("de vries", ["C-40004"]),  # a two-letter term, which no trigram can find
        ("kim@example", ["C-20001"]),
        ("503 555 0100", ["C-10432"]),  # a phone, written any way
        ("(503) 999-0100", ["C-50005"]),  # the index finds both by 0100; the rest tells
        ("0100", ["C-10432", "C-50005"]),
        ("503555", ["C-10432"]),  # the start of a number
        ("5039990", ["C-50005"]),
        ("503 777 0100", []),
        ("Morris Rocher", []),  # every term must match
    ],
)
def test_search_ignores_accents_case_and_order_and_finds_part_of_an_id(
    practice, engine, typed: str, found: list[str]
) -> None:  # type: ignore[no-untyped-def]
    assert _ids(engine, typed) == found


def test_the_cli_the_clients_page_and_the_api_find_the_same_clients(practice, web, engine) -> None:  # type: ignore[no-untyped-def]
    result = practice("clients", "rocher adelaide")
    assert result.exit_code == 0 and "C-10432" in result.output
    assert "C-20001" not in result.output
    assert "C-10432" in practice("clients", "1043").output
    owner = web()
    page = owner.get("/clients", params={"q": "Adelaide Rocher"}).text
    assert re.findall(r'href="/clients/([^"]+)"', page).count("C-10432") >= 1
    assert "Kimberly Morris" not in page
    assert "Kimberly Morris" in owner.get("/clients", params={"q": "Morris Kimberly"}).text
    from keepwarm.services.users import create_token, list_users

    user = next(u for u in list_users(engine) if u.email == "owner@example.com")
    token = create_token(engine, user.id, "t", now=NOW)
    answer = owner.client.get(
        "/api/v1/clients",
        params={"q": "kimberly morris"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert [c["id"] for c in answer["clients"]] == ["C-20001"]


def test_every_write_keeps_the_search_text_up_to_date(practice, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    now = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
    svc.create_client(engine, {"id": "N-777", "name": "Renée Éclair"}, now=now)
    assert _ids(engine, "renee eclair") == ["N-777"]
    svc.update_client(engine, "N-777", {"name": "Chloé Dupré"}, now=now)
    assert _ids(engine, "eclair") == [] and _ids(engine, "chloe dupre") == ["N-777"]
    renamed = tmp_path / "renamed.csv"  # a re-import that changes a name
    renamed.write_text("id,name\nC-20002,Mörris Mäjor\n", encoding="utf-8")
    assert practice("import", "clients", str(renamed)).exit_code == 0
    assert _ids(engine, "morris major") == ["C-20002"] and _ids(engine, "minor") == []
    visits = tmp_path / "visits.csv"  # activities for an unknown client create them
    visits.write_text("client_id,date\nX-5150,2026-11-01\n", encoding="utf-8")
    assert practice("import", "activities", str(visits), "--create-missing").exit_code == 0
    assert _ids(engine, "515") == ["X-5150"]
    svc.delete_client(engine, "X-5150")
    assert _ids(engine, "515") == []


def test_the_migration_builds_the_search_text_of_existing_clients(practice, engine) -> None:  # type: ignore[no-untyped-def]
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0013_action_history")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE clients SET name = 'Hélène Öst' WHERE external_id = 'C-30003'")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    assert _ids(engine, "helene ost") == ["C-30003"]
    assert _ids(engine, "rocher adelaide") == ["C-10432"]
