"""The JSON API (/api/v1) through the real app on both backends: every endpoint's happy path,
tokens and roles, all-or-nothing batches, and today's list in the CLI's JSON contract."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import NOW, TODAY, table_snapshot
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.clients import client_card
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.services.users import add_user, create_token, list_tokens, revoke_token
from web_support import PASSWORD, Web


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock, the one thing mocked: 24 Nov 2026, 9 in the morning.
    for where in ("keepwarm.web.auth.clock", "keepwarm.web.pages.clock", "keepwarm.web.api.clock"):
        monkeypatch.setattr(where, lambda: NOW)


def build_practice(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    """Two members of staff (Dana, Sam), six clients with a visit each, and today's plan,
    all through the import path."""
    clients = ["id,name,owner,email,phone,tags"]
    visits = ["client_id,date,amount,kind"]
    for i, owner in enumerate(["Dana", "Sam"] * 3):
        clients.append(f"C{i},Client {i},{owner},c{i}@example.com,+1503555010{i},vip")
        visits.append(f"C{i},2025-01-0{i + 1},50.00,visit")
    for name in ("Dana", "Sam"):
        add_staff(engine, name, email=None, weekly_quota=10, now=NOW)
    for kind, lines in ((ImportKind.CLIENTS, clients), (ImportKind.ACTIVITIES, visits)):
        path = folder / f"{kind.value}.csv"
        path.write_text("\n".join(lines) + "\n")
        report = import_file(engine, settings, kind, path, today=TODAY, now=NOW)
        assert report.ok, report.problems
    run_daily(engine, settings, day=TODAY, now=NOW)


class Api:
    """A JSON API caller with a bearer token."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.client = TestClient(app)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def __getattr__(self, verb: str) -> Any:
        method = getattr(self.client, verb)
        return lambda url, **kw: method(
            url, headers={**self.headers, **kw.pop("headers", {})}, **kw
        )


@pytest.fixture
def api(web_app, engine):  # type: ignore[no-untyped-def]
    """api(email, role="owner", staff=None): an API caller with a new user's token."""

    def make(email: str = "owner@example.com", role: str = "owner", staff: str | None = None):  # type: ignore[no-untyped-def]
        user = add_user(engine, email, PASSWORD, role, staff_name=staff, now=NOW)
        return Api(web_app, create_token(engine, user.id, "test", now=NOW))

    return make


