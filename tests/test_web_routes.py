"""Who may call what: every route of the app, for anonymous visitors, staff and the owner.

EXPECTED lists every route with its rule. A route that is not listed fails the matrix test,
so nobody adds an unprotected route without saying who may use it: add a line to EXPECTED
(and, for a new path parameter, a sample in `_samples`). Also here: staff cannot act on
another member's action, and no GET changes the database.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from starlette.routing import Mount

import keepwarm.web
from conftest import NOW
from keepwarm.services import users
from keepwarm.services.staff import add_staff, list_staff
from keepwarm.services.todays_list import todays_list
from keepwarm.services.users import add_user, create_token, start_session
from test_web_api import build_practice
from web_support import PASSWORD

try:  # FastAPI >= 0.160 includes routers lazily: app.routes holds the routers, not their routes
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI copies the routes in
    iter_route_contexts = None

# Rules: who may call a route.
PUBLIC = "public"  # anyone (sign-in, first-run setup, health, the API's document)
PAGE = "page"  # signed-in staff and owner; anonymous visitors are sent to sign in
OWNER_PAGE = "owner page"  # the owner only: staff get 403
API = "api"  # an API token of either role (or a browser session for GET); else 401
OWNER_API = "owner api"  # the owner's API token only: staff get 403

EXPECTED: dict[tuple[str, str], str] = {
    # pages.py: sign-in, setup, account, Today and its actions
    ("GET", "/"): PUBLIC,  # a redirect to /today
    ("GET", "/health"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", "/setup"): PUBLIC,
    ("POST", "/setup"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PAGE,
    ("GET", "/account"): PAGE,
    ("POST", "/account/password"): PAGE,
    ("GET", "/today"): PAGE,
    ("POST", "/actions/{action_id}/done"): PAGE,  # staff: their own list's (tested below)
    ("POST", "/actions/{action_id}/snooze"): PAGE,
    ("POST", "/actions/{action_id}/dismiss"): PAGE,
    ("POST", "/today/waiting/move"): OWNER_PAGE,  # give one member's waiting actions to another
    ("POST", "/today/more"): PAGE,  # staff: for themselves; the owner for anyone
    ("GET", "/actions/{action_id}/print"): PAGE,  # staff: their own list's
    ("POST", "/actions/{action_id}/undo"): PAGE,  # staff: their own list's
    ("POST", "/actions/{action_id}/reopen"): PAGE,
    # history.py: who did what, put away, reminders
    ("GET", "/activity"): PAGE,  # staff: their own list's steps
    ("GET", "/put-away"): PAGE,
    ("POST", "/reminders"): PAGE,  # staff: for themselves
    ("POST", "/reminders/{reminder_id}/delete"): PAGE,  # staff: their own
    # clients.py
    ("GET", "/clients"): PAGE,
    ("GET", "/clients/{client_id:path}"): PAGE,
    ("POST", "/clients/{client_id:path}"): PAGE,  # staff: the clients they look after
    ("POST", "/clients/{client_id:path}/touches"): PAGE,
    ("POST", "/clients/{client_id:path}/delete"): OWNER_PAGE,
    ("POST", "/clients/{client_id:path}/consent"): PAGE,  # staff: the clients they look after
    # privacy.py: everything about one client (ZIP), erasing one client
    ("POST", "/privacy/export"): PAGE,  # staff: the clients they look after
    ("GET", "/privacy/erase"): OWNER_PAGE,  # the confirmation page
    ("POST", "/privacy/erase"): OWNER_PAGE,
    # duplicates.py: the owner's duplicates, merges and their undoing
    ("GET", "/duplicates"): OWNER_PAGE,
    ("GET", "/duplicates.json"): OWNER_PAGE,  # the page's JSON twin
    ("GET", "/duplicates/merge"): OWNER_PAGE,  # the confirmation page
    ("POST", "/duplicates/merge"): OWNER_PAGE,
    ("POST", "/duplicates/not-same"): OWNER_PAGE,
    ("POST", "/duplicates/merges/{merge_id}/undo"): OWNER_PAGE,
    # households.py: the owner's suggested households; a client's household (set by the owner)
    ("GET", "/households"): OWNER_PAGE,
    ("POST", "/households/accept"): OWNER_PAGE,
    ("POST", "/households/reject"): OWNER_PAGE,
    ("POST", "/households/set"): OWNER_PAGE,
    # imports.py: the owner's
    ("GET", "/import"): OWNER_PAGE,
    ("POST", "/import"): OWNER_PAGE,
    ("GET", "/import/{upload_id}"): OWNER_PAGE,
    ("POST", "/import/{upload_id}/options"): OWNER_PAGE,
    ("POST", "/import/{upload_id}/confirm"): OWNER_PAGE,
    ("POST", "/import/{upload_id}/cancel"): OWNER_PAGE,
    # reports.py
    ("GET", "/reports"): PAGE,
    ("GET", "/reports/export/{name}"): OWNER_PAGE,  # the CSV downloads
    ("GET", "/reports/retention.csv"): PAGE,  # staff: their own row
    ("POST", "/saved-filters"): PAGE,  # owner and staff save a Clients filter
    # campaign_results.py: did a campaign work (the owner's)
    ("GET", "/campaigns/kind/{kind}"): OWNER_PAGE,  # campaigns of a kind pooled
    ("GET", "/campaigns/{name}/results"): OWNER_PAGE,
    # campaigns.py: the owner's campaigns (create from a starting point, preview, send a wave)
    ("GET", "/campaigns"): OWNER_PAGE,
    ("GET", "/campaigns.json"): OWNER_PAGE,  # the page's JSON twin
    ("GET", "/campaigns/new"): OWNER_PAGE,
    ("POST", "/campaigns/new"): OWNER_PAGE,
    ("GET", "/campaigns/{name}"): OWNER_PAGE,
    ("GET", "/campaigns/{name}.json"): OWNER_PAGE,
    ("GET", "/campaigns/{name}/preview"): OWNER_PAGE,
    ("GET", "/campaigns/{name}/preview.json"): OWNER_PAGE,
    ("POST", "/campaigns/{name}/send"): OWNER_PAGE,  # confirmed by a ticked box
    # audit.py: the owner's audit log, and its exports with the same filters
    ("GET", "/audit"): OWNER_PAGE,
    ("GET", "/audit.csv"): OWNER_PAGE,
    ("GET", "/audit.json"): OWNER_PAGE,
    # calendar_pages.py: the week, and the private calendar feed (its secret token is the key)
    ("GET", "/week"): PAGE,
    ("POST", "/week/calendar"): PAGE,  # one's own feed
    ("POST", "/week/calendar/revoke"): PAGE,
    ("GET", "/calendar/{name}"): PUBLIC,  # 404 unless the name holds a live token
    # unsubscribe.py: an email's unsubscribe link (its secret token is the key)
    ("GET", "/unsubscribe/{token}"): PUBLIC,  # a confirmation page: changes nothing
    ("POST", "/unsubscribe/{token}"): PUBLIC,  # 404 unless the token is a message's
    # printing.py: print batches (staff: their own; the owner: all)
    ("GET", "/print"): PAGE,
    ("GET", "/print.json"): PAGE,  # the page's JSON twin
    ("POST", "/print/letters"): PAGE,
    ("POST", "/print/labels"): PAGE,
    ("GET", "/print/{batch_id}.pdf"): PAGE,
    ("POST", "/print/{batch_id}/confirm"): PAGE,
    ("POST", "/print/{batch_id}/cancel"): PAGE,
    ("POST", "/actions/{action_id}/print-batch"): PAGE,  # staff: their own list's
    # outbox_pages.py: sending from the list, the Outbox (staff: their own; the owner: all)
    ("POST", "/actions/{action_id}/send"): PAGE,  # staff: their own list's
    ("GET", "/outbox"): PAGE,
    ("POST", "/outbox/{outbox_id}/mark-sent"): PAGE,
    ("POST", "/outbox/{outbox_id}/send-again"): PAGE,
    ("POST", "/outbox/{outbox_id}/cancel"): PAGE,
    ("POST", "/account/morning-email"): PAGE,  # one's own
    # password_reset.py: a forgotten password (the emailed token is the key)
    ("GET", "/forgot"): PUBLIC,
    ("POST", "/forgot"): PUBLIC,  # the same answer whatever the address
    ("GET", "/reset/{token}"): PUBLIC,  # a form: changes nothing
    ("POST", "/reset"): PUBLIC,  # refused unless the token is live
    # feedback.py: a client's feedback link (its secret token is the key)
    ("GET", "/feedback/{token}"): PUBLIC,  # the question: records nothing
    ("POST", "/feedback"): PUBLIC,  # records an answer once, for a live token only
    ("GET", "/reports/nps.csv"): PAGE,  # staff: their own clients' answers
    # settings_pages.py: the owner's
    ("GET", "/settings"): OWNER_PAGE,
    ("GET", "/settings/staff"): OWNER_PAGE,
    ("POST", "/settings/staff"): OWNER_PAGE,
    ("POST", "/settings/staff/{staff_id}"): OWNER_PAGE,
    ("GET", "/settings/users"): OWNER_PAGE,
    ("POST", "/settings/users"): OWNER_PAGE,
    ("POST", "/settings/users/{user_id}"): OWNER_PAGE,
    ("POST", "/settings/users/{user_id}/password"): OWNER_PAGE,
    ("POST", "/settings/tokens"): OWNER_PAGE,
    ("POST", "/settings/tokens/{token_id}/revoke"): OWNER_PAGE,
    ("GET", "/settings/policy"): OWNER_PAGE,
    ("POST", "/settings/policy"): OWNER_PAGE,
    ("GET", "/settings/templates"): OWNER_PAGE,
    ("GET", "/settings/templates/{code}/{form}"): OWNER_PAGE,
    ("POST", "/settings/templates/preview"): OWNER_PAGE,
    ("POST", "/settings/templates/preview.json"): OWNER_PAGE,
    ("POST", "/settings/templates/save"): OWNER_PAGE,
    ("POST", "/settings/templates/reset"): OWNER_PAGE,
    # api.py: the JSON API
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/clients"): API,
    ("POST", "/api/v1/clients"): OWNER_API,
    ("GET", "/api/v1/clients/{client_id:path}"): API,
    ("PATCH", "/api/v1/clients/{client_id:path}"): API,  # staff: the clients they look after
    ("DELETE", "/api/v1/clients/{client_id:path}"): OWNER_API,
    ("GET", "/api/v1/today"): API,
    ("POST", "/api/v1/actions/{action_id}/done"): API,  # staff: their own list's
    ("POST", "/api/v1/actions/{action_id}/snooze"): API,
    ("POST", "/api/v1/actions/{action_id}/dismiss"): API,
    ("POST", "/api/v1/actions/{action_id}/undo"): API,  # staff: their own list's
    ("POST", "/api/v1/actions/{action_id}/reopen"): API,
    ("GET", "/api/v1/activity"): API,  # staff: their own list's steps
    ("GET", "/api/v1/put-away"): API,  # staff: their own list's
    ("POST", "/api/v1/reminders"): API,  # staff: for themselves
    ("POST", "/api/v1/touches"): API,
    ("POST", "/api/v1/activities"): OWNER_API,
    ("POST", "/api/v1/imports/{kind}"): OWNER_API,
    ("POST", "/api/v1/actions/{action_id}/send"): API,  # staff: their own list's
    ("GET", "/api/v1/outbox"): API,  # staff: their own messages
}

# Every table but sessions and sign-in failures (which reading a page may touch).
DATA_TABLES = (
    "staff",
    "clients",
    "activities",
    "touches",
    "imports",
    "rhythm_fits",
    "rhythms",
    "policy",
    "plans",
    "actions",
    "action_events",
    "reminders",
    "users",
    "api_tokens",
)


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    out = {}
    with engine.connect() as conn:
        for name in DATA_TABLES:
            rows = conn.exec_driver_sql(f"SELECT * FROM {name}").all()
            out[name] = sorted(tuple(map(str, r)) for r in rows)
    return out


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock, the one thing mocked, wherever the web layer reads it.
    for info in pkgutil.iter_modules(keepwarm.web.__path__, "keepwarm.web."):
        module = importlib.import_module(info.name)
        if callable(getattr(module, "clock", None)):
            monkeypatch.setattr(module, "clock", lambda: NOW)


def _routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route, routers included."""
    found = []
    if iter_route_contexts is None:
        pairs = [(route, route) for route in app.routes]
    else:
        pairs = [(c.original_route, c) for c in iter_route_contexts(app.routes)]
    for original, route in pairs:
        if isinstance(original, Mount):
            continue  # /static: checked on its own
        assert route.path and route.methods, route
        found += [(m, route.path) for m in sorted(route.methods) if m != "HEAD"]
    return found


