"""Audit entries written where things happen, in the change's transaction: sign-ins (and
refused attempts, with the email tried and never the password), users and API tokens, the
policy; backups are in tests/test_backup.py."""

from __future__ import annotations

import json

import sqlalchemy as sa

from conftest import NOW
from keepwarm.domain.errors import SignInFailed
from keepwarm.services import audit, users
from keepwarm.services.policy import set_policy_value
from keepwarm.services.staff import add_staff
from keepwarm.store.tables import audit_log
from web_support import PASSWORD, Web, csrf_of

WRONG = "not the password at all"


def _all_text(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log)).all()
    return json.dumps([tuple(map(str, r)) for r in rows])


def test_sign_ins_and_refused_attempts_are_audited_without_the_password(
    engine: sa.Engine,
) -> None:
    users.add_user(engine, "Owner@Example.com", PASSWORD, "owner", now=NOW)
    users.authenticate(engine, "owner@example.com", PASSWORD, ip="10.0.0.1", now=NOW)
    for email in ("owner@example.com", "nobody@example.com"):
        try:
            users.authenticate(engine, email, WRONG, ip="10.0.0.2", now=NOW)
        except SignInFailed:
            pass
        else:
            raise AssertionError("a wrong password signed in")
    (ok,) = audit.entries(engine, audit.AuditFilter(action="sign-in"))
    assert (ok.actor, ok.details) == ("owner@example.com", {"ip": "10.0.0.1"})
    refused = audit.entries(engine, audit.AuditFilter(action="sign-in-failed"))
    assert [(e.actor, e.details["why"]) for e in refused] == [
        ("nobody@example.com", "no such user"),
        ("owner@example.com", "wrong password"),
    ]
    text = _all_text(engine)
    assert WRONG not in text and PASSWORD not in text


