"""Who may do what: each row of the README's "Who may do what" table, tested against the app,
in the pages and in the API, for the owner and a member of staff (Dana). The practice: Dana
looks after C0, C2, C4; Sam after C1, C3, C5 (tests/test_web_api.py's build_practice).

ROWS below are the table's rows, in its order; a test checks the README lists exactly these,
so the table and the tests cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY, table_snapshot
from keepwarm.services.todays_list import todays_list
from keepwarm.services.users import create_token, user_by_email
from test_web_api import Api, build_practice

README = Path(__file__).resolve().parent.parent / "README.md"
ROWS = [
    "See today's list",
    "Done, snooze or dismiss an action",
    "Undo or reopen an action; see it on Put away",
    "Set or delete a reminder",
    "See the activity feed (who did what)",
    "Record a touch",
    "See the clients and a client's page",
    "Change a client's details",
    "Add a client (API)",
    "Delete a client",
    "Import files (Import page, API imports, activities in bulk)",
    "See the reports",
    "This week, and a private calendar link to it",
    "Download clients, activities and touches as CSV (Reports page)",
    "Settings: staff, users and API tokens, policy, templates",
    "Change their own password",
    "Send an email or a text from the list; the Outbox",
    "Record a client's contact preferences",
    "Save a filter on the Clients page",
    "Campaigns: create, preview, send, see the results",
    "Download everything about one client (ZIP, the client's page)",
    "Erase a client",
    "Find and merge duplicate clients; undo a merge",
    "Households: accept or reject suggestions; set a client's household",
    "See the audit log: sign-ins, imports, edits, exports, erasures, backups",
]


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock, the one thing mocked.
    for module in ("auth", "pages", "api", "clients", "settings_pages", "imports", "reports"):
        monkeypatch.setattr(f"keepwarm.web.{module}.clock", lambda: NOW, raising=False)


class Practice:
    def __init__(self, web: Any, web_app: Any, engine: sa.Engine) -> None:
        self.engine = engine
        self.owner = web("owner@example.com")
        self.dana = web("dana@example.com", role="staff", staff="Dana")
        self.owner_api = self._api(web_app, "owner@example.com")
        self.dana_api = self._api(web_app, "dana@example.com")

    def _api(self, app: Any, email: str) -> Api:
        return Api(
            app, create_token(self.engine, user_by_email(self.engine, email).id, "t", now=NOW)
        )

    def action_of(self, staff: str) -> int:
        return todays_list(self.engine, staff)[0].id


@pytest.fixture
def practice(web, web_app, engine, settings, tmp_path) -> Practice:  # type: ignore[no-untyped-def]
    build_practice(engine, settings, tmp_path)
    return Practice(web, web_app, engine)


def _notes(practice: Practice, client_id: str) -> str | None:
    notes = practice.owner_api.get(f"/api/v1/clients/{client_id}").json()["client"]["notes"]
    return None if notes is None else str(notes)


def _nav(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    assert nav
    return re.findall(r">([^<]+)</a>", nav.group(1))


def test_the_readme_table_has_exactly_the_rows_tested() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Who may do what") :]
    table = section[section.index("| What") : section.index("\n\n", section.index("| ---"))]
    rows = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert rows == ROWS


def test_see_todays_list(practice: Practice) -> None:
    sams = practice.action_of("Sam")
    assert f'id="action-{sams}"' in practice.owner.get("/today?staff=Sam").text
    mine = practice.dana.get("/today?staff=Sam").text  # staff: their own, whatever they ask
    assert f'id="action-{sams}"' not in mine
    assert f'id="action-{practice.action_of("Dana")}"' in mine
    assert practice.owner_api.get("/api/v1/today", params={"staff": "Sam"}).status_code == 200
    assert practice.dana_api.get("/api/v1/today", params={"staff": "Sam"}).status_code == 403
    assert practice.dana_api.get("/api/v1/today").status_code == 200


def test_done_snooze_or_dismiss_an_action(practice: Practice) -> None:
    sams, danas = practice.action_of("Sam"), practice.action_of("Dana")
    before = table_snapshot(practice.engine)
    assert practice.dana.post(f"/actions/{sams}/dismiss", {"reason": "x"}).status_code == 403
    refused = practice.dana_api.post(f"/api/v1/actions/{sams}/snooze", json={"until": "2026-12-01"})
    assert refused.status_code == 403
    assert table_snapshot(practice.engine) == before
    assert practice.dana_api.post(f"/api/v1/actions/{danas}/done", json={}).status_code == 200
    assert practice.owner.post(f"/actions/{sams}/dismiss", {"reason": "moved"}).status_code == 303


def test_record_a_touch(practice: Practice) -> None:
    touch = {"client_id": "C1", "date": "2026-11-24", "channel": "call"}
    assert (
        practice.dana_api.post("/api/v1/touches", json=touch | {"staff": "Sam"}).status_code == 403
    )
    assert practice.dana_api.post("/api/v1/touches", json=touch).json()["staff"] == "Dana"
    assert (
        practice.owner_api.post("/api/v1/touches", json=touch | {"staff": "Sam"}).status_code == 201
    )
    # On the client page staff record as themselves, whatever the form says.
    page = practice.dana.post("/clients/C3/touches", {"channel": "call", "staff": "Sam"})
    assert page.status_code == 303
    card = practice.owner_api.get("/api/v1/clients/C3").json()
    touches = [e for e in card["timeline"] if e["kind"] == "touch"]
    assert [t["staff"] for t in touches] == ["Dana"]


def test_see_the_clients_and_a_clients_page(practice: Practice) -> None:
    for web in (practice.owner, practice.dana):
        assert web.get("/clients").status_code == 200
        assert web.get("/clients/C1").status_code == 200
    for api in (practice.owner_api, practice.dana_api):
        assert api.get("/api/v1/clients").json()["total"] == 6
        assert api.get("/api/v1/clients/C1").status_code == 200


def test_change_a_clients_details(practice: Practice) -> None:
    form = {"name": "A Client", "notes": "Changed", "status": "active", "owner": "Sam"}
    # Staff: the clients they look after; another's is refused, in the page and the API.
    notes_before = _notes(practice, "C1")
    sams_page = practice.dana.get("/clients/C1").text
    assert 'id="not-yours"' in sams_page and "Sam, who looks after this client" in sams_page
    refused = practice.dana.post("/clients/C1", form)
    assert refused.status_code == 403 and "only the clients they look after" in refused.text
    assert practice.dana_api.patch("/api/v1/clients/C1", json={"notes": "X"}).status_code == 403
    assert _notes(practice, "C1") == notes_before
    assert 'id="not-yours"' not in practice.dana.get("/clients/C0").text
    mine = practice.dana.post("/clients/C0", form | {"owner": "Dana", "notes": "Mine"})
    assert mine.status_code == 303, mine.text
    assert _notes(practice, "C0") == "Mine"
    assert practice.dana_api.patch("/api/v1/clients/C2", json={"notes": "Two"}).status_code == 200
    # The owner: any client.
    assert practice.owner.post("/clients/C1", form).status_code == 303
    assert _notes(practice, "C1") == "Changed"
    assert (
        practice.owner_api.patch("/api/v1/clients/C3", json={"notes": "Three"}).status_code == 200
    )


def test_add_a_client_api(practice: Practice) -> None:
    new = {"id": "N1", "name": "Newcomer"}
    refused = practice.dana_api.post("/api/v1/clients", json=new)
    assert (
        refused.status_code == 403 and "only the owner can add clients" in refused.json()["detail"]
    )
    assert practice.owner_api.post("/api/v1/clients", json=new).status_code == 201


def test_delete_a_client(practice: Practice) -> None:
    before = table_snapshot(practice.engine)
    page = practice.dana.post("/clients/C0/delete", {"confirm": "yes"})
    assert page.status_code == 403 and "only the owner can delete a client" in page.text
    assert practice.dana_api.delete("/api/v1/clients/C0").status_code == 403
    assert 'action="/clients/C0/delete"' not in practice.dana.get("/clients/C0").text
    assert table_snapshot(practice.engine) == before
    assert practice.owner.post("/clients/C0/delete", {"confirm": "yes"}).status_code == 303
    assert practice.owner_api.delete("/api/v1/clients/C1").status_code == 204


def test_import_files(practice: Practice) -> None:
    before = table_snapshot(practice.engine)
    csv = ("clients.csv", b"id,name\nN1,New\n", "text/csv")
    page = practice.dana.get("/import")
    assert page.status_code == 403 and "only the owner can import files" in page.text
    assert "Import" not in _nav(practice.dana.get("/today").text)
    upload = practice.dana.post("/import", {"kind": "clients"}, files={"file": csv})
    assert upload.status_code == 403
    assert practice.dana_api.post("/api/v1/imports/clients", files={"file": csv}).status_code == 403
    visit = [{"client_id": "C0", "date": "2026-11-01"}]
    assert practice.dana_api.post("/api/v1/activities", json=visit).status_code == 403
    assert table_snapshot(practice.engine) == before
    assert "Import" in _nav(practice.owner.get("/today").text)
    assert practice.owner.get("/import").status_code == 200
    assert practice.owner_api.post("/api/v1/imports/clients", files={"file": csv}).json()["ok"]
    assert practice.owner_api.post("/api/v1/activities", json=visit).status_code == 200


def test_see_the_reports(practice: Practice) -> None:
    assert practice.owner.get("/reports").status_code == 200
    assert practice.dana.get("/reports").status_code == 200


def test_download_exports(practice: Practice) -> None:
    for kind in ("clients", "activities", "touches"):
        refused = practice.dana.get(f"/reports/export/{kind}.csv")
        assert refused.status_code == 403 and "only the owner" in refused.text
        answer = practice.owner.get(f"/reports/export/{kind}.csv")
        assert answer.status_code == 200 and answer.content.count(b"\n") >= 1
    assert "/reports/export/" not in practice.dana.get("/reports").text
    assert "/reports/export/clients.csv" in practice.owner.get("/reports").text


def test_this_week_and_its_calendar_link(practice: Practice) -> None:
    sams = todays_list(practice.engine, "Sam")[0]
    danas = todays_list(practice.engine, "Dana")[0]
    assert f">{sams.client_name}</a>" in practice.owner.get("/week?staff=Sam").text
    mine = practice.dana.get("/week?staff=Sam").text  # staff: their own, whatever they ask
    assert f">{sams.client_name}</a>" not in mine and f">{danas.client_name}</a>" in mine
    made = practice.dana.post("/week/calendar", {})
    page = practice.dana.get(made.headers["location"]).text
    link = re.search(r'id="feed-https">[^<]*(/calendar/[^<]+)</code>', page)
    assert link
    feed = practice.owner.client.get(link.group(1)).text  # no sign-in needed: the link is the key
    assert f"action-{danas.id}@" in feed and f"action-{sams.id}@" not in feed


def test_settings(practice: Practice) -> None:
    for path in ("/settings", "/settings/staff", "/settings/users", "/settings/policy"):
        assert practice.dana.get(path).status_code == 403, path
        assert practice.owner.get(path).status_code == 200, path
    assert practice.dana.get("/settings/templates").status_code == 403
    assert "Settings" not in _nav(practice.dana.get("/today").text)
    assert "Settings" in _nav(practice.owner.get("/today").text)


def test_change_their_own_password(practice: Practice) -> None:
    for web in (practice.owner, practice.dana):
        page = web.get("/account")
        assert page.status_code == 200 and 'action="/account/password"' in page.text


def test_undo_or_reopen_an_action_see_it_on_put_away(practice: Practice) -> None:
    sams, danas = practice.action_of("Sam"), practice.action_of("Dana")
    for action in (sams, danas):
        practice.owner.post(f"/actions/{action}/dismiss", {"reason": "not now"})
    owners = practice.owner.get("/put-away").text
    assert f'id="action-{sams}"' in owners and f'id="action-{danas}"' in owners
    mine = practice.dana.get("/put-away").text
    assert f'id="action-{danas}"' in mine and f'id="action-{sams}"' not in mine
    assert practice.dana.post(f"/actions/{sams}/reopen").status_code == 403
    assert practice.dana_api.post(f"/api/v1/actions/{sams}/undo").status_code == 403
    assert practice.dana.post(f"/actions/{danas}/undo").status_code == 303
    assert practice.owner_api.post(f"/api/v1/actions/{sams}/reopen").status_code == 200
    assert {sams, danas} <= {a.id for a in todays_list(practice.engine)}


def test_set_or_delete_a_reminder(practice: Practice) -> None:
    day = {"client_id": "C1", "on": "2026-12-01", "note": "ring"}
    assert practice.dana.post("/reminders", {**day, "staff": "Sam"}).status_code == 403
    assert (
        practice.dana_api.post("/api/v1/reminders", json={**day, "staff": "Sam"}).status_code == 403
    )
    assert practice.dana.post("/reminders", day).status_code == 303  # for herself
    made = practice.owner_api.post("/api/v1/reminders", json={**day, "staff": "Sam"}).json()
    assert made["staff"] == "Sam"
    assert practice.dana.post(f"/reminders/{made['id']}/delete").status_code == 403
    assert practice.owner.post(f"/reminders/{made['id']}/delete").status_code == 303


def test_see_the_activity_feed_who_did_what(practice: Practice) -> None:
    practice.owner.post(f"/actions/{practice.action_of('Sam')}/dismiss", {"reason": "away"})
    practice.owner.post(f"/actions/{practice.action_of('Dana')}/dismiss", {"reason": "gone"})
    owners = practice.owner.get("/activity").text
    assert "Dismissed: away" in owners and "Dismissed: gone" in owners
    mine = practice.dana.get("/activity?staff=Sam").text  # their own, whatever they ask
    assert "Dismissed: gone" in mine and "Dismissed: away" not in mine
    theirs = practice.dana_api.get("/api/v1/activity").json()
    assert [e["for_staff"] for e in theirs["events"]] == ["Dana"]


def test_send_an_email_or_a_text_from_the_list_the_outbox(practice: Practice) -> None:
    from keepwarm.config import Settings
    from keepwarm.services.outbox import queue_action

    mail = Settings(
        database_url=practice.engine.url.render_as_string(hide_password=False),
        smtp_url="smtp://127.0.0.1:2525",
        mail_from="Practice <hello@practice.example>",
        base_url="https://keepwarm.example.com",
    )
    sams = queue_action(
        practice.engine, mail, practice.action_of("Sam"), "email", by=None, day=TODAY, now=NOW
    )
    assert f'id="message-{sams}"' in practice.owner.get("/outbox").text
    assert f'id="message-{sams}"' not in practice.dana.get("/outbox").text
    assert practice.dana.post(f"/outbox/{sams}/cancel").status_code == 403
    assert [m["id"] for m in practice.owner_api.get("/api/v1/outbox").json()] == [sams]
    assert practice.dana_api.get("/api/v1/outbox").json() == []


def test_record_a_clients_contact_preferences(practice: Practice) -> None:
    from keepwarm.services.consent import refusal
    from keepwarm.store import reading
    from keepwarm.store.queries import client_internal_id

    # C0 is Dana's client, C1 Sam's
    refused = practice.dana.post("/clients/C1/consent", {"choice": "sms:allow"})
    assert refused.status_code == 403
    assert practice.dana.post("/clients/C0/consent", {"choice": "sms:allow"}).status_code == 303
    assert practice.owner.post("/clients/C1/consent", {"choice": "email:refuse"}).status_code == 303
    with reading(practice.engine) as conn:
        c0, c1 = (client_internal_id(conn, ref) for ref in ("C0", "C1"))
        assert c0 is not None and c1 is not None
        assert refusal(conn, c0, "sms") is None  # Dana recorded the consent to texts
        assert refusal(conn, c1, "sms") == "no consent to texts on record"  # hers was refused
        assert "asked not to be contacted" in (refusal(conn, c1, "email") or "")


def test_save_a_filter_on_the_clients_page(practice: Practice) -> None:
    for web, name in ((practice.owner, "owners vips"), (practice.dana, "danas vips")):
        saved = web.post("/saved-filters", {"name": name, "filters": '{"tags": ["vip"]}'})
        assert saved.status_code == 303, name
        assert name in web.get("/clients").text


def test_campaigns_create_preview_send_see_the_results(practice: Practice) -> None:
    assert practice.dana.get("/campaigns").status_code == 403
    assert practice.dana.get("/campaigns/new?from=win-back").status_code == 403
    assert practice.owner.get("/campaigns").status_code == 200
    assert "Campaigns" not in _nav(practice.dana.get("/today").text)
    assert "Campaigns" in _nav(practice.owner.get("/today").text)


def test_download_everything_about_one_client_zip_the_clients_page(practice: Practice) -> None:
    # C0 is Dana's client, C1 Sam's
    assert 'action="/privacy/export"' in practice.dana.get("/clients/C0").text
    assert 'action="/privacy/export"' not in practice.dana.get("/clients/C1").text
    refused = practice.dana.post("/privacy/export", {"client": "C1"})
    assert refused.status_code == 403 and "only the clients they look after" in refused.text
    mine = practice.dana.post("/privacy/export", {"client": "C0"})
    assert mine.status_code == 200 and mine.headers["content-type"] == "application/zip"
    anyone = practice.owner.post("/privacy/export", {"client": "C1"})
    assert anyone.status_code == 200 and anyone.content.startswith(b"PK")


def test_erase_a_client(practice: Practice) -> None:
    before = table_snapshot(practice.engine)
    assert "/privacy/erase" not in practice.dana.get("/clients/C0").text
    page = practice.dana.get("/privacy/erase?client=C0")
    assert page.status_code == 403 and "only the owner can erase a client" in page.text
    refused = practice.dana.post("/privacy/erase", {"client": "C0", "confirm": "C0"})
    assert refused.status_code == 403
    assert table_snapshot(practice.engine) == before
    assert 'href="/privacy/erase?client=C0"' in practice.owner.get("/clients/C0").text
    done = practice.owner.post("/privacy/erase", {"client": "C0", "confirm": "C0"})
    assert done.status_code == 303
    assert practice.owner.get("/clients/C0").status_code == 404


def test_find_and_merge_duplicate_clients_undo_a_merge(practice: Practice) -> None:
    before = table_snapshot(practice.engine)
    page = practice.dana.get("/duplicates")
    assert page.status_code == 403 and "only the owner can find and merge" in page.text
    assert practice.dana.get("/duplicates/merge?keep=C0&other=C1").status_code == 403
    assert practice.dana.post("/duplicates/merge", {"keep": "C0", "other": "C1"}).status_code == 403
    assert practice.dana.post("/duplicates/not-same", {"a": "C0", "b": "C1"}).status_code == 403
    assert table_snapshot(practice.engine) == before
    assert practice.owner.get("/duplicates").status_code == 200
    assert (
        practice.owner.post("/duplicates/merge", {"keep": "C0", "other": "C1"}).status_code == 303
    )
    assert practice.dana.post("/duplicates/merges/1/undo").status_code == 403
    gone = practice.owner.get("/clients/C1")  # their old page leads to the kept client
    assert gone.status_code == 307 and gone.headers["location"] == "/clients/C0"
    assert practice.owner.post("/duplicates/merges/1/undo").status_code == 303
    assert practice.owner.get("/clients/C1").status_code == 200


def test_households_accept_or_reject_suggestions_set_a_clients_household(
    practice: Practice,
) -> None:
    before = table_snapshot(practice.engine)
    page = practice.dana.get("/households")
    assert page.status_code == 403 and "only the owner can see and decide households" in page.text
    assert practice.dana.post("/households/accept", {"key": "1-2"}).status_code == 403
    assert practice.dana.post("/households/reject", {"key": "1-2"}).status_code == 403
    assert practice.dana.post("/households/set", {"client": "C0", "name": "X"}).status_code == 403
    assert 'action="/households/set"' not in practice.dana.get("/clients/C0").text
    assert table_snapshot(practice.engine) == before
    assert practice.owner.get("/households").status_code == 200
    done = practice.owner.post("/households/set", {"client": "C0", "name": "Lee"})
    assert done.status_code == 303
    assert "The Lee family" in practice.owner.get("/clients/C0").text
    assert "The Lee family" in practice.dana.get("/clients/C0").text  # staff see it


def test_see_the_audit_log_sign_ins_imports_edits_exports_erasures_backups(
    practice: Practice,
) -> None:
    refused = practice.dana.get("/audit")
    assert refused.status_code == 403 and "only the owner can see the audit log" in refused.text
    assert practice.dana.get("/audit.csv").status_code == 403
    assert 'href="/audit"' not in practice.dana.get("/today").text
    page = practice.owner.get("/audit?action=sign-in")
    assert page.status_code == 200 and "dana@example.com" in page.text  # who signed in