@pytest.fixture
def practice(engine, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    build_practice(engine, settings, tmp_path)


def _touches(engine: sa.Engine, client_id: str) -> list[Any]:
    return list(client_card(engine, client_id).touches)


# --- authentication -------------------------------------------------------------------------


def test_no_token_a_wrong_token_or_a_revoked_token_gets_401(web_app, api, engine) -> None:  # type: ignore[no-untyped-def]
    owner = api()
    assert owner.get("/api/v1/clients").status_code == 200
    for headers in ({}, {"Authorization": "Bearer kw_not-a-token"}, {"Authorization": "Basic x"}):
        answer = TestClient(web_app).get("/api/v1/clients", headers=headers)
        assert answer.status_code == 401 and "detail" in answer.json()
    (token,) = list_tokens(engine, 1)
    revoke_token(engine, 1, token.id, now=NOW)
    revoked = owner.get("/api/v1/clients")
    assert revoked.status_code == 401 and revoked.headers["www-authenticate"] == "Bearer"


def test_a_browser_session_may_read_but_not_write(web, practice) -> None:  # type: ignore[no-untyped-def]
    browser: Web = web()
    assert browser.get("/api/v1/today").status_code == 200
    answer = browser.client.post("/api/v1/touches", json={"client_id": "C0", "date": "2026-11-24"})
    assert answer.status_code == 401  # a browser writes through the CSRF-checked pages


def test_the_openapi_document_holds_only_the_api_and_declares_the_token(web_app) -> None:  # type: ignore[no-untyped-def]
    doc = TestClient(web_app).get("/api/v1/openapi.json").json()
    assert doc["components"]["securitySchemes"]["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["token"]["description"],
    }
    operations = [(p, m, op) for p, ops in doc["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 12
    for path, _, op in operations:
        assert path.startswith("/api/v1/")
        assert op["security"] == [{"token": []}]
        assert "401" in op["responses"]


# --- today and its actions ------------------------------------------------------------------


def test_today_has_the_cli_json_contract(api, practice, cli) -> None:  # type: ignore[no-untyped-def]
    answer = api().get("/api/v1/today")
    assert answer.status_code == 200
    data = answer.json()
    assert data["planned"] is True
    from_cli = json.loads(cli("today", "--as-of", TODAY.isoformat(), "--format", "json").output)
    assert data == from_cli and data["as_of"] == "2026-11-24"
    first = data["actions"][0]
    assert set(first) == {
        "id",
        "client",
        "staff",
        "priority",
        "rank",
        "why",
        "signals",
        "channel",
        "draft",
        "day",
    }
    assert set(data) == {"as_of", "planned", "latest_plan", "actions", "waiting"}
    assert set(first["client"]) == {"id", "name"}
    assert first["signals"] and set(first["signals"][0]) == {"code", "explanation"}


def test_staff_get_their_own_list_only(api, practice) -> None:  # type: ignore[no-untyped-def]
    owner = api()
    dana = api("dana@example.com", role="staff", staff="Dana")
    everyone = owner.get("/api/v1/today").json()["actions"]
    mine = dana.get("/api/v1/today").json()["actions"]
    assert mine and {a["staff"] for a in mine} == {"Dana"}
    assert len(mine) < len(everyone)
    assert dana.get("/api/v1/today?staff=Sam").status_code == 403
    sams = owner.get("/api/v1/today?staff=Sam").json()["actions"]
    assert sams and {a["staff"] for a in sams} == {"Sam"}
    assert owner.get("/api/v1/today?staff=Nobody").status_code == 422


def test_done_snooze_and_dismiss(api, practice, engine) -> None:  # type: ignore[no-untyped-def]
    dana = api("dana@example.com", role="staff", staff="Dana")
    first, second, third = dana.get("/api/v1/today").json()["actions"][:3]
    done = dana.post(
        f"/api/v1/actions/{first['id']}/done",
        json={"channel": "call", "outcome": "reached", "note": "All well"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["touch"]["staff"] == "Dana"
    assert [t.note for t in _touches(engine, first["client"]["id"])] == ["All well"]
    assert dana.post(f"/api/v1/actions/{second['id']}/snooze", json={"until": "2026-12-01"}).json()[
        "status"
    ] == ("snoozed")
    dismissed = dana.post(f"/api/v1/actions/{third['id']}/dismiss", json={"reason": "Moved"})
    assert dismissed.json() == {"id": third["id"], "status": "dismissed", "touch": None}
    left = {a["id"] for a in dana.get("/api/v1/today").json()["actions"]}
    assert not left & {first["id"], second["id"], third["id"]}
    again = dana.post(f"/api/v1/actions/{first['id']}/done", json={})
    assert again.status_code == 422 and "already done" in again.json()["detail"]
    assert dana.post("/api/v1/actions/99999/done", json={}).status_code == 404


def test_bad_action_input_is_422(api, practice) -> None:  # type: ignore[no-untyped-def]
    owner = api()
    action = owner.get("/api/v1/today").json()["actions"][0]["id"]
    past = owner.post(f"/api/v1/actions/{action}/snooze", json={"until": "2026-11-24"})
    assert past.status_code == 422 and "after today" in past.json()["detail"]
    blank = owner.post(f"/api/v1/actions/{action}/dismiss", json={"reason": ""})
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"] == ["body", "reason"]
    channel = owner.post(f"/api/v1/actions/{action}/done", json={"channel": "pigeon"})
    assert channel.status_code == 422 and "pigeon" in channel.json()["detail"]


def test_staff_cannot_act_on_someone_elses_action(api, practice, engine) -> None:  # type: ignore[no-untyped-def]
    sam = api("sam@example.com", role="staff", staff="Sam")
    owner = api()
    danas = owner.get("/api/v1/today?staff=Dana").json()["actions"][0]["id"]
    before = table_snapshot(engine)
    for verb, body in (
        ("done", {}),
        ("snooze", {"until": "2026-12-01"}),
        ("dismiss", {"reason": "x"}),
    ):
        assert sam.post(f"/api/v1/actions/{danas}/{verb}", json=body).status_code == 403
    assert table_snapshot(engine) == before
    assert owner.post(f"/api/v1/actions/{danas}/done", json={}).status_code == 200


# --- touches --------------------------------------------------------------------------------


def test_a_touch_is_recorded_and_closes_the_clients_action(api, practice, engine) -> None:  # type: ignore[no-untyped-def]
    owner = api()
    dana = api("dana@example.com", role="staff", staff="Dana")
    action = dana.get("/api/v1/today").json()["actions"][0]
    client = action["client"]["id"]
    answer = dana.post(
        "/api/v1/touches",
        json={"client_id": client, "date": "2026-11-24", "channel": "phone", "note": "Chatted"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "client_id": client,
        "date": "2026-11-24",
        "channel": "call",
        "staff": "Dana",
        "note": "Chatted",
        "outcome": None,
    }
    assert [t.staff for t in _touches(engine, client)] == ["Dana"]
    assert action["id"] not in {a["id"] for a in owner.get("/api/v1/today").json()["actions"]}


def test_touch_refusals(api, practice, engine) -> None:  # type: ignore[no-untyped-def]
    owner = api()
    dana = api("dana@example.com", role="staff", staff="Dana")
    before = table_snapshot(engine)
    touch = {"client_id": "C0", "date": "2026-11-23", "channel": "call"}
    assert dana.post("/api/v1/touches", json={**touch, "staff": "Sam"}).status_code == 403
    assert owner.post("/api/v1/touches", json={**touch, "client_id": "C99"}).status_code == 404
    future = owner.post("/api/v1/touches", json={**touch, "date": "2026-11-25"})
    assert future.status_code == 422 and "future" in future.json()["detail"]
    assert owner.post("/api/v1/touches", json={**touch, "channel": "pigeon"}).status_code == 422
    nul = owner.post("/api/v1/touches", json={**touch, "note": "a\x00b"})
    assert nul.status_code == 422 and nul.json()["detail"][0]["loc"] == ["body", "note"]
    assert owner.post("/api/v1/touches", json={**touch, "extra": 1}).status_code == 422
    assert table_snapshot(engine) == before
    assert owner.post("/api/v1/touches", json={**touch, "staff": "Sam"}).status_code == 201


# --- activities -----------------------------------------------------------------------------

VISITS = [
    {"client_id": "C0", "date": "2026-11-20", "amount": "85.00", "kind": "visit"},
    {"client_id": "C1", "date": "2026-11-21", "amount": 40, "kind": "visit", "note": "a\nb"},
    {"client_id": "C1", "date": "2026-11-21", "amount": 40, "kind": "visit", "note": "a\nb"},
    {"client_id": "C2", "date": "2026-11-22", "id": "INV-1", "quantity": 2},
]


def test_activities_are_added_once_however_often_they_are_sent(api, practice, engine) -> None:  # type: ignore[no-untyped-def]
    owner = api()
    before = table_snapshot(engine)
    dry = owner.post("/api/v1/activities?dry_run=true", json=VISITS)
    assert dry.json()["added"] == 4 and table_snapshot(engine) == before
    first = owner.post("/api/v1/activities", json=VISITS)
    assert first.status_code == 200, first.text
    assert first.json() == {"items": 4, "added": 4, "updated": 0, "unchanged": 0}
    card = client_card(engine, "C1")
    assert card.activity_count == 3 and card.activities[0].amount_cents == 4000
    after = table_snapshot(engine)
    again = owner.post("/api/v1/activities", json=VISITS)
    assert again.json() == {"items": 4, "added": 0, "updated": 0, "unchanged": 4}
    assert table_snapshot(engine) == after
    changed = owner.post("/api/v1/activities", json=[{**VISITS[3], "quantity": 3}])
    assert changed.json()["updated"] == 1


def test_a_bad_item_adds_nothing_and_is_named(api, practice, engine) -> None:  # type: ignore[no-untyped-def]
    owner = api()
    before = table_snapshot(engine)
    bad = [
        VISITS[0],
        {**VISITS[1], "note": "two\nlines"},  # a note over two lines: the next index still right
        {"client_id": "C99", "date": "2026-11-20"},
        {"client_id": "C3", "date": "2026-12-25"},
        {"client_id": "C3", "date": "2026-11-20", "amount": "1.234"},
    ]
    answer = owner.post("/api/v1/activities", json=bad)
    assert answer.status_code == 422
    assert table_snapshot(engine) == before
    detail = answer.json()["detail"]
    assert detail[0]["loc"] == ["body", 4, "amount"]  # pydantic's check comes first
    found = owner.post("/api/v1/activities", json=bad[:4]).json()["detail"]
    assert {(tuple(d["loc"]), "C99" in d["msg"] or "future" in d["msg"]) for d in found} == {
        (("body", 2, "client_id"), True),
        (("body", 3, "date"), True),
    }
    assert table_snapshot(engine) == before


def test_staff_do_not_add_activities_in_bulk_as_they_do_not_import(api, practice, engine) -> None:  # type: ignore[no-untyped-def]
    dana = api("dana@example.com", role="staff", staff="Dana")
    before = table_snapshot(engine)
    answer = dana.post("/api/v1/activities", json=VISITS)
    assert answer.status_code == 403 and "only the owner" in answer.json()["detail"]
    assert table_snapshot(engine) == before
    assert api().post("/api/v1/activities", json=VISITS).json()["added"] == len(VISITS)


# --- imports --------------------------------------------------------------------------------


def _upload(caller: Api, kind: str, text: str, query: str = "") -> Any:
    files = {"file": ("visits.csv", text.encode(), "text/csv")}
    return caller.post(f"/api/v1/imports/{kind}{query}", files=files)


def test_import_upload_dry_run_and_problems(api, practice, engine) -> None:  # type: ignore[no-untyped-def]
    owner = api()
    good = "Customer,Date,Total\nC0,2026-11-01,20.00\nC1,2026-11-02,30.00\n"
    before = table_snapshot(engine)
    dry = _upload(owner, "activities", good, "?dry_run=true").json()
    assert dry["ok"] and dry["dry_run"] and dry["added"] == 2
    assert table_snapshot(engine) == before
    done = _upload(owner, "activities", good).json()
    assert done["ok"] and done["added"] == 2 and done["filename"] == "visits.csv"
    assert done["columns"] == {"client_id": "Customer", "date": "Date", "amount": "Total"}
    assert _upload(owner, "activities", good).json()["added"] == 0  # idempotent
    after = table_snapshot(engine)
    bad = _upload(owner, "activities", good + "C9,2026-13-01,x\n").json()
    assert not bad["ok"] and bad["problem_count"] >= 1
    assert {k: bad["problems"][0][k] for k in ("line", "column")} == {"line": 4, "column": "Date"}
    assert table_snapshot(engine) == after
    assert _upload(owner, "gadgets", good).status_code == 422


def test_import_size_limit_and_roles(engine, db_url, api) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.web import create_app

    small = create_app(Settings(database_url=db_url, import_max_bytes=100))
    user = add_user(engine, "boss@example.com", PASSWORD, "owner", now=NOW)
    owner = Api(small, create_token(engine, user.id, "t", now=NOW))
    big = "id,name\n" + "".join(f"C{i},Client number {i}\n" for i in range(20))
    answer = _upload(owner, "clients", big)
    assert answer.status_code == 413 and "100" in answer.json()["detail"]
    assert _upload(owner, "clients", "id,name\nC1,Ann\n").json()["added"] == 1
    add_staff(engine, "Dana", email=None, weekly_quota=1, now=NOW)
    dana = api("dana@example.com", role="staff", staff="Dana")
    refused = _upload(dana, "clients", "id,name\nC2,Bo\n")
    assert refused.status_code == 403 and "only the owner can import" in refused.json()["detail"]


def test_staff_may_not_import_touches_and_the_owner_imports_anyones(  # type: ignore[no-untyped-def]
    api, practice, engine
) -> None:
    dana = api("dana@example.com", role="staff", staff="Dana")
    before = table_snapshot(engine)
    as_sam = "client_id,date,channel,staff\nC1,2026-11-20,call,Sam\nC0,2026-11-20,call,Dana\n"
    assert _upload(dana, "touches", as_sam).status_code == 403
    assert table_snapshot(engine) == before
    assert _upload(api(), "touches", as_sam).json()["added"] == 2


# --- clients --------------------------------------------------------------------------------


def test_search_clients(api, practice) -> None:  # type: ignore[no-untyped-def]
    dana = api("dana@example.com", role="staff", staff="Dana")
    everyone = dana.get("/api/v1/clients").json()
    assert everyone["total"] == 6 and everyone["clients"][0]["id"] == "C0"
    assert everyone["clients"][0]["tags"] == ["vip"]
    sams = dana.get("/api/v1/clients", params={"owner": "Sam", "sort": "name"}).json()
    assert {c["id"] for c in sams["clients"]} == {"C1", "C3", "C5"}
    page = dana.get("/api/v1/clients", params={"limit": 2, "offset": 4}).json()
    assert page["total"] == 6 and [c["id"] for c in page["clients"]] == ["C4", "C5"]
    found = dana.get("/api/v1/clients", params={"q": "c3@example"}).json()
    assert [c["id"] for c in found["clients"]] == ["C3"]
    assert dana.get("/api/v1/clients", params={"sort": "shoe size"}).status_code == 422
    assert dana.get("/api/v1/clients", params={"limit": 0}).status_code == 422


def test_create_read_change_and_delete_a_client(api, practice, engine) -> None:  # type: ignore[no-untyped-def]
    owner = api()
    new = {
        "id": "N1",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": " Ann@Example.com ",
        "phone": "(503) 555-0199",
        "owner": "Dana",
        "tags": ["new", "vip"],
        "birthday": "1990-05-04",
    }
    created = owner.post("/api/v1/clients", json=new)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["email"].lower(), body["phone"]) == (
        "Ann Lee",
        "ann@example.com",
        "+15035550199",
    )
    assert owner.post("/api/v1/clients", json=new).status_code == 422  # the id is taken
    read = owner.get("/api/v1/clients/C0").json()
    assert read["client"]["name"] == "Client 0"
    assert [e["kind"] for e in read["timeline"]] == ["activity"]
    changed = owner.patch("/api/v1/clients/N1", json={"phone": None, "tags": ["vip"]})
    assert changed.status_code == 200 and changed.json()["phone"] is None
    assert changed.json()["tags"] == ["vip"] and changed.json()["email"] == body["email"]
    wrong = owner.patch("/api/v1/clients/N1", json={"email": "not an email", "status": "active"})
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "email"]
    assert owner.get("/api/v1/clients/N1").json()["client"]["tags"] == ["vip"]
    assert owner.delete("/api/v1/clients/N1").status_code == 204
    assert owner.get("/api/v1/clients/N1").status_code == 404
    assert owner.delete("/api/v1/clients/N1").status_code == 404
    assert owner.patch("/api/v1/clients/N1", json={"name": "X"}).status_code == 404


def test_staff_change_the_clients_they_look_after_but_do_not_add_or_delete(
    api, practice, engine
) -> None:  # type: ignore[no-untyped-def]
    dana = api("dana@example.com", role="staff", staff="Dana")
    before = table_snapshot(engine)
    assert dana.delete("/api/v1/clients/C0").status_code == 403
    assert table_snapshot(engine) == before
    assert dana.get("/api/v1/clients/C0").status_code == 200
    assert dana.patch("/api/v1/clients/C0", json={"name": "Zed"}).json()["name"] == "Zed"  # hers
    sams = dana.patch("/api/v1/clients/C1", json={"name": "Zed"})
    assert sams.status_code == 403 and "Sam, who looks after this client" in sams.json()["detail"]
    assert dana.get("/api/v1/clients/C1").json()["client"]["name"] == "Client 1"
    assert dana.post("/api/v1/clients", json={"id": "D1", "name": "Di"}).status_code == 403


def test_dates_in_bodies_are_checked(api, practice) -> None:  # type: ignore[no-untyped-def]
    owner = api()
    answer = owner.post("/api/v1/clients", json={"name": "X", "birthday": "1990-02-30"})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "birthday"]
    assert isinstance(dt.date.fromisoformat("1990-02-28"), dt.date)


def test_any_client_id_is_read_changed_and_deleted(api) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import quote

    from hypothesis import HealthCheck, given, settings

    from test_web_clients import ODD_IDS

    owner = api()

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ODD_IDS)
    def check(client_id: str) -> None:
        made = owner.post("/api/v1/clients", json={"id": client_id, "name": "Odd"})
        assert made.status_code == 201, made.text
        url = "/api/v1/clients/" + quote(made.json()["id"], safe="")
        try:
            assert owner.get(url).json()["client"]["id"] == made.json()["id"]
            assert owner.patch(url, json={"name": "Odder"}).json()["name"] == "Odder"
            assert owner.delete(url).status_code == 204
            assert owner.get(url).status_code == 404
        finally:
            owner.delete(url)

    check()
    owner.post("/api/v1/clients", json={"id": "ACC/2024/7", "name": "Seven"})
    assert owner.get("/api/v1/clients/ACC%2F2024%2F7").json()["client"]["name"] == "Seven"
    assert owner.get("/api/v1/clients/ACC/2024/7").json()["client"]["name"] == "Seven"


def test_dates_must_be_written_as_dates(api, practice) -> None:  # type: ignore[no-untyped-def]
    owner = api()
    touch = {"client_id": "C0", "channel": "call"}
    activity = {"client_id": "C0", "amount": "5.00"}
    for day in (0, 1700000000, "0", "1700000000", "2026-11-20T00:00:00", 20261120, None):
        answer = owner.post("/api/v1/touches", json=touch | {"date": day})
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == "date", day
        answer = owner.post("/api/v1/activities", json=[activity | {"date": day}])
        assert answer.status_code == 422, day
        answer = owner.post("/api/v1/clients", json={"name": "N", "birthday": day})
        assert answer.status_code == (201 if day is None else 422), day
    for flag in ("yes", 1, "true"):
        answer = owner.patch("/api/v1/clients/C0", json={"do_not_contact": flag})
        assert answer.status_code == 422, flag
    assert owner.post("/api/v1/touches", json=touch | {"date": "2026-11-20"}).status_code == 201
    schema = owner.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schema["TouchIn"]["properties"]["date"] == {
        "type": "string",
        "format": "date",
        "title": "Date",
    }
