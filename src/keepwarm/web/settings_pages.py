"""Settings (the owner only): staff, users and API tokens, the policy, and draft templates
with a live preview on a real client."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.model import Role
from keepwarm.domain.quotas import allowance
from keepwarm.messaging.templates import DEFAULTS
from keepwarm.services import users
from keepwarm.services.daily_job import local_today
from keepwarm.services.policy import get_policy, set_template, update_policy
from keepwarm.services.staff import add_staff, list_staff, update_staff
from keepwarm.services.templates_preview import (
    client_name,
    preview,
    preview_clients,
    template_slots,
)
from keepwarm.web.auth import CheckedForm, Form, Owner, clock, engine_of
from keepwarm.web.render import render

router = APIRouter(prefix="/settings", include_in_schema=False)

SECTIONS = (
    ("/settings/staff", "Staff", "Who is on the team, their weekly quota of personal touches."),
    ("/settings/users", "Users and API tokens", "Who signs in, their role, passwords, tokens."),
    ("/settings/policy", "Policy", "Time zone, quotas, cadences, recalls, follow-ups, occasions."),
    ("/settings/templates", "Message templates", "The drafts' wording, previewed on a client."),
)


def _redirect(url: str, msg: str = "saved", **query: str) -> Response:
    params = urlencode({**{k: v for k, v in query.items() if v}, "msg": msg})
    return RedirectResponse(f"{url}?{params}", status_code=303)


@router.get("")
def overview(request: Request, session: Owner) -> Response:
    return render(request, "settings.html", {"sections": SECTIONS})


# --- staff ------------------------------------------------------------------------------------


def _quota(text: str, what: str = "weekly quota") -> int | None:
    """A member's own number, or None (empty) to follow the practice default."""
    if not text:
        return None
    if not re.fullmatch(r"-?\d{1,6}", text):
        raise InvalidInput(f"{what}: enter a whole number, 0 or more, or leave it empty")
    value = int(text)
    if value < 0:
        raise InvalidInput(f"{what}: it cannot be negative")
    return value


def _staff_page(request: Request, error: str = "", status: int = 200, **extra: Any) -> Response:
    engine = engine_of(request)
    staff, policy = list_staff(engine), get_policy(engine)
    context = {
        "staff": staff,
        "error": error,
        "policy": policy,
        "allowances": {m.id: allowance(m, policy) for m in staff},
        "new": {"name": "", "email": "", "quota": "", "capacity": ""},
        **extra,
    }
    return render(request, "settings_staff.html", context, status_code=status)


@router.get("/staff")
def staff_page(request: Request, session: Owner) -> Response:
    return _staff_page(request)


@router.post("/staff")
def staff_add(request: Request, session: Owner, form: CheckedForm) -> Response:
    new = {
        "name": form.text("name"),
        "email": form.text("email"),
        "quota": form.text("quota"),
        "capacity": form.text("capacity"),
    }
    try:
        add_staff(
            engine_of(request),
            new["name"],
            email=new["email"] or None,
            weekly_quota=_quota(new["quota"]),
            daily_capacity=_quota(new["capacity"], "daily capacity"),
            now=clock(),
        )
    except InvalidInput as exc:
        return _staff_page(request, str(exc), 400, new=new)
    return _redirect("/settings/staff")


@router.post("/staff/{staff_id}")
def staff_edit(request: Request, staff_id: int, session: Owner, form: CheckedForm) -> Response:
    try:
        update_staff(
            engine_of(request),
            staff_id,
            email=form.text("email") or None,
            weekly_quota=_quota(form.text("quota")),
            daily_capacity=_quota(form.text("capacity"), "daily capacity"),
            active=form.text("active") == "on",
            now=clock(),
        )
    except InvalidInput as exc:
        return _staff_page(request, str(exc), 400, failed=staff_id)
    return _redirect("/settings/staff")


# --- users and tokens -------------------------------------------------------------------------


def _users_page(request: Request, error: str = "", status: int = 200, **extra: Any) -> Response:
    engine = engine_of(request)
    session = extra.pop("session")
    context = {
        "users": users.list_users(engine),
        "staff_names": [s.name for s in list_staff(engine)],
        "roles": [r.value for r in Role],
        "tokens": users.list_tokens(engine, session.user.id),
        "error": error,
        "new_token": "",
        "new": {"email": "", "role": "staff", "staff": ""},
        **extra,
    }
    return render(request, "settings_users.html", context, status_code=status)


