"""Settings (owner only): staff, users, API tokens, the policy and message templates with a
live preview on a real client, through the real app on both backends."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.messaging.templates import DEFAULTS
from keepwarm.services import users
from keepwarm.services.importing import import_file
from keepwarm.services.policy import get_policy
from keepwarm.services.staff import list_staff
from web_support import Web


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock, the one thing mocked: 24 Nov 2026, 9 in the morning.
    for module in ("auth", "pages", "settings_pages"):
        monkeypatch.setattr(f"keepwarm.web.{module}.clock", lambda: NOW)


GETS = [
    "/settings",
    "/settings/staff",
    "/settings/users",
    "/settings/policy",
    "/settings/templates",
    "/settings/templates/lapsing/letter",
]
POSTS = [
    "/settings/staff",
    "/settings/staff/1",
    "/settings/users",
    "/settings/users/1",
    "/settings/users/1/password",
    "/settings/tokens",
    "/settings/tokens/1/revoke",
    "/settings/policy",
    "/settings/templates/preview",
    "/settings/templates/preview.json",
    "/settings/templates/save",
    "/settings/templates/reset",
]


def _quotas(engine: sa.Engine) -> dict[str, int]:
    return {s.name: s.weekly_quota for s in list_staff(engine)}


def test_staff_get_403_on_every_settings_route_and_strangers_sign_in_first(
    web, web_app, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = web("owner@example.com")
    staff = web("sam@example.com", role="staff", staff="Sam")
    before = (_quotas(engine), get_policy(engine), len(users.list_users(engine)))
    for url in GETS:
        assert owner.get(url).status_code == 200, url
        assert staff.get(url).status_code == 403, url
        assert Web(web_app).get(url).headers["location"].startswith("/login?next=")
    form = {"name": "X", "quota": "9", "email": "x@example.com", "role": "owner"}
    form |= {"password": "another correct horse battery", "code": "lapsing", "form": "letter"}
    form |= {"text": "Hi", "weekly_quota": "9", "active": "on"}
    for url in POSTS:
        answer = staff.post(url, form)
        assert answer.status_code == 403, url
        assert "only the owner" in answer.text
    assert (_quotas(engine), get_policy(engine), len(users.list_users(engine))) == before
    assert 'href="/settings"' in owner.get("/today").text
    assert 'href="/settings"' not in staff.get("/today").text


def test_owner_adds_staff_and_changes_a_quota_and_bad_values_change_nothing(
    web, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    added = owner.post("/settings/staff", {"name": "Ana", "email": "ana@example.com", "quota": "3"})
    assert added.status_code == 303 and added.headers["location"].startswith("/settings/staff")
    (ana,) = list_staff(engine)
    assert (ana.name, ana.email, ana.weekly_quota, ana.active) == (
        "Ana",
        "ana@example.com",
        3,
        True,
    )
    page = owner.get("/settings/staff").text
    assert "Ana" in page and 'value="ana@example.com"' in page

    changed = owner.post(f"/settings/staff/{ana.id}", {"email": "", "quota": "5", "active": "on"})
    assert changed.status_code == 303
    (ana,) = list_staff(engine)
    assert (ana.email, ana.weekly_quota, ana.active) == (None, 5, True)
    owner.post(f"/settings/staff/{ana.id}", {"email": "", "quota": "5"})  # unticked: inactive
    assert list_staff(engine)[0].active is False

    before = list_staff(engine)
    for data, words in [
        ({"email": "", "quota": "-1", "active": "on"}, "cannot be negative"),
        ({"email": "", "quota": "lots", "active": "on"}, "whole number"),
        ({"email": "not an email", "quota": "4", "active": "on"}, "not an email address"),
    ]:
        bad = owner.post(f"/settings/staff/{ana.id}", data)
        assert bad.status_code == 400 and words in bad.text
        assert 'role="alert"' in bad.text
        assert list_staff(engine) == before
    for data, words in [
        ({"name": "Ana", "quota": "2"}, "already a staff member called"),
        ({"name": "Bo", "quota": "-2"}, "cannot be negative"),
        ({"name": "Bo", "email": "bo@", "quota": "2"}, "not an email address"),
    ]:
        bad = owner.post("/settings/staff", data)
        assert bad.status_code == 400 and words in bad.text
        assert list_staff(engine) == before


def test_owner_adds_a_user_who_can_sign_in_and_the_last_owner_stays(
    web, web_app, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = web("boss@example.com")
    owner.post("/settings/staff", {"name": "Cy", "quota": "2"})
    weak = owner.post(
        "/settings/users",
        {"email": "cy@example.com", "role": "staff", "staff": "Cy", "password": "password"},
    )
    assert weak.status_code == 400 and "password" in weak.text
    assert len(users.list_users(engine)) == 1
    new_password = "violet kettle orbit canyon"
    added = owner.post(
        "/settings/users",
        {"email": "cy@example.com", "role": "staff", "staff": "Cy", "password": new_password},
    )
    assert added.status_code == 303
    cy = users.user_by_email(engine, "cy@example.com")
    assert (cy.role.value, cy.staff, cy.active) == ("staff", "Cy", True)
    browser = Web(web_app)
    assert browser.sign_in("cy@example.com", new_password).status_code == 303
    assert browser.get("/settings").status_code == 403

    me = users.user_by_email(engine, "boss@example.com")
    demote = owner.post(
        f"/settings/users/{me.id}", {"role": "staff", "staff": "Cy", "active": "on"}
    )
    assert demote.status_code == 400 and "keep at least one active owner" in demote.text
    assert users.get_user(engine, me.id).is_owner

    # Reset Cy's password: the old one stops working, the new one works.
    reset = owner.post(
        f"/settings/users/{cy.id}/password", {"password": "amber lantern quiet fjord"}
    )
    assert reset.status_code == 303
    assert Web(web_app).sign_in("cy@example.com", new_password).status_code == 401
    assert Web(web_app).sign_in("cy@example.com", "amber lantern quiet fjord").status_code == 303

    # Promote Cy, then the first owner may step down; disabling Cy is then refused.
    owner.post(f"/settings/users/{cy.id}", {"role": "owner", "staff": "Cy", "active": "on"})
    assert users.get_user(engine, cy.id).is_owner
    assert (
        owner.post(
            f"/settings/users/{me.id}", {"role": "staff", "staff": "Cy", "active": "on"}
        ).status_code
        == 303
    )
    assert not users.get_user(engine, me.id).is_owner


def test_an_api_token_is_shown_once_works_and_revoking_stops_it(web, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    made = owner.post("/settings/tokens", {"name": "booking system"})
    assert made.status_code == 303  # redirect after post: a reload creates nothing
    shown = owner.get(made.headers["location"]).text
    token = re.search(r'id="new-token"[^>]*value="(kw_[^"]+)"', shown)
    assert token, shown
    secret = token.group(1)
    me = users.user_by_email(engine, "owner@example.com")
    assert users.user_for_token(engine, secret) == me
    again = owner.get("/settings/users").text
    assert "booking system" in again and secret not in again  # shown that once only
    (listed,) = users.list_tokens(engine, me.id)
    revoked = owner.post(f"/settings/tokens/{listed.id}/revoke")
    assert revoked.status_code == 303 and "token_revoked" in revoked.headers["location"]
    assert users.user_for_token(engine, secret) is None
    assert "revoked" in owner.get("/settings/users").text


def _policy_form(html: str) -> dict[str, str]:
    """The policy form's fields as the page shows them (a browser submitting it unchanged)."""
    form = html[html.find('action="/settings/policy"') :]
    fields = dict(
        re.findall(
            r'<input id="[^"]*" name="([^"]+)" type="(?:text|number)"[^>]*value="([^"]*)"', form
        )
    )
    for name in ("key_purchases", "holiday_names"):
        found = re.search(rf'name="{name}" rows="\d+">([^<]*)</textarea>', form)
        assert found
        fields[name] = found.group(1)
    return fields


