"""The client page edits every field an import can set, derived from the register; each bad
value is named next to its field and nothing changes. A client added or imported today gets
their rhythm right away, with the population model of the last daily run. Real databases,
real app; only the clock is mocked."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from conftest import NOW, table_snapshot
from keepwarm.domain.fields import CLIENT_FIELDS, FieldKind
from keepwarm.services import clients as svc
from keepwarm.services.rhythms import client_rhythm

TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("keepwarm.web.auth.clock", lambda: NOW)
    monkeypatch.setattr("keepwarm.web.pages.clock", lambda: NOW)


def _import(cli, tmp_path: Path, kind: str, lines: list[str], *options: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"{kind}-{len(lines)}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("import", kind, str(path), *options)
    assert result.exit_code == 0, result.output


def _visits(client: str, every: int, count: int, last: dt.date) -> list[str]:
    return [f"{client},{last - dt.timedelta(days=every * k)},40.00" for k in range(count)]


@pytest.fixture
def practice(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Twenty regulars with visits, Dana and Sam, and a daily run (the population model)."""
    for name in ("Dana", "Sam"):
        assert cli("staff", "add", name).exit_code == 0
    clients = ["id,name,owner"] + [f"R{i:02d},Regular {i:02d},Dana" for i in range(20)]
    visits = ["client_id,date,amount"]
    for i in range(20):
        visits += _visits(f"R{i:02d}", 14 + i, 12, TODAY - dt.timedelta(days=i))
    _import(cli, tmp_path, "clients", clients)
    _import(cli, tmp_path, "activities", visits)
    assert cli("run-daily", "--as-of", TODAY.isoformat()).exit_code == 0
    return cli


def test_the_edit_form_holds_every_field_an_import_sets(practice, web) -> None:  # type: ignore[no-untyped-def]
    page = web().get("/clients/R01").text
    for f in CLIENT_FIELDS:
        if f.kind is FieldKind.ID:
            assert f'name="{f.name}"' not in page.split('id="edit-h"')[1]
            continue
        if f.kind is FieldKind.HOUSEHOLD:  # its own form, the owner's (test_households_web)
            assert 'id="household-name"' in page
            continue
        assert f.editable, f"{f.name} is imported but not editable"
        assert f'id="e-{f.name}"' in page, f.name
    assert 'id="e-birthday" name="birthday" type="date"' in page
    assert 'id="e-next_due" name="next_due" type="date"' in page


def test_every_imported_field_is_saved_from_the_form(practice, web, engine) -> None:  # type: ignore[no-untyped-def]
    form = {
        "name": "Regular One",
        "first_name": "Regular",
        "last_name": "One",
        "email": "one@example.com",
        "phone": "(503) 555-0199",
        "address": "1 Elm Street",
        "birthday": "1984-03-05",
        "since": "2019-06-01",
        "owner": "Sam",
        "tags": "vip; yoga",
        "status": "cancelled",
        "cancelled_on": "2026-11-01",
        "next_due": "2027-01-15",
        "do_not_contact": "yes",
        "notes": "Prefers mornings",
    }
    answer = web().post("/clients/R01", form)
    assert answer.status_code == 303, answer.text
    c = svc.get_client(engine, "R01")
    assert (c.birthday, c.since, c.next_due) == (
        dt.date(1984, 3, 5),
        dt.date(2019, 6, 1),
        dt.date(2027, 1, 15),
    )
    assert c.cancelled_on == dt.date(2026, 11, 1) and c.status.value == "cancelled"
    assert (c.first_name, c.last_name, c.owner) == ("Regular", "One", "Sam")
    assert c.phone == "+15035550199" and c.tags == ("vip", "yoga") and c.do_not_contact
    page = web("o2@example.com").get("/clients/R01").text
    assert 'value="2027-01-15"' in page and 'value="1984-03-05"' in page