@router.get("/users")
def users_page(request: Request, session: Owner) -> Response:
    return _users_page(request, session=session)


@router.post("/users")
def user_add(request: Request, session: Owner, form: CheckedForm) -> Response:
    new = {"email": form.text("email"), "role": form.text("role"), "staff": form.text("staff")}
    try:
        users.add_user(
            engine_of(request),
            new["email"],
            form.text("password"),
            new["role"],
            staff_name=new["staff"] or None,
            now=clock(),
        )
    except (InvalidInput, NotFound) as exc:
        return _users_page(request, str(exc), 400, session=session, new=new)
    return _redirect("/settings/users")


@router.post("/users/{user_id}")
def user_edit(request: Request, user_id: int, session: Owner, form: CheckedForm) -> Response:
    try:
        users.update_user(
            engine_of(request),
            user_id,
            role=form.text("role"),
            staff_name=form.text("staff"),
            active=form.text("active") == "on",
        )
    except (InvalidInput, NotFound) as exc:
        return _users_page(request, str(exc), 400, session=session)
    return _redirect("/settings/users")


@router.post("/users/{user_id}/password")
def user_password(request: Request, user_id: int, session: Owner, form: CheckedForm) -> Response:
    try:
        users.set_password(engine_of(request), user_id, form.text("password"), now=clock())
    except (InvalidInput, NotFound) as exc:
        return _users_page(request, str(exc), 400, session=session)
    if user_id == session.user.id:  # their own sessions ended with the reset
        return RedirectResponse("/login?msg=password_changed", status_code=303)
    return _redirect("/settings/users")


@router.post("/tokens")
def token_create(request: Request, session: Owner, form: CheckedForm) -> Response:
    token = users.create_token(engine_of(request), session.user.id, form.text("name"), now=clock())
    return _users_page(request, session=session, new_token=token)  # shown this once


@router.post("/tokens/{token_id}/revoke")
def token_revoke(request: Request, token_id: int, session: Owner, form: CheckedForm) -> Response:
    users.revoke_token(engine_of(request), session.user.id, token_id, now=clock())
    return _redirect("/settings/users", "token_revoked")


# --- policy -----------------------------------------------------------------------------------

TEXT_FIELDS = (
    ("time_zone", "Time zone", "e.g. Europe/London or America/New_York"),
    ("country", "Country", "two letters, for public holidays; empty for none"),
    ("currency_symbol", "Currency symbol", ""),
)
NUMBER_FIELDS = (
    ("weekly_quota", "Weekly quota", "personal touches per staff member per week"),
    ("daily_capacity", "Daily capacity", "actions per staff member per day"),
    ("recent_contact_days", "Recently contacted (days)", "not listed again within, unless urgent"),
    ("default_cadence_days", "Default cadence (days)", "longest silence for untagged clients"),
    ("due_lead_days", "Due: days ahead", "how early a due visit comes up"),
    ("birthday_lead_days", "Birthday: days ahead", ""),
    ("anniversary_lead_days", "Anniversary: days ahead", ""),
    ("holiday_lead_days", "Holiday: days ahead", ""),
    ("welcome_days", "Welcome within (days)", "of a new client's first visit"),
    ("feedback_after_days", "Ask for feedback after (days)", ""),
    ("feedback_window_days", "Feedback window (days)", ""),
    ("feedback_period_days", "Ask for feedback at most every (days)", ""),
    ("lapsing_min_activities", "Gone quiet: at least this many visits", ""),
    ("notice_days", "Notice period (days)", "after a cancellation"),
    ("trend_min_change", "Usage change worth a signal", "a fraction: 0.25 is 25%"),
)
ROWS = {  # group: (policy key, fields of a row)
    "cadence": ("cadence_days", ("tag", "days")),
    "recall": ("recall_days", ("kind", "days")),
    "follow": ("follow_ups", ("kind", "thank", "after", "window")),
    "occasion": ("occasions", ("month", "day", "name")),
}
BLANK_ROWS = 2
MAX_ROWS = 500


