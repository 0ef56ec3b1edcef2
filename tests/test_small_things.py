"""Small things found by using keepwarm as a newcomer (issue 12): the token form redirects
after its POST, the "not for you" page says it once as an error, the favicon is served, a staff
user is always linked to a member of staff, and the policy form names every bad field by its
label. Real app, both backends; the clock is the only thing mocked."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from conftest import NOW
from keepwarm.services import users
from keepwarm.services.policy import get_policy
from keepwarm.services.staff import add_staff
from keepwarm.store.tables import users as users_table
from web_support import PASSWORD, Web


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("auth", "pages", "settings_pages"):
        monkeypatch.setattr(f"keepwarm.web.{module}.clock", lambda: NOW)


def _tokens(engine: sa.Engine, email: str) -> list[users.ApiToken]:
    return users.list_tokens(engine, users.user_by_email(engine, email).id)


# --- the token form: redirect after post ------------------------------------------------------


def test_a_new_token_is_shown_once_after_a_redirect_and_a_reload_makes_no_second(
    web, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    made = owner.post("/settings/tokens", {"name": "booking system"})
    assert made.status_code == 303
    target = made.headers["location"]
    assert target.startswith("/settings/users") and "kw_" not in target
    shown = owner.get(target)
    found = re.search(r'id="new-token"[^>]*value="(kw_[^"]+)"', shown.text)
    assert found, shown.text
    secret = found.group(1)
    assert users.user_for_token(engine, secret) == users.user_by_email(engine, "owner@example.com")
    reloaded = owner.get(target)  # what a browser's reload does after a redirect: a GET
    assert reloaded.status_code == 200
    assert secret not in reloaded.text and 'id="new-token"' not in reloaded.text
    assert "shown once" in reloaded.text
    assert len(_tokens(engine, "owner@example.com")) == 1


def test_a_new_token_is_shown_only_to_the_session_that_made_it(web, web_app, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    made = owner.post("/settings/tokens", {"name": "sync"})
    other = Web(web_app)
    assert other.sign_in("owner@example.com").status_code == 303
    assert 'id="new-token"' not in other.get(made.headers["location"]).text
    assert 'id="new-token"' in owner.get(made.headers["location"]).text


# --- the "not for you" page ---------------------------------------------------------------------


def test_not_for_you_says_its_message_once_as_an_error(web) -> None:  # type: ignore[no-untyped-def]
    staff = web("sam@example.com", role="staff", staff="Sam")
    page = staff.get("/settings/users")
    assert page.status_code == 403
    reason = "only the owner can open settings"
    assert page.text.count(reason) == 1, page.text
    assert re.search(rf'<p class="error" role="alert">{reason}</p>', page.text)
    assert 'class="flash"' not in page.text


# --- the favicon --------------------------------------------------------------------------------


def test_the_favicon_is_served_and_linked(web_app) -> None:  # type: ignore[no-untyped-def]
    answer = Web(web_app).get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("image/svg+xml")
    assert answer.text.lstrip().startswith("<svg")
    page = Web(web_app).get("/setup").text
    assert '<link rel="icon" href="/static/favicon.svg"' in page
    assert Web(web_app).get("/static/favicon.svg").status_code == 200


# --- a staff user is linked to a member of staff ----------------------------------------------


def test_a_staff_user_needs_a_member_of_staff_on_the_form(web, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    add_staff(engine, "Cy", email=None, weekly_quota=2, now=NOW)
    form = {"email": "cy@example.com", "role": "staff", "password": "violet kettle orbit canyon"}
    refused = owner.post("/settings/users", form | {"staff": ""})
    assert refused.status_code == 400
    found = re.search(r'id="new-staff-error" role="alert">(staff member: [^<]*)<', refused.text)
    assert found and "a user with the staff role needs the member of staff" in found.group(1)
    assert refused.text.count(found.group(1)) == 1  # once, next to its field
    assert 'aria-invalid="true" aria-describedby="new-staff-error"' in refused.text
    assert [u.email for u in users.list_users(engine)] == ["owner@example.com"]
    assert owner.post("/settings/users", form | {"staff": "Cy"}).status_code == 303
    cy = users.user_by_email(engine, "cy@example.com")
    assert cy.staff == "Cy"
    # Editing: taking the member of staff away from a staff user is refused too.
    unlink = owner.post(f"/settings/users/{cy.id}", {"role": "staff", "staff": "", "active": "on"})
    assert unlink.status_code == 400 and "staff member:" in unlink.text
    assert users.get_user(engine, cy.id).staff == "Cy"
    # An owner needs no member of staff.
    owner_form = form | {"email": "co@example.com", "role": "owner", "staff": ""}
    assert owner.post("/settings/users", owner_form).status_code == 303


def test_the_cli_refuses_a_staff_user_without_staff(cli, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    refused = cli("user", "add", "d@example.com", "--role", "staff", input=PASSWORD + "\n" * 2)
    assert refused.exit_code == 1 and "--staff" in refused.output
    assert "Password" not in refused.output  # refused before asking for it
    assert users.list_users(engine) == []
    add_staff(engine, "Dana", email=None, weekly_quota=2, now=NOW)
    added = cli(
        "user",
        "add",
        "d@example.com",
        "--role",
        "staff",
        "--staff",
        "Dana",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert users.user_by_email(engine, "d@example.com").staff == "Dana"


def test_an_unlinked_staff_user_is_told_to_ask_the_owner_not_well_done(
    web, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    staff = web("sam@example.com", role="staff", staff="Sam")
    assert "not linked to a member of staff" not in staff.get("/today").text
    assert "no staff member: choose one" not in owner.get("/settings/users").text
    with engine.begin() as conn:  # as an old database may hold it
        conn.execute(
            sa.update(users_table).values(staff_id=None).where(users_table.c.role == "staff")
        )
    page = staff.get("/today")
    assert page.status_code == 200
    assert "Your account is not linked to a member of staff — ask the owner" in page.text
    assert "Well done" not in page.text
    sam = users.user_by_email(engine, "sam@example.com")
    token = users.create_token(engine, sam.id, "t", now=NOW)
    answer = staff.client.get("/api/v1/today", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403
    assert "not linked to a member of staff — ask the owner" in answer.json()["detail"]
    assert "no staff member: choose one" in owner.get("/settings/users").text  # for the owner


# --- the policy form: every bad field, by its label --------------------------------------------


def _policy_form(html: str) -> dict[str, str]:
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


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'<span class="field-error" id="err-{name}">([^<]*)</span>', html)
    assert found, f"no error next to {name}"
    return found.group(1)


def test_the_policy_form_reports_every_bad_field_by_its_label(web, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    before = get_policy(engine)
    fields = _policy_form(owner.get("/settings/policy").text)
    bad = owner.post(
        "/settings/policy",
        fields
        | {"weekly_quota": "-3", "time_zone": "Mars/Olympus", "cadence_days_value_1": "soon"},
    )
    assert bad.status_code == 400
    assert _field_error(bad.text, "weekly_quota").startswith("Weekly quota: must be a whole")
    assert _field_error(bad.text, "time_zone").startswith("Time zone: &#39;Mars/Olympus&#39;")
    assert _field_error(bad.text, "cadence_days").startswith(
        "Cadences by tag, tag &#34;prospect&#34;: must be a whole"
    )
    assert "3 settings need fixing below" in bad.text and "Nothing was saved" in bad.text
    assert "weekly_quota must" not in bad.text and "policy: " not in bad.text
    assert bad.text.count('aria-invalid="true"') >= 2
    assert get_policy(engine) == before


def test_a_table_row_without_its_name_is_reported_with_the_other_bad_fields(
    web, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    before = get_policy(engine)
    fields = _policy_form(owner.get("/settings/policy").text)
    bad = owner.post(
        "/settings/policy", fields | {"cadence_days_key_0": "", "weekly_quota": "many"}
    )
    assert bad.status_code == 400
    assert "a row has no tag" in _field_error(bad.text, "cadence_days")
    assert _field_error(bad.text, "weekly_quota").startswith("Weekly quota:")
    assert get_policy(engine) == before
