"""Settings (the owner only): staff, users and API tokens, the policy, and draft templates
with a live preview on a real client."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.model import Role
from keepwarm.domain.policy import Policy, PolicyError
from keepwarm.domain.policy_keys import PolicyKey, sections
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
    ("/audit", "Audit log", "Who did what and when: sign-ins, imports, edits, sends, backups."),
    ("/duplicates", "Duplicates", "Clients likely to be one person: merge them, or undo a merge."),
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
        "staff_error": "",
        **extra,
    }
    return render(request, "settings_users.html", context, status_code=status)


@router.get("/users")
def users_page(request: Request, session: Owner) -> Response:
    return _users_page(request, session=session, new_token=_take_token(request, session))


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
            actor=session.user.email,
        )
    except (InvalidInput, NotFound) as exc:
        if str(exc).startswith("staff member:"):  # shown next to its field
            return _users_page(request, "", 400, session=session, new=new, staff_error=str(exc))
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
            actor=session.user.email,
            now=clock(),
        )
    except (InvalidInput, NotFound) as exc:
        return _users_page(request, str(exc), 400, session=session)
    return _redirect("/settings/users")


@router.post("/users/{user_id}/password")
def user_password(request: Request, user_id: int, session: Owner, form: CheckedForm) -> Response:
    try:
        users.set_password(
            engine_of(request),
            user_id,
            form.text("password"),
            now=clock(),
            actor=session.user.email,
        )
    except (InvalidInput, NotFound) as exc:
        return _users_page(request, str(exc), 400, session=session)
    if user_id == session.user.id:  # their own sessions ended with the reset
        return RedirectResponse("/login?msg=password_changed", status_code=303)
    return _redirect("/settings/users")


# A new token waits here, under its session's CSRF token, for the one page that shows it: the
# form redirects (so a reload creates nothing) and the secret never travels in a URL. Held in
# memory (one server process, as for uploads); a token never fetched is dropped after a while.
_FRESH_TOKEN_WAIT = dt.timedelta(minutes=10)


def _fresh_tokens(request: Request) -> dict[str, tuple[str, dt.datetime]]:
    return request.app.state.fresh_tokens  # type: ignore[no-any-return]


def _hold_token(request: Request, session: Any, token: str) -> None:
    waiting = _fresh_tokens(request)
    now = clock()
    for key, (_, at) in list(waiting.items()):
        if now - at > _FRESH_TOKEN_WAIT:
            del waiting[key]
    waiting[session.csrf] = (token, now)


def _take_token(request: Request, session: Any) -> str:
    """The token made by this session's last form, once; "" afterwards."""
    held = _fresh_tokens(request).pop(session.csrf, None)
    return held[0] if held and clock() - held[1] <= _FRESH_TOKEN_WAIT else ""


@router.post("/tokens")
def token_create(request: Request, session: Owner, form: CheckedForm) -> Response:
    token = users.create_token(engine_of(request), session.user.id, form.text("name"), now=clock())
    _hold_token(request, session, token)
    return _redirect("/settings/users", "token_created")


@router.post("/tokens/{token_id}/revoke")
def token_revoke(request: Request, token_id: int, session: Owner, form: CheckedForm) -> Response:
    users.revoke_token(engine_of(request), session.user.id, token_id, now=clock())
    return _redirect("/settings/users", "token_revoked")


# --- policy -----------------------------------------------------------------------------------
# The form is drawn from the policy's register (keepwarm.domain.policy_keys): a section per
# register section, an input per key, a table per map or list of records; what is typed goes
# to the model as text and the model alone decides what is acceptable.

BLANK_ROWS = 2
MAX_ROWS = 500


def _cells(key: PolicyKey, row: Any) -> tuple[str, ...]:
    """One table row as the form's text, in the order of `key.columns`."""
    name, value = row if key.keyed else (None, row)
    cells = [] if name is None else [name]
    if isinstance(value, dict):
        cells += [str(value[c.name]) for c in key.columns if c.name != "key"]
    else:
        cells.append(str(value))
    return tuple(cells)


def _policy_view(data: dict[str, Any]) -> dict[str, Any]:
    """The form's values (text) from a policy document."""
    view: dict[str, Any] = {}
    for _, keys in sections():
        for key in keys:
            value = data[key.name]
            if key.kind == "table":
                rows = value.items() if key.keyed else value
                view[key.name] = [_cells(key, row) for row in rows]
            elif key.kind == "lines":
                view[key.name] = "\n".join(value)
            else:
                view[key.name] = str(value)
    return view


def _form_view(form: Form) -> dict[str, Any]:
    """The form's values as submitted (text; removed and empty rows left out)."""
    view: dict[str, Any] = {}
    for _, keys in sections():
        for key in keys:
            if key.kind != "table":
                view[key.name] = form.text(key.name)
                continue
            rows = []
            for i in range(MAX_ROWS):
                if form.raw(f"{key.name}_{key.columns[0].name}_{i}") is None:
                    break
                row = tuple(form.text(f"{key.name}_{c.name}_{i}") for c in key.columns)
                if form.text(f"{key.name}_remove_{i}") != "on" and any(row):
                    rows.append(row)
            view[key.name] = rows
    return view