def _policy_view(data: dict[str, Any]) -> dict[str, Any]:
    """The form's values (text) from a policy document."""
    follow = data["follow_ups"]
    return {
        "fields": {k: str(data[k]) for k, _, _ in (*TEXT_FIELDS, *NUMBER_FIELDS)},
        "cadence": [(k, str(v)) for k, v in data["cadence_days"].items()],
        "recall": [(k, str(v)) for k, v in data["recall_days"].items()],
        "follow": [
            (
                k,
                str(r["thank_you_within_days"]),
                str(r["check_in_after_days"]),
                str(r["check_in_window_days"]),
            )
            for k, r in follow.items()
        ],
        "occasion": [(str(o["month"]), str(o["day"]), o["name"]) for o in data["occasions"]],
        "key_purchases": "\n".join(data["key_purchases"]),
        "holiday_names": "\n".join(data["holiday_names"]),
    }


def _form_view(form: Form) -> dict[str, Any]:
    """The form's values as submitted (text; removed and empty rows left out)."""
    view: dict[str, Any] = {
        "fields": {k: form.text(k) for k, _, _ in (*TEXT_FIELDS, *NUMBER_FIELDS)},
        "key_purchases": form.text("key_purchases"),
        "holiday_names": form.text("holiday_names"),
    }
    for group, (_, names) in ROWS.items():
        rows = []
        for i in range(MAX_ROWS):
            if form.raw(f"{group}_{names[0]}_{i}") is None:
                break
            row = tuple(form.text(f"{group}_{n}_{i}") for n in names)
            if form.text(f"{group}_remove_{i}") != "on" and any(row):
                rows.append(row)
        view[group] = rows
    return view