class People:
    """The practice's users, and fresh credentials for each request (a new session or token
    costs no password hash, so one request cannot spoil the next: a sign-out, a revoke)."""

    def __init__(self, app: Any, engine: sa.Engine) -> None:
        self.app = app
        self.engine = engine
        self.owner = add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
        self.dana = add_user(
            engine, "dana@example.com", PASSWORD, "staff", staff_name="Dana", now=NOW
        )
        self.sam = add_user(engine, "sam@example.com", PASSWORD, "staff", staff_name="Sam", now=NOW)
        add_staff(engine, "Spare", email=None, weekly_quota=1, now=NOW)
        self.spare_staff = next(s.id for s in list_staff(engine) if s.name == "Spare")

    def browser(self, user: Any | None) -> tuple[TestClient, str]:
        client = TestClient(self.app, follow_redirects=False)
        if user is None:
            return client, ""
        token = start_session(self.engine, user, now=NOW)
        client.cookies.set("kw_session", token)
        session = users.session_for(self.engine, token, now=NOW)
        assert session is not None
        return client, session.csrf

    def bearer(self, user: Any | None) -> dict[str, str]:
        if user is None:
            return {}
        return {"Authorization": f"Bearer {create_token(self.engine, user.id, 't', now=NOW)}"}


@pytest.fixture
def people(web_app, engine, settings, tmp_path) -> People:  # type: ignore[no-untyped-def]
    build_practice(engine, settings, tmp_path)
    return People(web_app, engine)