def test_a_policy_change_is_saved_and_a_bad_value_is_refused_by_name(
    web, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    fields = _policy_form(owner.get("/settings/policy").text)
    assert fields["weekly_quota"] == "2" and fields["cadence_days_key_0"] == "key"
    fields |= {"weekly_quota": "4", "time_zone": "Europe/London", "cadence_days_value_0": "21"}
    fields |= {
        "cadence_days_key_2": "vip",
        "cadence_days_value_2": "14",
        "recall_days_remove_0": "on",
    }
    fields |= {"occasions_month_0": "3", "occasions_day_0": "1", "occasions_name_0": "Spring"}
    fields |= {"key_purchases": "house purchase\nwedding", "holiday_names": "christmas"}
    saved = owner.post("/settings/policy", fields)
    assert saved.status_code == 303, saved.text
    policy = get_policy(engine)
    assert (policy.weekly_quota, policy.time_zone) == (4, "Europe/London")
    assert dict(policy.cadence_days) == {"key": 21, "prospect": 90, "vip": 14}
    assert dict(policy.recall_days) == {}
    assert [(o.month, o.day, o.name) for o in policy.occasions] == [(3, 1, "Spring")]
    assert policy.key_purchases == ("house purchase", "wedding")
    assert policy.holiday_names == ("christmas",)
    assert 'value="vip"' in owner.get("/settings/policy").text

    fields = _policy_form(owner.get("/settings/policy").text)
    for change, words in [
        ({"weekly_quota": "-3"}, "Weekly quota: must be a whole number"),
        ({"cadence_days_value_1": "soon"}, "Cadences by tag, tag &#34;prospect&#34;:"),
        ({"time_zone": "Mars/Olympus"}, "Time zone:"),
        ({"occasions_month_0": "2", "occasions_day_0": "30"}, "Occasions, row 1"),
        (
            {"follow_ups_thank_you_within_days_0": "x"},
            "Follow-ups, kind of activity &#34;purchase&#34;, thank you within:",
        ),
    ]:
        bad = owner.post("/settings/policy", fields | change)
        assert bad.status_code == 400 and words in bad.text, (change, bad.text)
        assert "Nothing was saved" in bad.text
        assert get_policy(engine) == policy
    # The refused form comes back with what was typed.
    bad = owner.post("/settings/policy", fields | {"weekly_quota": "-3"})
    assert 'value="-3"' in bad.text


def _clients(engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]) -> None:
    csv = "id,name,first_name,phone\nC1,Zoë Quill,Zoë,+15035550123\nC2,Bo Ray,Bo,\n"
    report = import_file(
        engine, settings, ImportKind.CLIENTS, write_csv("c.csv", csv), today=TODAY, now=NOW
    )
    assert report.ok, report.problems