def _number(text: str) -> int | float | str:
    """A number when the text is one; else the text, for the policy to refuse by key."""
    if re.fullmatch(r"-?\d{1,9}", text):
        return int(text)
    if re.fullmatch(r"-?\d{0,9}\.\d{1,9}", text):
        return float(text)
    return text


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _keyed(key: str, rows: list[tuple[str, ...]], what: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for row in rows:
        name, *rest = row
        if not name:
            raise InvalidInput(f"policy: {key}: a row has no {what}")
        if name in out:
            raise InvalidInput(f"policy: {key}.{name} appears twice")
        out[name] = tuple(rest)
    return out


def _policy_changes(view: dict[str, Any]) -> dict[str, Any]:
    """The policy settings the form edits, as a document for `update_policy`."""
    fields = view["fields"]
    changes: dict[str, Any] = {k: fields[k] for k, _, _ in TEXT_FIELDS}
    changes.update({k: _number(fields[k]) for k, _, _ in NUMBER_FIELDS})
    cadence = _keyed("cadence_days", view["cadence"], "tag")
    changes["cadence_days"] = {k: _number(v[0]) for k, v in cadence.items()}
    recall = _keyed("recall_days", view["recall"], "kind of activity")
    changes["recall_days"] = {k: _number(v[0]) for k, v in recall.items()}
    follow = _keyed("follow_ups", view["follow"], "kind of activity")
    changes["follow_ups"] = {
        k: {
            "thank_you_within_days": _number(t),
            "check_in_after_days": _number(a),
            "check_in_window_days": _number(w),
        }
        for k, (t, a, w) in follow.items()
    }
    changes["occasions"] = [
        {"month": _number(m), "day": _number(d), "name": n} for m, d, n in view["occasion"]
    ]
    changes["key_purchases"] = _lines(view["key_purchases"])
    changes["holiday_names"] = _lines(view["holiday_names"])
    return changes


def _policy_page(
    request: Request, view: dict[str, Any], error: str = "", status: int = 200
) -> Response:
    context = {
        "view": view,
        "error": error,
        "text_fields": TEXT_FIELDS,
        "number_fields": NUMBER_FIELDS,
        "blank": range(BLANK_ROWS),
    }
    return render(request, "settings_policy.html", context, status_code=status)


@router.get("/policy")
def policy_page(request: Request, session: Owner) -> Response:
    return _policy_page(request, _policy_view(get_policy(engine_of(request)).to_dict()))


@router.post("/policy")
def policy_save(request: Request, session: Owner, form: CheckedForm) -> Response:
    view = _form_view(form)
    try:
        update_policy(engine_of(request), _policy_changes(view), now=clock())
    except InvalidInput as exc:
        return _policy_page(request, view, str(exc), 400)
    return _redirect("/settings/policy")


# --- message templates ------------------------------------------------------------------------

FORMS = {"letter": "Letter, card, email or text", "call": "Call or visit: talking points"}


def _slot(code: str, form: str) -> tuple[str, str]:
    if f"{code}.{form}" not in DEFAULTS:
        raise NotFound(f"no template {code}.{form}")
    return code, form


def _editor(
    request: Request,
    session: Any,
    code: str,
    form: str,
    *,
    client: str = "",
    text: str | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    engine = engine_of(request)
    policy = get_policy(engine)
    slot = next(s for s in template_slots(policy.templates) if (s.code, s.form) == (code, form))
    clients = preview_clients(engine)
    client = client or (clients[0].id if clients else "")
    source = slot.text if text is None else text
    shown, preview_error = "", ""
    if client:
        shown, preview_error = _preview(request, session, source, code, client)
    context = {
        "slot": slot,
        "form_label": FORMS[form],
        "source": source,
        "clients": clients,
        "client": client,
        "client_listed": any(c.id == client for c in clients),
        "client_label": _client_label(engine, client, clients),
        "preview": shown,
        "preview_error": preview_error,
        "error": error,
    }
    return render(request, "settings_template.html", context, status_code=status)


def _client_label(engine: Any, client: str, listed: list[Any]) -> str:
    """How the chosen client shows in the select when not among the first listed."""
    if not client or any(c.id == client for c in listed):
        return ""
    name = client_name(engine, client)
    return f"{name} ({client})" if name else f"{client} (no such client)"


def _preview(
    request: Request, session: Any, source: str, code: str, client: str
) -> tuple[str, str]:
    """(the preview, "") or ("", why it cannot be shown)."""
    engine = engine_of(request)
    today = local_today(get_policy(engine), clock())
    try:
        return preview(engine, source, code, client, today=today, staff=session.user.staff), ""
    except (InvalidInput, NotFound) as exc:
        return "", str(exc)


@router.get("/templates")
def templates_page(request: Request, session: Owner) -> Response:
    slots = template_slots(get_policy(engine_of(request)).templates)
    return render(request, "settings_templates.html", {"slots": slots, "forms": FORMS})


@router.get("/templates/{code}/{form}")
def template_page(
    request: Request, code: str, form: str, session: Owner, client: str = ""
) -> Response:
    code, form = _slot(code, form)
    return _editor(request, session, code, form, client=client.strip())


def _submitted(form: CheckedForm) -> tuple[str, str, str, str]:
    code, kind = _slot(form.text("code"), form.text("form"))
    raw = form.raw("text")
    return code, kind, raw if isinstance(raw, str) else "", form.text("client")


@router.post("/templates/preview")
def template_preview(request: Request, session: Owner, form: CheckedForm) -> Response:
    code, kind, text, client = _submitted(form)
    return _editor(request, session, code, kind, client=client, text=text)


@router.post("/templates/preview.json")
def template_preview_json(request: Request, session: Owner, form: CheckedForm) -> Response:
    code, _, text, client = _submitted(form)
    if not client:
        return JSONResponse({"text": "", "error": "choose a client to preview on"})
    shown, error = _preview(request, session, text, code, client)
    return JSONResponse({"text": shown or error, "error": error})


@router.post("/templates/save")
def template_save(request: Request, session: Owner, form: CheckedForm) -> Response:
    code, kind, text, client = _submitted(form)
    try:
        set_template(engine_of(request), code, kind, text, now=clock())
    except InvalidInput as exc:
        return _editor(
            request, session, code, kind, client=client, text=text, error=str(exc), status=400
        )
    return _redirect(f"/settings/templates/{code}/{kind}", client=client)


@router.post("/templates/reset")
def template_reset(request: Request, session: Owner, form: CheckedForm) -> Response:
    code, kind, _, client = _submitted(form)
    set_template(engine_of(request), code, kind, None, now=clock())
    return _redirect(f"/settings/templates/{code}/{kind}", client=client)
