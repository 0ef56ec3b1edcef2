"""Signing in, first-run setup, sessions, CSRF, headers and the Today page, through the real
app on both backends (httpx test client; the browser tests live in test_web_browser.py)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from conftest import NOW, table_snapshot
from keepwarm.services import users
from keepwarm.services.users import add_user
from web_support import PASSWORD, Web, csrf_of


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock, the one thing mocked: 24 Nov 2026, 9 in the morning.
    monkeypatch.setattr("keepwarm.web.auth.clock", lambda: NOW)
    monkeypatch.setattr("keepwarm.web.pages.clock", lambda: NOW)


def _setup_form(web: Web, **fields: str):  # type: ignore[no-untyped-def]
    page = web.get("/setup")
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.text), "email": "boss@example.com"}
    data |= {"password": PASSWORD, "password2": PASSWORD, **fields}
    return web.client.post("/setup", data=data)


def test_with_no_user_every_page_leads_to_setup(web_app) -> None:  # type: ignore[no-untyped-def]
    web = Web(web_app)
    assert web.get("/today").headers["location"] == "/setup"
    assert web.get("/login").headers["location"] == "/setup"


def test_setup_needs_the_one_time_code_and_works_once(web_app, engine) -> None:  # type: ignore[no-untyped-def]
    web = Web(web_app)
    wrong = _setup_form(web, code="00000000")
    assert wrong.status_code == 400 and "not the code" in wrong.text
    assert users.user_count(engine) == 0
    right = _setup_form(web, code="1234 5678")
    assert right.status_code == 303 and right.headers["location"] == "/today"
    assert web.get("/today").status_code == 200  # signed in as the new owner
    (owner,) = users.list_users(engine)
    assert owner.email == "boss@example.com" and owner.is_owner
    again = Web(web_app)
    assert again.get("/setup").headers["location"] == "/login"
    token = csrf_of(again.get("/login").text, "/login")
    late = again.client.post(
        "/setup",
        data={"csrf_token": token, "code": "12345678", "email": "x@example.com"}
        | {"password": PASSWORD, "password2": PASSWORD},
    )
    assert late.status_code == 303 and late.headers["location"] == "/login"
    assert users.user_count(engine) == 1


def test_a_weak_or_common_password_is_refused(engine) -> None:  # type: ignore[no-untyped-def]
    for weak in ("short", "password123", "qwertyuiop", "boss@example.com"):
        with pytest.raises(users.InvalidInput, match="password"):
            add_user(engine, "boss@example.com", weak, "owner", now=NOW)
    assert users.user_count(engine) == 0


def test_passwords_are_stored_as_argon2id(engine) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM users").scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_sign_in_rotates_the_session_and_sign_out_revokes_it(web_app, engine) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)
    web = Web(web_app)
    web.sign_in("a@example.com")
    first = web.client.cookies.get("kw_session")
    web.sign_in("a@example.com")
    second = web.client.cookies.get("kw_session")
    assert first and second and first != second
    stale = Web(web_app)
    stale.client.cookies.set("kw_session", first)
    assert stale.get("/today").status_code == 303  # the old session ended on sign-in
    assert web.post("/logout").headers["location"].startswith("/login")
    reused = Web(web_app)
    reused.client.cookies.set("kw_session", second)
    assert reused.get("/today").status_code == 303


def test_the_session_cookie_is_httponly_and_samesite(web_app, engine) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)
    web = Web(web_app)
    page = web.get("/login")
    answer = web.client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "email": "a@example.com", "password": PASSWORD},
    )
    header = answer.headers["set-cookie"].lower()
    assert "kw_session=" in header and "httponly" in header and "samesite=lax" in header


def test_wrong_passwords_are_throttled_per_account(web_app, engine) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)
    web = Web(web_app)
    for _ in range(users.MAX_FAILURES_PER_ACCOUNT):
        assert web.sign_in("a@example.com", "wrong password here").status_code == 401
    blocked = web.sign_in("a@example.com")
    assert blocked.status_code == 401 and "too many failed attempts" in blocked.text
    # after the window has passed, the right password works again
    later = NOW + users.THROTTLE_WINDOW + dt.timedelta(seconds=1)
    assert users.authenticate(engine, "a@example.com", PASSWORD, ip="x", now=later).email


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(web_app, engine) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)
    web = Web(web_app)
    unknown = web.sign_in("nobody@example.com", "wrong password here")
    wrong = web.sign_in("a@example.com", "wrong password here")
    assert unknown.status_code == wrong.status_code == 401
    assert "wrong email or password" in unknown.text and "wrong email or password" in wrong.text


def test_changing_the_password_ends_every_session(web_app, engine) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)
    laptop, phone = Web(web_app), Web(web_app)
    laptop.sign_in("a@example.com")
    phone.sign_in("a@example.com")
    new = "purple elephants dance quietly"
    answer = laptop.post("/account/password", {"current": PASSWORD, "new": new, "new2": new})
    assert answer.status_code == 303
    assert phone.get("/today").status_code == 303
    assert laptop.get("/today").status_code == 303
    assert Web(web_app).sign_in("a@example.com", new).status_code == 303


def test_a_new_password_or_disabling_revokes_the_users_api_tokens(web_app, engine) -> None:  # type: ignore[no-untyped-def]
    user = add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)
    add_user(engine, "b@example.com", PASSWORD, "owner", now=NOW)
    other = users.create_token(
        engine, users.user_by_email(engine, "b@example.com").id, "b", now=NOW
    )
    client = Web(web_app).client

    def works(token: str) -> bool:
        answer = client.get("/api/v1/clients", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code in (200, 401), answer.text
        return answer.status_code == 200

    # changing one's own password on the account page
    token = users.create_token(engine, user.id, "laptop script", now=NOW)
    assert works(token)
    web = Web(web_app)
    web.sign_in("a@example.com")
    new = "purple elephants dance quietly"
    answer = web.post("/account/password", {"current": PASSWORD, "new": new, "new2": new})
    assert answer.status_code == 303
    assert not works(token)
    # an owner's reset or `keepwarm user password`
    token = users.create_token(engine, user.id, "laptop script", now=NOW)
    assert works(token)
    users.set_password(engine, user.id, "seven orange kites drift slowly", now=NOW)
    assert not works(token)
    # disabling the user
    token = users.create_token(engine, user.id, "laptop script", now=NOW)
    assert works(token)
    users.update_user(engine, user.id, active=False)
    assert not works(token)
    assert works(other)  # someone else's token is untouched


def test_a_disabled_user_is_signed_out_at_once(web_app, web, engine) -> None:  # type: ignore[no-untyped-def]
    staff = web("dana@example.com", role="staff", staff="Dana")
    web("owner@example.com")
    assert staff.get("/today").status_code == 200
    users.update_user(engine, users.user_by_email(engine, "dana@example.com").id, active=False)
    assert staff.get("/today").status_code == 303
    assert staff.sign_in("dana@example.com").status_code == 401


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    before = table_snapshot(engine)
    new = "purple elephants dance quietly"
    for token in ("", "forged"):
        answer = owner.client.post(
            "/account/password",
            data={"csrf_token": token, "current": PASSWORD, "new": new, "new2": new},
        )
        assert answer.status_code == 403 and "expired" in answer.text
    assert table_snapshot(engine) == before


def test_sign_in_never_redirects_off_site(web_app, engine) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)
    for target in ("//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com"):
        web = Web(web_app)
        page = web.get(f"/login?next={target}")
        answer = web.client.post(
            "/login",
            data={
                "csrf_token": csrf_of(page.text),
                "email": "a@example.com",
                "password": PASSWORD,
                "next": target,
            },
        )
        assert answer.headers["location"] == "/today"


def test_every_response_has_the_security_headers(web_app) -> None:  # type: ignore[no-untyped-def]
    web = Web(web_app)
    for url in ("/setup", "/today", "/static/app.css", "/api/v1/openapi.json"):
        headers = web.get(url).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
    assert web.get("/setup").headers["cache-control"] == "no-store"


def test_pages_have_no_inline_script_or_style(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    for url in ("/today", "/account"):
        html = owner.get(url).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert " style=" not in html and " onclick=" not in html


# --- the Today page ----------------------------------------------------------------------------


@pytest.fixture
def practice(cli, tmp_path):  # type: ignore[no-untyped-def]
    """Two members of staff, each with clients to contact today (a plan made for NOW)."""
    clients = ["id,name,owner,email,phone"]
    visits = ["client_id,date,amount,kind"]
    for i, owner in enumerate(["Dana", "Sam"] * 3):
        clients.append(f"C{i},Client {i},{owner},c{i}@example.com,+1503555010{i}")
        visits.append(f"C{i},2025-01-0{i + 1},50.00,visit")
    for name in ("Dana", "Sam"):
        assert cli("staff", "add", name, "--weekly-quota", "10").exit_code == 0
    for kind, lines in (("clients", clients), ("activities", visits)):
        path = tmp_path / f"{kind}.csv"
        path.write_text("\n".join(lines) + "\n")
        assert cli("import", kind, str(path)).exit_code == 0
    assert cli("run-daily", "--as-of", NOW.date().isoformat()).exit_code == 0
    return cli


def _action_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="action-(\d+)"', html)]


def test_staff_see_their_own_list_and_the_owner_sees_everyones(practice, web) -> None:  # type: ignore[no-untyped-def]
    dana = web("dana@example.com", role="staff", staff="Dana")
    owner = web("owner@example.com")
    mine = dana.get("/today").text
    everyone = owner.get("/today").text
    assert _action_ids(mine) and set(_action_ids(mine)) < set(_action_ids(everyone))
    assert "Client 0" in mine and "Client 1" not in mine  # Sam's client
    switched = owner.get("/today?staff=Sam").text
    assert "Client 1" in switched and "Client 0" not in switched
    assert dana.get("/today?staff=Sam").text.count('id="action-') == mine.count('id="action-')


def test_done_from_the_page_records_the_touch_and_the_action_leaves(practice, web) -> None:  # type: ignore[no-untyped-def]
    dana = web("dana@example.com", role="staff", staff="Dana")
    first = _action_ids(dana.get("/today").text)[0]
    answer = dana.post(
        f"/actions/{first}/done", {"channel": "call", "outcome": "reached", "note": "All well"}
    )
    assert answer.status_code == 303 and "msg=done" in answer.headers["location"]
    page = dana.get(answer.headers["location"]).text
    assert first not in _action_ids(page) and "the touch is recorded" in page
    card = practice("client", "C0", "--format", "json").output
    assert "All well" in card


def test_snooze_and_dismiss_from_the_page(practice, web) -> None:  # type: ignore[no-untyped-def]
    dana = web("dana@example.com", role="staff", staff="Dana")
    first, second, *_ = _action_ids(dana.get("/today").text)
    assert dana.post(f"/actions/{first}/snooze", {"until": "2026-11-30"}).status_code == 303
    assert dana.post(f"/actions/{second}/dismiss", {"reason": "Moved"}).status_code == 303
    left = _action_ids(dana.get("/today").text)
    assert first not in left and second not in left
    past = dana.post(f"/actions/{left[0]}/snooze", {"until": "2026-11-24"}) if left else None
    assert past is None or past.status_code == 400


def test_staff_cannot_act_on_someone_elses_action(practice, web, engine) -> None:  # type: ignore[no-untyped-def]
    sam = web("sam@example.com", role="staff", staff="Sam")
    dana = web("dana@example.com", role="staff", staff="Dana")
    danas = _action_ids(dana.get("/today").text)[0]
    before = table_snapshot(engine)
    for verb, data in (("done", {}), ("snooze", {"until": "2026-12-01"}), ("dismiss", {})):
        assert sam.post(f"/actions/{danas}/{verb}", data).status_code == 403
    assert table_snapshot(engine) == before


def test_the_quota_shows_each_members_week(practice, web) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    html = owner.get("/today").text
    assert re.search(r"Dana</span>\s*<meter[^>]*>", html) and "0 of 10" in html


def test_the_cli_creates_users_and_tokens(bare_cli, cli) -> None:  # type: ignore[no-untyped-def]
    added = cli(
        "user", "add", "a@example.com", "--role", "owner", "--password-stdin", input=PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    weak = cli(
        "user", "add", "b@example.com", "--role", "owner", "--password-stdin", input="password\n"
    )
    assert weak.exit_code == 1 and "password" in weak.output
    listed = cli("user", "list")
    assert "a@example.com  owner" in listed.output and "b@example.com" not in listed.output
    token = cli("user", "token", "a@example.com").output.strip()
    assert token.startswith("kw_")


def test_a_session_ends_after_the_idle_timeout(web_app, engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "a@example.com", PASSWORD, "owner", now=NOW)
    web = Web(web_app)
    web.sign_in("a@example.com")
    later = NOW + users.IDLE_TIMEOUT - dt.timedelta(minutes=1)
    monkeypatch.setattr("keepwarm.web.auth.clock", lambda: later)
    assert web.get("/today").status_code == 200  # still within the idle timeout
    idle = later + users.IDLE_TIMEOUT + dt.timedelta(minutes=1)
    monkeypatch.setattr("keepwarm.web.auth.clock", lambda: idle)
    assert web.get("/today").status_code == 303