def _samples(people: People) -> dict[str, str]:
    """A value for each path parameter (Dana's first action: she may act on it)."""
    danas = todays_list(people.engine, "Dana")
    return {
        "action_id": str(danas[0].id),
        "client_id": "C0",
        "upload_id": "no-such-upload",
        "staff_id": str(people.spare_staff),
        "user_id": str(people.sam.id),  # the matrix does not use Sam's account
        "token_id": "999999",
        "reminder_id": "999999",
        "code": "birthday",
        "form": "letter",
        "kind": "activities",
        "name": "clients.csv",  # an export; no calendar feed's token
        "token": "no-such-token",
        "batch_id": "999999",
        "outbox_id": "999999",
        "merge_id": "999999",
    }


def _url(path: str, samples: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in samples, f"add a sample value for the path parameter {name!r}"
        return samples[name]

    return re.sub(r"{(\w+)(?::\w+)?}", one, path)


def _call(people: People, user: Any | None, method: str, path: str, url: str) -> Any:
    if path.startswith("/api/"):
        client = TestClient(people.app, follow_redirects=False)
        body = {} if method in ("POST", "PATCH") else None
        return client.request(method, url, json=body, headers=people.bearer(user))
    client, csrf = people.browser(user)
    if method == "GET":
        return client.get(url)
    return client.request(method, url, data={"csrf_token": csrf} if csrf else {})


def _sent_to_sign_in(answer: Any) -> bool:
    return answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


def _verdict(rule: str, role: str, answer: Any) -> str | None:
    """What is wrong with the answer, or None."""
    code = answer.status_code
    if code >= 500:
        return f"server error {code}"
    if rule == PUBLIC:
        return None if role != "anonymous" or code != 401 else "401 on a public route"
    api = rule in (API, OWNER_API)
    if role == "anonymous":
        if api:
            return None if code == 401 else f"expected 401, got {code}"
        return None if _sent_to_sign_in(answer) else f"expected 303 to /login, got {code}"
    if role == "staff" and rule in (OWNER_PAGE, OWNER_API):
        return None if code == 403 else f"expected 403 for staff, got {code}"
    if code in (401, 403) or _sent_to_sign_in(answer):
        return f"refused with {code} {answer.headers.get('location', '')}"
    return None


def test_every_route_has_a_rule(web_app) -> None:  # type: ignore[no-untyped-def]
    routes = set(_routes(web_app))
    missing = sorted(routes - set(EXPECTED))
    assert not missing, f"routes without an entry in EXPECTED (say who may call them): {missing}"
    gone = sorted(set(EXPECTED) - routes)
    assert not gone, f"EXPECTED lists routes the app no longer has: {gone}"


def test_role_by_route_matrix(people: People) -> None:
    samples = _samples(people)
    routes = [r for r in _routes(people.app) if r in EXPECTED]
    assert len(routes) >= 40
    wrong = []
    # Anonymous first, the owner last: the owner's calls may delete the sample client.
    for role, user in (("anonymous", None), ("staff", people.dana), ("owner", people.owner)):
        for method, path in routes:
            answer = _call(people, user, method, path, _url(path, samples))
            problem = _verdict(EXPECTED[(method, path)], role, answer)
            if problem:
                wrong.append(f"{role} {method} {path}: {problem}")
    assert not wrong, "\n".join(wrong)


def test_static_files_are_public(web_app) -> None:  # type: ignore[no-untyped-def]
    answer = TestClient(web_app).get("/static/app.css")
    assert answer.status_code == 200 and "text/css" in answer.headers["content-type"]


def test_staff_cannot_act_on_another_members_action(people: People) -> None:
    danas = todays_list(people.engine, "Dana")[0].id
    sams_token = people.bearer(people.sam)
    before = _snapshot(people.engine)
    for verb, fields in (("done", {}), ("snooze", {"until": "2026-12-01"}), ("dismiss", {})):
        client, csrf = people.browser(people.sam)
        page = client.post(f"/actions/{danas}/{verb}", data={"csrf_token": csrf, **fields})
        assert page.status_code == 403, (verb, page.status_code)
        body = {"done": {}, "snooze": {"until": "2026-12-01"}, "dismiss": {"reason": "x"}}[verb]
        api = TestClient(people.app).post(
            f"/api/v1/actions/{danas}/{verb}", json=body, headers=sams_token
        )
        assert api.status_code == 403, (verb, api.status_code)
    assert _snapshot(people.engine) == before
    client, csrf = people.browser(people.dana)  # her own: allowed
    assert client.post(f"/actions/{danas}/done", data={"csrf_token": csrf}).status_code == 303
    assert _snapshot(people.engine) != before


def test_no_get_changes_the_database(people: People) -> None:
    samples = _samples(people)
    gets = [path for method, path in _routes(people.app) if method == "GET"]
    before = _snapshot(people.engine)
    for user in (None, people.dana, people.owner):
        headers = people.bearer(user)
        after_token = _snapshot(people.engine)  # the token itself is a change: start after it
        client, _ = people.browser(user)
        for path in gets:
            url = _url(path, samples)
            answer = client.get(url, headers=headers if path.startswith("/api/") else {})
            assert answer.status_code < 500, (path, answer.status_code)
        assert _snapshot(people.engine) == after_token, f"a GET changed the database as {user}"
    assert before["actions"] == _snapshot(people.engine)["actions"]