def _table(key: PolicyKey, rows: list[tuple[str, ...]]) -> Any:
    """A table's rows as the policy document holds them: a map keyed by the first column, or
    a list; a record's fields by name, a plain value as it is."""
    fields = [c.name for c in key.columns if c.name != "key"]

    def value(cells: tuple[str, ...]) -> Any:
        return dict(zip(fields, cells, strict=True)) if fields != ["value"] else cells[0]

    if not key.keyed:
        return [value(row) for row in rows]
    out: dict[str, Any] = {}
    what = key.columns[0].label.lower()
    problems = []
    for name, *rest in rows:
        if not name:
            problems.append((key.name, f"policy: {key.name}: a row has no {what}"))
        elif name in out:
            problems.append((key.name, f"policy: {key.name}.{name} appears twice"))
        else:
            out[name] = value(tuple(rest))
    if problems:
        raise PolicyError(problems)
    return out


def _policy_changes(view: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The policy settings the form edits, as typed, as a document for `update_policy`, and
    the problems of tables that cannot even be read as one (left out of the document)."""
    changes: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for _, keys in sections():
        for key in keys:
            text = view[key.name]
            if key.kind == "table":
                try:
                    changes[key.name] = _table(key, text)
                except PolicyError as exc:
                    problems += exc.problems
            elif key.kind == "lines":
                changes[key.name] = [line.strip() for line in text.splitlines() if line.strip()]
            else:
                changes[key.name] = text
    return changes, problems


_PATH = re.compile(r"(?P<key>\w+)(?:\.(?P<name>[^.\[\s:]+)|\[(?P<row>\d+)\])?(?:\.(?P<field>\w+))?")


def _in_words(path: str, message: str) -> str:
    """A problem as the form's reader says it: the setting's label from the register (and the
    row and column of a table) in place of the internal name, "policy: cadence_days.vip must
    be ..." -> 'Cadences by tag, tag "vip": must be ...'."""
    text = message.removeprefix("policy: ")
    found = _PATH.match(path)
    key = next(
        (k for _, keys in sections() for k in keys if found and k.name == found["key"]), None
    )
    if found is None or key is None or not text.startswith(path):
        return text
    where = key.label
    if found["name"] is not None and key.columns:
        where += f', {key.columns[0].label.lower()} "{found["name"]}"'
    if found["row"] is not None:
        where += f", row {int(found['row']) + 1}"
    column = next((c for c in key.columns if c.name == found["field"]), None)
    if column is not None:
        where += f", {column.label.lower()}"
    return f"{where}: {text[len(path) :].lstrip(': ')}"


def _policy_page(
    request: Request, view: dict[str, Any], error: PolicyError | None = None, status: int = 200
) -> Response:
    """The form; a refused one shows each problem next to its key, and at the top those that
    belong to no key on the form."""
    on_form = {key.name for _, keys in sections() for key in keys}
    problems: dict[str, list[str]] = {}
    elsewhere = []
    for path, message in error.problems if error else ():
        key = re.split(r"[.\[]", path, maxsplit=1)[0]
        if key in on_form:
            problems.setdefault(key, []).append(_in_words(path, message))
        else:
            elsewhere.append(message)
    if problems:
        n = len(problems)
        elsewhere.append(f"{n} {'setting needs' if n == 1 else 'settings need'} fixing below")
    context = {
        "view": view,
        "error": "; ".join(elsewhere),
        "problems": {k: "; ".join(v) for k, v in problems.items()},
        "sections": sections(),
        "blank": range(BLANK_ROWS),
    }
    return render(request, "settings_policy.html", context, status_code=status)


@router.get("/policy")
def policy_page(request: Request, session: Owner) -> Response:
    return _policy_page(request, _policy_view(get_policy(engine_of(request)).to_dict()))


@router.post("/policy")
def policy_save(request: Request, session: Owner, form: CheckedForm) -> Response:
    view = _form_view(form)
    engine = engine_of(request)
    changes, unreadable = _policy_changes(view)
    try:
        if unreadable:  # check the rest too, so every problem shows at once
            try:
                Policy.from_text(get_policy(engine).to_dict() | changes)
            except PolicyError as exc:
                unreadable += exc.problems
            raise PolicyError(unreadable)
        update_policy(engine, changes, now=clock(), actor=session.user.email)
    except PolicyError as exc:
        return _policy_page(request, view, exc, 400)
    except InvalidInput as exc:
        return _policy_page(request, view, PolicyError([("", str(exc))]), 400)
    return _redirect("/settings/policy")


# --- message templates ------------------------------------------------------------------------

FORMS = {
    "letter": "Letter, card or email: the message",
    "subject": "Email: the subject line",
    "sms": "Text message (SMS)",
    "call": "Call or visit: talking points",
}


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
        set_template(engine_of(request), code, kind, text, now=clock(), actor=session.user.email)
    except InvalidInput as exc:
        return _editor(
            request, session, code, kind, client=client, text=text, error=str(exc), status=400
        )
    return _redirect(f"/settings/templates/{code}/{kind}", client=client)


@router.post("/templates/reset")
def template_reset(request: Request, session: Owner, form: CheckedForm) -> Response:
    code, kind, _, client = _submitted(form)
    set_template(engine_of(request), code, kind, None, now=clock(), actor=session.user.email)
    return _redirect(f"/settings/templates/{code}/{kind}", client=client)