def test_the_sign_in_page_writes_one_entry_per_attempt(web_app, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    users.add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    web = Web(web_app)
    assert web.sign_in("owner@example.com", WRONG).status_code == 401
    assert web.sign_in("owner@example.com").status_code == 303
    found = audit.entries(engine, audit.AuditFilter(actor="owner@example.com"))
    assert [e.action for e in found] == ["sign-in", "sign-in-failed"]
    page = web.get("/account").text
    assert csrf_of(page) not in _all_text(engine)  # no CSRF value in the log


def test_users_roles_and_tokens_are_audited_with_who_did_it(engine: sa.Engine) -> None:
    add_staff(engine, "Sam", email=None, weekly_quota=2, now=NOW)
    owner = users.add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    sam = users.add_user(
        engine,
        "sam@example.com",
        PASSWORD,
        "staff",
        staff_name="Sam",
        now=NOW,
        actor="owner@example.com",
    )
    users.update_user(engine, sam.id, role="owner", actor="owner@example.com", now=NOW)
    token = users.create_token(engine, owner.id, "laptop", now=NOW)
    (made,) = users.list_tokens(engine, owner.id)
    users.revoke_token(engine, owner.id, made.id, now=NOW)
    found = audit.entries(engine, audit.AuditFilter(action="user"))
    assert [(e.actor, e.subject, e.details.get("change")) for e in reversed(found)] == [
        ("command line", "owner@example.com", "added"),
        ("owner@example.com", "sam@example.com", "added"),
        ("owner@example.com", "sam@example.com", "changed"),
        ("owner@example.com", "owner@example.com", "token made"),
        ("owner@example.com", "owner@example.com", "token revoked"),
    ]
    assert found[2].details["role"] == {"old": "staff", "new": "owner"}
    assert token not in _all_text(engine)


def test_password_changes_are_audited_with_who_and_how_never_the_password(
    engine: sa.Engine,
) -> None:
    owner = users.add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    sam = users.add_user(engine, "sam@example.com", PASSWORD, "owner", now=NOW)
    first, second = "a brand new passphrase 1", "another long passphrase 2"
    users.change_password(engine, owner.id, PASSWORD, first, now=NOW)
    users.set_password(engine, sam.id, second, now=NOW, actor="owner@example.com")
    found = audit.entries(engine, audit.AuditFilter(action="user"))
    changes = [(e.actor, e.subject, e.details.get("change")) for e in found[:2]]
    assert changes == [
        ("owner@example.com", "sam@example.com", "password set by the owner"),
        ("owner@example.com", "owner@example.com", "password changed by the user"),
    ]
    text = _all_text(engine)
    assert first not in text and second not in text and PASSWORD not in text


def test_a_policy_change_is_audited_with_old_and_new_values(engine: sa.Engine) -> None:
    set_policy_value(engine, "weekly_quota", "7", now=NOW, actor="owner@example.com")
    set_policy_value(engine, "weekly_quota", "7", now=NOW, actor="owner@example.com")  # same
    (entry,) = audit.entries(engine, audit.AuditFilter(action="settings"))
    assert entry.actor == "owner@example.com"
    assert entry.details["weekly_quota"]["new"] == 7


def test_an_import_writes_one_entry_with_its_counts_and_a_dry_run_none(
    cli,
    engine: sa.Engine,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "clients.csv"
    path.write_text("id,name\nC1,Kim Morris\nC2,Ada Lovelace\n")
    assert cli("import", "clients", str(path), "--dry-run").exit_code == 0
    assert audit.entries(engine, audit.AuditFilter(action="import")) == []
    assert cli("import", "clients", str(path)).exit_code == 0
    path.write_text("id,name\nC1,Kim Morris\nC2,Ada King\nC3,Grace Hopper\n")
    assert cli("import", "clients", str(path)).exit_code == 0
    second, first = audit.entries(engine, audit.AuditFilter(action="import"))
    assert first.actor == "command line" and first.subject == str(path)
    assert first.details == {"kind": "clients", "rows": 2, "added": 2, "updated": 0, "unchanged": 0}
    assert (second.details["added"], second.details["updated"], second.details["unchanged"]) == (
        1,
        1,
        1,
    )


def test_an_api_import_names_the_user(web_app, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    owner = users.add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    token = users.create_token(engine, owner.id, "test", now=NOW)
    api = TestClient(web_app, headers={"Authorization": f"Bearer {token}"})
    files = {"file": ("mine.csv", b"id,name\nC1,Kim Morris\n", "text/csv")}
    assert api.post("/api/v1/imports/clients", files=files).status_code == 200
    (entry,) = audit.entries(engine, audit.AuditFilter(action="import"))
    assert (entry.actor, entry.subject, entry.details["added"]) == (
        "owner@example.com",
        "mine.csv",
        1,
    )


def test_client_edits_and_deletes_are_audited_field_by_field(engine: sa.Engine) -> None:
    from keepwarm.services import clients as client_service

    client_service.create_client(
        engine,
        {"id": "C1", "name": "Kim Morris", "email": "kim@old.example"},
        now=NOW,
        actor="owner@example.com",
    )
    client_service.update_client(
        engine,
        "C1",
        {"email": "kim@new.example", "name": "Kim Morris"},
        now=NOW,
        actor="sam@example.com",
    )
    client_service.update_client(engine, "C1", {"name": "Kim Morris"}, now=NOW)  # no change
    client_service.delete_client(engine, "C1", actor="owner@example.com", now=NOW)
    found = audit.entries(engine, audit.AuditFilter(client_id=None))
    edits = [e for e in found if e.action in ("client-edit", "client-delete")]
    assert [(e.action, e.actor) for e in reversed(edits)] == [
        ("client-edit", "owner@example.com"),
        ("client-edit", "sam@example.com"),
        ("client-delete", "owner@example.com"),
    ]
    assert edits[1].details == {"email": {"old": "kim@old.example", "new": "kim@new.example"}}
    assert edits[0].subject == "Kim Morris (C1)"


def test_a_token_made_on_the_command_line_says_so(cli, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    users.add_user(engine, "sam@example.com", PASSWORD, "owner", now=NOW)
    made = cli("user", "token", "sam@example.com")
    assert made.exit_code == 0, made.output
    (entry,) = audit.entries(engine, audit.AuditFilter(action="user", actor="command line"))[:1]
    assert (entry.subject, entry.details["change"]) == ("sam@example.com", "token made")
    secret = next(w for w in made.output.split() if w.startswith("kw_"))
    assert secret not in _all_text(engine)