def test_template_preview_uses_the_real_client_by_form_and_by_json(
    web, engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:  # type: ignore[no-untyped-def]
    _clients(engine, settings, write_csv)
    owner = web()
    page = owner.get("/settings/templates/birthday/letter?client=C2")
    assert page.status_code == 200
    assert "Dear Bo," in page.text and "Happy birthday!" in page.text
    assert 'data-preview="preview-out"' in page.text
    unknown = owner.get("/settings/templates/birthday/letter?client=ZZ-404")
    assert unknown.status_code == 200 and "no client with id &#39;ZZ-404&#39;" in unknown.text
    text = "Hello {{ first_name }} ({{ phone }}), from {{ staff }}."
    by_form = owner.post(
        "/settings/templates/preview",
        {"code": "lapsing", "form": "call", "client": "C1", "text": text},
    )
    assert by_form.status_code == 200
    assert "Hello Zoë (+15035550123), from the team." in by_form.text
    as_json = owner.post(
        "/settings/templates/preview.json",
        {"code": "lapsing", "form": "call", "client": "C2", "text": text},
    )
    assert as_json.status_code == 200
    assert as_json.json()["text"] == "Hello Bo (), from the team."
    # Autoescaped, never markup: a client's name cannot inject HTML into the page.
    tagged = owner.post(
        "/settings/templates/preview",
        {"code": "lapsing", "form": "call", "client": "C1", "text": "<b>{{ name }}</b>"},
    )
    assert "&lt;b&gt;Zoë Quill&lt;/b&gt;" in tagged.text and "<b>Zoë" not in tagged.text
    broken = owner.post(
        "/settings/templates/preview.json",
        {"code": "lapsing", "form": "call", "client": "C2", "text": "{{ nope }}"},
    )
    assert "nope" in broken.json()["text"] and broken.json()["error"]
    no_csrf = owner.client.post(
        "/settings/templates/preview.json",
        data={"code": "lapsing", "form": "call", "client": "C2", "text": text},
    )
    assert no_csrf.status_code == 403


def test_saving_a_template_a_broken_one_is_refused_and_reset_returns_the_default(
    web, engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:  # type: ignore[no-untyped-def]
    _clients(engine, settings, write_csv)
    owner = web()
    mine = "Dear {{ first_name }}, we miss you!"
    saved = owner.post(
        "/settings/templates/save",
        {"code": "lapsing", "form": "letter", "client": "C1", "text": mine},
    )
    assert saved.status_code == 303
    assert dict(get_policy(engine).templates["lapsing"]) == {"letter": mine}
    page = owner.get(saved.headers["location"]).text
    assert "Dear Zoë, we miss you!" in page and "your own version" in page
    assert "your own" in owner.get("/settings/templates").text

    for broken in ("{{ first_name ", "{{ no_such_variable }}", "   "):
        bad = owner.post(
            "/settings/templates/save",
            {"code": "lapsing", "form": "letter", "client": "C1", "text": broken},
        )
        assert bad.status_code == 400 and "templates.lapsing" in bad.text
        assert "Nothing was saved" in bad.text
        assert dict(get_policy(engine).templates["lapsing"]) == {"letter": mine}
    unknown = owner.post(
        "/settings/templates/save", {"code": "nope", "form": "letter", "text": "x"}
    )
    assert unknown.status_code == 404

    reset = owner.post(
        "/settings/templates/reset", {"code": "lapsing", "form": "letter", "client": "C1"}
    )
    assert reset.status_code == 303
    assert dict(get_policy(engine).templates) == {}
    page = owner.get("/settings/templates/lapsing/letter?client=C1").text
    assert "the default" in page and "we miss you!" not in page
    assert "Dear Zoë,\n\nWe have not seen you for" in html.unescape(page)
    textarea = re.search(r'<textarea id="text"[^>]*>([^<]*)</textarea>', page)
    assert textarea and html.unescape(textarea.group(1)) == DEFAULTS["lapsing.letter"]
