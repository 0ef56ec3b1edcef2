"""Sign-in, first-run setup, account, and the Today page with Done / Snooze / Dismiss."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from keepwarm.domain.errors import InvalidInput, SignInFailed
from keepwarm.domain.model import PERSONAL_CHANNELS, Role, User
from keepwarm.domain.model import SIGNAL_LABELS as LABELS
from keepwarm.messaging.drafts import Draft
from keepwarm.services import users
from keepwarm.services.actions import Dismiss, Done, Snooze, Step, act, reopen, undo
from keepwarm.services.database import one_read
from keepwarm.services.reminders import FollowUp
from keepwarm.services.todays_list import (
    ListedAction,
    TodayView,
    give_more,
    more_wanted,
    move_waiting,
    printable,
    today_view,
)
from keepwarm.web.auth import (
    NOT_LINKED,
    PRE_COOKIE,
    SESSION_COOKIE,
    AnonymousForm,
    CheckedForm,
    Form,
    Owner,
    SignedIn,
    business_today,
    client_ip,
    clock,
    engine_of,
    pre_token,
)
from keepwarm.web.outbox_pages import account_morning, choice_note, today_send
from keepwarm.web.render import MESSAGES, render

router = APIRouter(include_in_schema=False)

OUTCOMES = ("reached", "left a message", "no answer", "sent", "met")
SIGNAL_LABELS = {code.value: label for code, label in LABELS.items()}


def _cookie(response: Response, request: Request, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def _safe_next(target: str) -> str:
    """Only a path on this site (never //host or a scheme): no open redirect."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/today"


def _anonymous_page(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    token = pre_token(request)
    response = render(request, template, {**context, "pre_token": token}, status_code=status)
    _cookie(response, request, PRE_COOKIE, token, 3600)
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/today", status_code=303)


@router.get("/health", include_in_schema=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


# --- first run --------------------------------------------------------------------------------


@router.get("/setup")
def setup_page(request: Request) -> Response:
    if users.user_count(engine_of(request)):
        return RedirectResponse("/login", status_code=303)
    enabled = request.app.state.setup_code is not None
    return _anonymous_page(request, "setup.html", {"enabled": enabled, "error": "", "email": ""})


@router.post("/setup")
def setup_submit(request: Request, form: AnonymousForm) -> Response:
    engine = engine_of(request)
    if users.user_count(engine):
        return RedirectResponse("/login", status_code=303)
    code = request.app.state.setup_code
    email = form.text("email")
    error = ""
    try:
        # Counted and recorded in one serialised transaction before the code is compared, so
        # parallel guesses cannot all be checked against the same count (as for sign-in).
        attempt = users.claim_attempt(engine, "setup", client_ip(request), now=clock())
        given = "".join(form.text("code").split())
        if code is None or not hmac.compare_digest(given.encode(), code.encode()):
            raise InvalidInput("code: that is not the code `keepwarm serve` printed in its window")
        users.forgive_attempt(engine, attempt)
        if form.text("password") != form.text("password2"):
            raise InvalidInput("password: the two passwords differ")
        user = users.add_user(
            engine,
            email,
            form.text("password"),
            Role.OWNER,
            staff_name=form.text("staff") or None,
            now=clock(),
            first_owner=True,
        )
    except (InvalidInput, SignInFailed) as exc:
        error = str(exc)
    if error:
        context = {"enabled": code is not None, "error": error, "email": email}
        return _anonymous_page(request, "setup.html", context, status=400)
    request.app.state.setup_code = None  # one time
    return _signed_in_redirect(request, user, "/today")


# --- sign in / out ----------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/today") -> Response:
    if not users.user_count(engine_of(request)):
        return RedirectResponse("/setup", status_code=303)
    context = {"error": "", "email": "", "next": _safe_next(next)}
    return _anonymous_page(request, "login.html", context)


@router.post("/login")
def login_submit(request: Request, form: AnonymousForm) -> Response:
    target = _safe_next(form.text("next", "/today"))
    try:
        user = users.authenticate(
            engine_of(request),
            form.text("email"),
            form.text("password"),
            ip=client_ip(request),
            now=clock(),
        )
    except SignInFailed as exc:
        context = {"error": str(exc), "email": form.text("email"), "next": target}
        return _anonymous_page(request, "login.html", context, status=401)
    return _signed_in_redirect(request, user, target)


def _signed_in_redirect(request: Request, user: User, target: str) -> Response:
    old = request.cookies.get(SESSION_COOKIE)
    token = users.start_session(engine_of(request), user, now=clock(), old=old)
    response = RedirectResponse(target, status_code=303)
    _cookie(response, request, SESSION_COOKIE, token, int(users.ABSOLUTE_TIMEOUT.total_seconds()))
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        users.end_session(engine_of(request), token)
    response = RedirectResponse("/login?msg=signed_out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account")
def account_page(request: Request, session: SignedIn) -> Response:
    return render(request, "account.html", {"error": "", **account_morning(request, session.user)})


@router.post("/account/password")
def change_password(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    try:
        if form.text("new") != form.text("new2"):
            raise InvalidInput("new password: the two new passwords differ")
        users.change_password(
            engine_of(request), session.user.id, form.text("current"), form.text("new"), now=clock()
        )
    except InvalidInput as exc:
        context = {"error": str(exc), **account_morning(request, session.user)}
        return render(request, "account.html", context, status_code=400)
    response = RedirectResponse("/login?msg=password_changed", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- today ------------------------------------------------------------------------------------


UNLINKED = {"title": "Today", "problem": NOT_LINKED}


@router.get("/today")
def today_page(request: Request, session: SignedIn, staff: str | None = None) -> Response:
    user = session.user
    if not user.is_owner and not user.staff:  # an old database's staff user linked to nobody
        return render(request, "error.html", UNLINKED)
    with one_read(engine_of(request)):  # the list, the quotas and the send choices: one state
        return _today_page(request, user, staff)


def _today_page(request: Request, user: User, staff: str | None) -> Response:
    # the owner sees everyone's list or switches to one member's; staff see their own only
    view = today_view(
        engine_of(request),
        now=clock(),
        staff=staff if user.is_owner else user.staff,
        show_all=user.is_owner,
    )
    quota = view.quota if user.is_owner else [q for q in view.quota if q.staff == user.staff]
    context = {
        "day": view.day,
        "team": view.team,
        "chosen": view.chosen,
        "groups": _groups(view, user),
        "quota": quota,
        "waiting_from": [q.staff for q in view.quota if q.waiting] if user.is_owner else [],
        "monday": view.monday,
        "planned": view.planned,
        "channels": PERSONAL_CHANNELS,
        "outcomes": OUTCOMES,
        "labels": SIGNAL_LABELS,
        "tomorrow": view.day + dt.timedelta(days=1),
        "undo": None,
        **_banner(request),
        **today_send(request, user, [a.client_id for a in view.actions]),
        "send_note": choice_note,
    }
    return render(request, "today.html", context)


UNDOABLE = {"done", "snoozed", "dismissed"}


def _banner(request: Request) -> dict[str, object]:
    """The message after an action (with its Undo when `undo` names the action) or after
    "give me more"; only known messages are shown, whatever the query says."""
    params = request.query_params
    msg, undo = params.get("msg", ""), params.get("undo", "")
    more = {
        "more": "More clients are on the list: the next best, first in line.",
        "quota_met": "The week's quota is met: nothing added.",
        "none_waiting": "Nobody else to contact on this list right now: nothing added.",
    }
    if msg in more:
        return {"message": more[msg]}
    if msg in UNDOABLE and undo.isdigit():
        return {"message": "", "undo": {"id": int(undo), "said": MESSAGES[msg]}}
    return {}


def _groups(view: TodayView, user: User) -> list[dict[str, Any]]:
    """The lists shown, one per member of staff (everyone's for the owner's "Everyone", else
    the one chosen), each with its cards, its week's progress, and how many more its member
    may ask for once the list is done."""
    if view.chosen:
        names: list[str | None] = [view.chosen]
    elif user.is_owner:
        names = [*view.team, *([None] if any(a.staff is None for a in view.actions) else [])]
    else:
        names = []
    lines = {q.staff: q for q in view.quota}
    groups: list[dict[str, Any]] = []
    for name in names:
        cards = [_view(a) for a in view.actions if a.staff == name]
        line = lines.get(name) if name else None
        mine = user.is_owner or user.staff == name
        more = more_wanted(line) if line and mine and not cards else 0
        groups.append({"staff": name, "cards": cards, "line": line, "more": more})
    return groups


def _view(action: ListedAction) -> dict[str, object]:
    """A card: the draft for the suggested channel, and its contact links (a call, the
    client-facing email, a printable letter)."""
    draft = action.drafts.get(action.channel)
    email = action.drafts.get("email")
    mailto = None
    if action.email and email is not None:
        query = urlencode({"subject": email.subject, "body": email.text}, quote_via=quote)
        mailto = f"mailto:{quote(action.email)}?{query}"
    return {
        "a": action,
        "draft": draft.text if draft else action.draft,
        "for_client": (draft or Draft(action.channel, action.draft)).for_client,
        "mailto": mailto,
        "tel": f"tel:{action.phone}" if action.phone else None,
        "print": f"/actions/{action.id}/print" if action.channel in PRINTED else None,
        # what "Send email" / "Send text" open editable (the client-facing drafts)
        "email_draft": email,
        "sms_draft": action.drafts.get("sms"),
    }


PRINTED = ("card", "letter", "note", "gift")


@router.get("/actions/{action_id}/print")
def action_print(request: Request, action_id: int, session: SignedIn) -> Response:
    """The letter to the client for an action, laid out for printing (a card or a letter)."""
    day = business_today(request)
    action, letter = printable(engine_of(request), action_id, by=session.user, day=day)
    context = {"a": action, "letter": letter, "day": day}
    return render(request, "print_letter.html", context)


@router.post("/today/more")
def today_more(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    """Give me more: the next best clients onto a member's done list while the week's quota
    is not met (staff for themselves, the owner for anyone)."""
    user = session.user
    member = form.text("member") or (user.staff or "")
    result = give_more(engine_of(request), staff_name=member, by=user, now=clock())
    msg = "more" if result.outcome == "added" else result.outcome
    query = urlencode({k: v for k, v in (("staff", form.text("staff")), ("msg", msg)) if v})
    return RedirectResponse(f"/today?{query}#list-{quote(member)}", status_code=303)


def _back(form_staff: str, msg: str, undo: int | None = None) -> Response:
    """Back to Today; after a step on an action, with that action's Undo (`undo`)."""
    pairs = (("staff", form_staff), ("msg", msg), ("undo", str(undo) if undo else ""))
    query = urlencode({k: v for k, v in pairs if v})
    return RedirectResponse(f"/today?{query}", status_code=303)


def _follow_up(form: Form) -> FollowUp | None:
    """The optional follow-up reminder of a Done form (`follow_up_on`, `follow_up_note`)."""
    on, note = form.text("follow_up_on"), form.text("follow_up_note")
    if not on and not note:
        return None
    try:
        day = dt.date.fromisoformat(on)
    except ValueError:
        raise InvalidInput("follow_up_on: choose the day to be reminded") from None
    if not note.strip():
        raise InvalidInput("follow_up_note: say what to be reminded of")
    return FollowUp(day, note)


@router.post("/actions/{action_id}/done")
def action_done(request: Request, action_id: int, session: SignedIn, form: CheckedForm) -> Response:
    step = Done(
        form.text("channel") or None,
        form.text("outcome") or None,
        form.text("note") or None,
        _follow_up(form),
    )
    return _act(request, action_id, session, form, step, "done")


@router.post("/actions/{action_id}/snooze")
def action_snooze(
    request: Request, action_id: int, session: SignedIn, form: CheckedForm
) -> Response:
    try:
        until = dt.date.fromisoformat(form.text("until"))
    except ValueError:
        raise InvalidInput("snooze until: choose a date") from None
    return _act(request, action_id, session, form, Snooze(until), "snoozed")


@router.post("/actions/{action_id}/dismiss")
def action_dismiss(
    request: Request, action_id: int, session: SignedIn, form: CheckedForm
) -> Response:
    step = Dismiss(form.text("reason") or "dismissed")
    return _act(request, action_id, session, form, step, "dismissed")


def _act(
    request: Request, action_id: int, session: users.Session, form: Form, step: Step, said: str
) -> Response:
    day, now = business_today(request), clock()
    act(engine_of(request), action_id, step, by=session.user, day=day, now=now)
    return _back(form.text("staff"), said, undo=action_id)


@router.post("/actions/{action_id}/undo")
def action_undo(request: Request, action_id: int, session: SignedIn, form: CheckedForm) -> Response:
    """Take back the last step on the action (the owner, or the action's member of staff)."""
    undo(engine_of(request), action_id, by=session.user, now=clock())
    return _back(form.text("staff"), "undone")


@router.post("/actions/{action_id}/reopen")
def action_reopen(
    request: Request, action_id: int, session: SignedIn, form: CheckedForm
) -> Response:
    """Put a snoozed or dismissed action back on its member's list (from Put away)."""
    reopen(engine_of(request), action_id, by=session.user, now=clock())
    target = "/put-away" + ("?staff=" + quote(form.text("staff")) if form.text("staff") else "")
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}msg=reopened", status_code=303)


@router.post("/today/waiting/move")
def waiting_move(request: Request, session: Owner, form: CheckedForm) -> Response:
    """The owner gives one member's waiting actions (the first `count`, or all) to another."""
    count_text = form.text("count")
    if count_text and not count_text.isdigit():
        raise InvalidInput("how many: enter a whole number, or leave it empty for all")
    move_waiting(
        engine_of(request),
        from_staff=form.text("from_staff"),
        to_staff=form.text("to_staff"),
        count=int(count_text) if count_text else None,
    )
    return _back(form.text("staff"), "moved")
