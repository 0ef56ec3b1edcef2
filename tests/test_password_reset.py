"""Forgot password: the same answer for any address (no account enumeration), a link that
works once and for an hour (the clock mocked), every session ended when it is used, requests
throttled per address and per network address, and only the token's hash stored. On SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import NOW
from keepwarm.config import Settings
from keepwarm.services.users import add_user
from keepwarm.store.tables import outbox, password_resets
from web_support import PASSWORD, Web, csrf_of

NEW = "plum orchard lantern quietly"
MAIL = {
    "smtp_url": "smtp://127.0.0.1:2525",
    "mail_from": "Northside Physio <hello@northside.example>",
    "base_url": "https://keepwarm.example.com",
}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    for where in (
        "keepwarm.web.auth.clock",
        "keepwarm.web.pages.clock",
        "keepwarm.web.password_reset.clock",
    ):
        monkeypatch.setattr(where, c)
    return c


@pytest.fixture
def app(db_url: str, engine: sa.Engine, clock: Clock) -> Any:
    from keepwarm.web import create_app

    add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    return create_app(Settings(database_url=db_url, **MAIL))


def _ask(app: Any, email: str) -> Any:
    browser = Web(app)
    page = browser.get("/forgot")
    return browser.client.post(
        "/forgot", data={"csrf_token": csrf_of(page.text, "/forgot"), "email": email}
    )


def _messages(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        query = sa.select(outbox).where(outbox.c.kind == "password").order_by(outbox.c.id)
        return list(conn.execute(query))


def _link(engine: sa.Engine) -> str:
    found = re.search(r"https://keepwarm\.example\.com(/reset/\S+)", _messages(engine)[-1].body)
    assert found
    return found.group(1)


def _set(app: Any, path: str, password: str = NEW) -> Any:
    browser = Web(app)
    page = browser.get(path)
    if page.status_code != 200:  # no form on the page: the sign-in form's token is the same
        page = browser.get("/forgot")
    token = path.rsplit("/", 1)[1]
    data = {
        "csrf_token": csrf_of(page.text),
        "token": token,
        "password": password,
        "password2": password,
    }
    return browser.client.post("/reset", data=data)


def test_the_sign_in_page_links_to_forgot_password_only_when_email_is_set_up(  # type: ignore[no-untyped-def]
    app, db_url
) -> None:
    from keepwarm.web import create_app

    assert 'href="/forgot"' in Web(app).get("/login").text
    plain = create_app(Settings(database_url=db_url))
    assert 'href="/forgot"' not in Web(plain).get("/login").text
    assert "ask the owner to set a new password" in Web(plain).get("/forgot").text


def test_any_address_gets_the_same_answer_and_only_an_account_gets_a_link(app, engine) -> None:  # type: ignore[no-untyped-def]
    known, unknown = _ask(app, "owner@example.com"), _ask(app, "nobody@example.com")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["location"] == unknown.headers["location"] == "/forgot?sent=1"
    assert "If that address has an account, we sent a link" in Web(app).get("/forgot?sent=1").text
    [message] = _messages(engine)
    assert message.to_address == "owner@example.com" and not message.bulk
    assert message.key.startswith("password:")
    token = _link(engine).rsplit("/", 1)[1]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(password_resets.c.token_hash)).scalar_one()
    assert token not in stored and len(stored) == 64  # only the hash is kept


def test_the_link_sets_a_new_password_once_and_ends_every_session(app, engine) -> None:  # type: ignore[no-untyped-def]
    signed_in = Web(app)
    assert signed_in.sign_in("owner@example.com").status_code == 303
    assert signed_in.get("/today").status_code == 200
    _ask(app, "owner@example.com")
    path = _link(engine)
    page = Web(app).get(path)
    assert page.status_code == 200 and "owner@example.com" in page.text
    done = _set(app, path)
    assert done.status_code == 303 and done.headers["location"] == "/login?msg=password_changed"
    assert signed_in.get("/today").status_code == 303  # the old session ended
    assert Web(app).sign_in("owner@example.com", NEW).status_code == 303
    assert Web(app).sign_in("owner@example.com", PASSWORD).status_code == 401
    again = Web(app).get(path)
    assert again.status_code == 410 and "used already" in again.text
    assert _set(app, path, "another fine horse battery").status_code == 400
    assert Web(app).sign_in("owner@example.com", NEW).status_code == 303


def test_a_weak_password_is_refused_and_the_link_still_works(app, engine) -> None:  # type: ignore[no-untyped-def]
    _ask(app, "owner@example.com")
    path = _link(engine)
    refused = _set(app, path, "password123")
    assert refused.status_code == 400 and "password:" in refused.text
    assert _set(app, path).status_code == 303


def test_a_link_expires_after_an_hour(app, engine, clock) -> None:  # type: ignore[no-untyped-def]
    _ask(app, "owner@example.com")
    path = _link(engine)
    clock.now = NOW + dt.timedelta(minutes=61)
    page = Web(app).get(path)
    assert page.status_code == 410 and "expired" in page.text
    assert _set(app, path).status_code == 400
    assert Web(app).sign_in("owner@example.com", PASSWORD).status_code == 303


def test_an_unknown_link_changes_nothing(app) -> None:  # type: ignore[no-untyped-def]
    assert Web(app).get("/reset/not-a-real-token").status_code == 410
    assert _set(app, "/reset/not-a-real-token").status_code == 400


def test_requests_are_throttled_per_address(app, engine, clock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(8):
        assert _ask(app, "owner@example.com").status_code == 303  # the same answer throughout
    assert len(_messages(engine)) == 5  # then nothing more is sent
    clock.now = NOW + dt.timedelta(minutes=16)
    _ask(app, "owner@example.com")
    assert len(_messages(engine)) == 6


def test_requests_are_throttled_per_network_address(app, engine) -> None:  # type: ignore[no-untyped-def]
    for i in range(20):
        _ask(app, f"someone{i}@example.com")
    _ask(app, "owner@example.com")
    assert _messages(engine) == []  # 20 requests from one address: throttled


def test_the_link_arrives_by_a_real_smtp_server_and_works(db_url, engine, clock) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.services.delivery import deliver_due
    from keepwarm.web import create_app
    from smtp_support import running_smtp

    add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    with running_smtp() as (_, port, handler):
        mail = Settings(database_url=db_url, **(MAIL | {"smtp_url": f"smtp://127.0.0.1:{port}"}))
        app = create_app(mail)
        _ask(app, "owner@example.com")
        deliver_due(engine, mail, now_fn=clock)
        [message] = handler.messages
    assert message["To"] == "owner@example.com"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"https://keepwarm\.example\.com(/reset/\S+)", text)
    assert found and _set(app, found.group(1)).status_code == 303
    assert Web(app).sign_in("owner@example.com", NEW).status_code == 303


def test_the_request_log_never_writes_the_links_token(app, engine, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    _ask(app, "owner@example.com")
    path = _link(engine)
    with caplog.at_level(logging.DEBUG):
        assert Web(app).get(path).status_code == 200
        _set(app, path)
    token = path.rsplit("/", 1)[1]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("keepwarm"))
    assert "GET /reset/(token) 200" in ours
    assert token not in ours  # (the test's own HTTP client logs its URLs: not the app's log)