def test_each_bad_value_is_named_next_to_its_field_and_nothing_changes(
    practice, web, engine
) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    before = table_snapshot(engine)
    form = {
        "name": "Regular Two",
        "status": "active",
        "birthday": (TODAY + dt.timedelta(days=3)).isoformat(),  # in the future
        "next_due": "31/31/2026",
        "since": "not a date",
        "email": "nope",
    }
    answer = owner.post("/clients/R02", form)
    assert answer.status_code == 400
    for field in ("birthday", "next_due", "since", "email"):
        error = re.search(
            rf'id="e-{field}"[^>]*>\s*<span class="field-error" id="err-{field}">', answer.text
        )
        assert error, field
    assert 'value="31/31/2026"' in answer.text  # what was typed stays
    assert table_snapshot(engine) == before
    assert svc.get_client(engine, "R02").name == "Regular 02"


def test_a_client_imported_today_has_their_rhythm_the_same_day(
    practice, web, engine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _import(practice, tmp_path, "clients", ["id,name", "NEW1,Nora New"])
    _import(
        practice, tmp_path, "activities", ["client_id,date,amount", *_visits("NEW1", 21, 6, TODAY)]
    )
    rhythm = client_rhythm(engine, "NEW1")
    assert rhythm is not None and rhythm.activities == 6
    assert rhythm.usual_gap_days is not None and 15 <= rhythm.usual_gap_days <= 30
    page = web().get("/clients/NEW1").text
    assert re.search(r"<dt>Usual gap</dt><dd>\d+ days</dd>", page)
    card = json.loads(practice("client", "NEW1", "--format", "json").output)
    assert card["rhythm"]["usual_gap_days"] is not None
    # activities for a client the file creates (--create-missing) too
    _import(
        practice,
        tmp_path,
        "activities",
        ["client_id,date,amount", *_visits("NEW2", 30, 4, TODAY)],
        "--create-missing",
    )
    assert client_rhythm(engine, "NEW2") is not None


def test_a_client_added_by_hand_gets_a_rhythm_at_once(practice, engine) -> None:  # type: ignore[no-untyped-def]
    svc.create_client(engine, {"id": "H1", "name": "Hand Made"}, now=NOW)
    rhythm = client_rhythm(engine, "H1")
    assert rhythm is not None and rhythm.activities == 0


def test_before_the_first_daily_run_the_page_says_when_the_rhythm_comes(
    cli, web, engine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _import(cli, tmp_path, "clients", ["id,name", "E1,Early Bird"])
    _import(cli, tmp_path, "activities", ["client_id,date,amount", *_visits("E1", 7, 3, TODAY)])
    assert client_rhythm(engine, "E1") is None
    assert "Rhythm after the first daily run" in web().get("/clients/E1").text
    assert "after the first daily run" in cli("client", "E1").output


def test_a_client_added_through_the_api_with_visits_has_a_rhythm_at_once(
    practice, web_app, engine
) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from keepwarm.services.users import add_user, create_token
    from web_support import PASSWORD

    user = add_user(engine, "api@example.com", PASSWORD, "owner", staff_name=None, now=NOW)
    api = TestClient(web_app)
    api.headers["Authorization"] = f"Bearer {create_token(engine, user.id, 'test', now=NOW)}"
    assert api.post("/api/v1/clients", json={"id": "A1", "name": "Api Client"}).status_code == 201
    assert client_rhythm(engine, "A1") is not None  # before any activity: known, empty
    visits = [
        {"client_id": "A1", "date": (TODAY - dt.timedelta(days=20 * k)).isoformat()}
        for k in range(5)
    ]
    answer = api.post("/api/v1/activities", json=visits)
    assert answer.status_code == 200, answer.text
    rhythm = client_rhythm(engine, "A1")
    assert rhythm is not None and rhythm.activities == 5 and rhythm.usual_gap_days is not None


def test_an_import_still_succeeds_when_the_same_day_rhythm_cannot_be_learned(  # type: ignore[no-untyped-def]
    practice, engine, tmp_path, caplog
) -> None:
    with engine.begin() as conn:  # a stored model this keepwarm cannot read
        conn.exec_driver_sql("UPDATE rhythm_fits SET population = '{}'")
    _import(practice, tmp_path, "clients", ["id,name", "LATE1,Lena Late"])
    assert client_rhythm(engine, "LATE1") is None  # the next daily run learns it
    assert "could not learn the new clients' rhythm now" in caplog.text
