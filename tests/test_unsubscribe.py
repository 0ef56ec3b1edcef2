"""The unsubscribe link: GET shows a confirmation and changes nothing, POST (the client's
button or a mail provider's RFC 8058 one-click POST, without cookies or a CSRF token)
unsubscribes once, and from then on nothing more is sent. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.services import outbox as svc
from keepwarm.services.consent import refusal, states
from keepwarm.services.delivery import deliver_due
from keepwarm.services.todays_list import todays_list
from keepwarm.store import outbox as q
from keepwarm.store import writing
from keepwarm.web import auth
from smtp_support import FaultyHandler, running_smtp
from test_web_today import _practice

FROM = "Northside Physio <hello@northside.example>"
BASE = "https://keepwarm.example.com"
TABLES = ("consent_events", "outbox", "clients", "actions", "touches", "action_events")


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[str, int, FaultyHandler]]:
    with running_smtp(FaultyHandler()) as server:
        yield server


@pytest.fixture
def mail(settings: Settings, smtp: tuple[str, int, FaultyHandler]) -> Settings:
    host, port, handler = smtp
    handler.messages.clear()
    return settings.replace(smtp_url=f"smtp://{host}:{port}", mail_from=FROM, base_url=BASE)


@pytest.fixture
def site(engine: sa.Engine, mail: Settings, tmp_path: Path) -> Any:
    """The web app of a small practice with emails set up (nobody signed in)."""
    from keepwarm.web import create_app

    _practice(engine, mail, tmp_path)
    return create_app(mail)


def _queue(engine: sa.Engine, mail: Settings, staff: str = "Dana", n: int = 0) -> Any:
    action_id = [a.id for a in todays_list(engine, staff, day=TODAY)][n]
    written = svc.Written(subject="A note", body="Dear client")
    outbox_id = svc.queue_action(
        engine, mail, action_id, "email", written=written, by=None, day=TODAY, now=NOW
    )
    with engine.connect() as conn:
        return q.get(conn, outbox_id)


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple[str, ...]]]:
    with engine.connect() as conn:
        return {
            t: sorted(tuple(map(str, r)) for r in conn.exec_driver_sql(f"SELECT * FROM {t}"))
            for t in TABLES
        }


def _events(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT * FROM consent_events ORDER BY id")))


def _anonymous(site: Any) -> TestClient:
    return TestClient(site, follow_redirects=False)


def test_the_link_shows_a_confirmation_and_changes_nothing(site, engine, mail) -> None:  # type: ignore[no-untyped-def]
    row = _queue(engine, mail)
    before = _snapshot(engine)
    page = _anonymous(site).get(f"/unsubscribe/{row.token}")
    assert page.status_code == 200
    assert "Northside Physio" in page.text and "c***@example.com" in page.text
    assert "c0@example.com" not in page.text  # the address is masked
    assert (
        f'action="/unsubscribe/{row.token}"' in page.text and ">Unsubscribe</button>" in page.text
    )
    assert _snapshot(engine) == before


def test_the_button_unsubscribes_once_with_who_and_where(site, engine, mail) -> None:  # type: ignore[no-untyped-def]
    row = _queue(engine, mail)
    answer = _anonymous(site).post(f"/unsubscribe/{row.token}")
    assert answer.status_code == 200
    assert "You will not get emails from us any more" in answer.text
    events = _events(engine)
    assert len(events) == 1
    event = events[0]
    assert (event.channel, bool(event.allowed), event.source, event.address, event.actor) == (
        "email",
        False,
        "unsubscribe",
        "c0@example.com",
        "the client (unsubscribe link)",
    )
    again = _anonymous(site).post(f"/unsubscribe/{row.token}")
    assert again.status_code == 200 and len(_events(engine)) == 1  # idempotent
    assert "unsubscribed already" in _anonymous(site).get(f"/unsubscribe/{row.token}").text


def test_a_providers_one_click_post_works_without_cookies_or_csrf(site, engine, mail) -> None:  # type: ignore[no-untyped-def]
    row = _queue(engine, mail)
    client = _anonymous(site)
    answer = client.post(
        f"/unsubscribe/{row.token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200 and not client.cookies
    with engine.connect() as conn:
        assert "unsubscribed on" in (refusal(conn, row.client_id, "email") or "")


def test_after_unsubscribing_a_queued_message_to_the_client_is_not_sent(
    site, engine, mail, smtp
) -> None:  # type: ignore[no-untyped-def]
    first = _queue(engine, mail)
    second = _queue(engine, mail, staff="Sam")  # another message, to another client
    with engine.begin() as conn:  # make the second one to the same client, still queued
        conn.execute(
            sa.text("UPDATE outbox SET client_id = :c, to_address = :a WHERE id = :i"),
            {"c": first.client_id, "a": first.to_address, "i": second.id},
        )
    assert _anonymous(site).post(f"/unsubscribe/{first.token}").status_code == 200
    report = deliver_due(engine, mail, now_fn=lambda: NOW + dt.timedelta(minutes=1))
    assert report.sent == 0 and report.failed == 2
    assert smtp[2].messages == []
    with engine.connect() as conn:
        row = q.get(conn, second.id)
    assert row.state == "failed" and "unsubscribed on" in row.last_error


def test_the_clients_page_shows_the_unsubscribe(site, engine, mail) -> None:  # type: ignore[no-untyped-def]
    row = _queue(engine, mail)
    _anonymous(site).post(f"/unsubscribe/{row.token}")
    email = next(s for s in states(engine, row.client_id) if s.channel == "email")
    assert not email.allowed and email.why and email.why.startswith("unsubscribed on")


def test_an_unknown_token_is_a_plain_404(site, engine, mail) -> None:  # type: ignore[no-untyped-def]
    _queue(engine, mail)
    client = _anonymous(site)
    before = _snapshot(engine)
    for answer in (client.get("/unsubscribe/nope"), client.post("/unsubscribe/nope")):
        assert answer.status_code == 404 and "not known" in answer.text
    assert _snapshot(engine) == before


def _dependencies(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependencies(sub)


def test_csrf_is_exempted_for_the_unsubscribe_post_only(site) -> None:  # type: ignore[no-untyped-def]
    """Every other form POST of the pages checks its CSRF token (the API takes tokens)."""
    from fastapi.routing import APIRoute

    from keepwarm.web import campaigns, imports

    # the upload form checks its token after a size guard (imports._upload_form); the
    # campaign forms after the owner check (campaigns._owners_form: staff get 403 first)
    checkers = {
        auth.checked_form,
        auth.checked_anonymous_form,
        imports._upload_form,
        campaigns._owners_form,
    }
    try:
        from fastapi.routing import iter_route_contexts

        routes = [c.original_route for c in iter_route_contexts(site.routes)]
    except ImportError:  # pragma: no cover - older FastAPI copies the routes in
        routes = list(site.routes)
    unchecked = sorted(
        r.path
        for r in routes
        if isinstance(r, APIRoute)
        and "POST" in r.methods
        and not r.path.startswith("/api/")
        and not checkers & set(_dependencies(r.dependant))
    )
    assert unchecked == ["/unsubscribe/{token}"]


def test_a_signed_in_form_without_its_csrf_token_is_still_refused(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    before = _snapshot(engine)
    answer = owner.client.post("/reminders", data={"client": "C0", "date": "2026-12-01"})
    assert answer.status_code == 403 and "expired" in answer.text
    answer = owner.client.post("/campaigns/new", data={"name": "No token", "from": "win-back"})
    assert answer.status_code == 403 and "expired" in answer.text
    assert _snapshot(engine) == before


def test_the_links_token_is_never_logged(site, engine, mail, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.DEBUG)
    row = _queue(engine, mail)
    client = _anonymous(site)
    client.get(f"/unsubscribe/{row.token}")
    client.post(f"/unsubscribe/{row.token}")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("keepwarm"))
    assert "/unsubscribe/(token)" in ours  # (the test client's own log has the URL)
    assert row.token not in ours and "c0@example.com" not in ours


# --- in a real browser ----------------------------------------------------------------------------


def test_in_a_browser_the_client_unsubscribes_and_staff_see_it_and_record_texts(
    tmp_path_factory,
) -> None:  # type: ignore[no-untyped-def]
    """Headless Chromium on the demo practice: the link's page, its button (no script, no
    CSP violation), then the client's page for the owner and its consent form."""
    from browser_support import OWNER, Watch, chromium, demo_site, sign_in
    from keepwarm.store.tables import clients

    with chromium() as browser, demo_site(tmp_path_factory) as site:
        with site.engine.begin() as conn:
            client = conn.execute(
                sa.select(clients.c.id, clients.c.external_id, clients.c.email)
                .where(clients.c.email.is_not(None))
                .order_by(clients.c.id)
                .limit(1)
            ).one()
        with writing(site.engine) as conn:
            q.insert_message(
                conn,
                key="browser",
                kind="action",
                channel="email",
                client_id=client.id,
                to_address=client.email,
                body="Hello",
                message_id="<browser@example.com>",
                token="browser-token-123",
                created_by="test",
                created_at=NOW,
                updated_at=NOW,
            )
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.set_default_timeout(10_000)
        watch = Watch(site.url)
        watch.attach(page)
        page.goto(site.url + "/unsubscribe/browser-token-123")
        assert client.email not in page.content()
        page.get_by_role("button", name="Unsubscribe").click()
        page.get_by_text("You will not get emails from us any more").wait_for()
        sign_in(page, site.url, OWNER)
        page.goto(site.url + f"/clients/{client.external_id}")
        block = page.locator("section.consent")
        assert "not allowed: unsubscribed on" in block.inner_text()
        block.get_by_label("The client").select_option("sms:allow")
        block.get_by_role("button", name="Record").click()
        page.get_by_text("Contact preference recorded.").wait_for()
        watch.assert_clean()
        context.close()
        with site.engine.connect() as conn:
            events = conn.execute(sa.text("SELECT channel, source FROM consent_events")).all()
        assert sorted(tuple(e) for e in events) == [("email", "unsubscribe"), ("sms", "request")]
