"""Sending from Today's list, and the Outbox page: what left, what waits, what needs staff.

Today's card offers "Send email" / "Send text" when the channel is set up and the client may
be contacted that way (`send_choices`); the draft opens editable first and POST
/actions/{id}/send queues it (services.outbox.queue_action: the action is done in the same
transaction, so a second POST of the same form queues nothing). The Outbox page lists the
owner's every message, or a member's own, newest first, with the ones that need a person
(unknown, failed, bounced) at the top and what to do about each in words. Every POST checks
the CSRF token and redirects back (PRG); every move is conditional on the state shown.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from keepwarm.config import Settings
from keepwarm.domain.errors import NotAllowed, NotFound
from keepwarm.domain.model import User
from keepwarm.services import morning, outbox
from keepwarm.services.outbox import OutboxMessage, SendChoice, Written
from keepwarm.web.auth import CheckedForm, SignedIn, business_today, clock, engine_of
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)

BOUNCED = "bounced:"
CHANNEL_WORDS = {"email": "Email", "sms": "Text"}

SAID = {
    "marked_sent": "Marked sent: the touch is on the client's timeline.",
    "sent_again": "Queued again: it leaves within a minute.",
    "cancelled": "Cancelled: the action is back on its member's list.",
}


def settings_of(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def is_bounced(m: OutboxMessage) -> bool:
    """A sent message whose address bounced afterwards (marked by the bounce reader)."""
    return m.state == "sent" and (m.last_error or "").startswith(BOUNCED)


# --- on Today's card ----------------------------------------------------------------------------


def today_send(request: Request, user: User, client_refs: list[str]) -> dict[str, Any]:
    """What Today's cards need to offer sending: per client and channel a SendChoice, the
    settings still missing (shown once, to the owner) and the banner after a message was
    queued (`msg=queued&outbox=N`)."""
    settings = settings_of(request)
    choices = outbox.send_choices(engine_of(request), settings, client_refs)
    missing = outbox.setup_missing(settings, "email")
    context: dict[str, Any] = {
        "send": choices,
        "send_setup": missing if user.is_owner else (),
    }
    params = request.query_params
    if params.get("msg") == "queued" and params.get("outbox", "").isdigit():
        try:
            m = outbox.message(engine_of(request), int(params["outbox"]), by=user)
        except (NotFound, NotAllowed):
            return context
        what = CHANNEL_WORDS.get(m.channel, m.channel)
        context["message"] = f"{what} to {m.client_name or m.to} queued — it leaves within a minute"
    return context


def choice_note(choice: SendChoice | None) -> str:
    """Why the card does not offer sending by the channel, in a few words ("" when it does,
    or when the channel is simply not set up)."""
    if choice is None or choice.missing or choice.why is None:
        return ""
    return f"Not by {'email' if choice.channel == 'email' else 'text'}: {choice.why}"


@router.post("/actions/{action_id}/send")
def action_send(request: Request, action_id: int, session: SignedIn, form: CheckedForm) -> Response:
    """Queue the card's (edited) email or text: the action is done and the message leaves
    with the next delivery round. Back to Today with the message saying so."""
    channel = form.text("channel")
    written = Written(
        subject=form.text("subject") if channel == "email" else None,
        body=form.text("body"),
    )
    outbox_id = outbox.queue_action(
        engine_of(request),
        settings_of(request),
        action_id,
        channel,
        written=written,
        by=session.user,
        day=business_today(request),
        now=clock(),
    )
    pairs = (("staff", form.text("staff")), ("msg", "queued"), ("outbox", str(outbox_id)))
    return RedirectResponse(f"/today?{urlencode([(k, v) for k, v in pairs if v])}", 303)


# --- the Outbox page ----------------------------------------------------------------------------


def advice(m: OutboxMessage) -> str:
    """What a person should do about a message that needs them, in words."""
    if is_bounced(m):
        return "The address bounced: call instead, and correct the address on the client's page."
    if m.state == "unknown":
        return (
            "The mail server may or may not have it. If the client got it, mark it sent; "
            "otherwise send it again."
        )
    if m.state == "failed":
        reason = (m.last_error or "it could not be sent").rstrip(".")
        return f"It was not sent: {reason}. Send it again, or call instead."
    return ""


@router.get("/outbox")
def outbox_page(request: Request, session: SignedIn) -> Response:
    """The owner's every message, or a member's own; those needing a person first."""
    user = session.user
    shown = outbox.messages(engine_of(request), by=user)
    needs = [m for m in shown if m.needs_staff or is_bounced(m)]
    context = {
        # Until email is set up the owner is told what to set, staff whom to ask.
        "email_missing": outbox.setup_missing(settings_of(request), "email"),
        "needs": [{"m": m, "advice": advice(m), "bounced": is_bounced(m)} for m in needs],
        "messages": [{"m": m, "bounced": is_bounced(m)} for m in shown],
        "waiting": outbox.WAITING,
        "message": SAID.get(request.query_params.get("msg", ""), ""),
        "client_path": _client_path,
    }
    return render(request, "outbox.html", context)


def _client_path(ref: str) -> str:
    return "/clients/" + quote(ref, safe="")


def _moved(outbox_id: int, msg: str) -> Response:
    return RedirectResponse(f"/outbox?msg={msg}#message-{outbox_id}", status_code=303)


@router.post("/outbox/{outbox_id}/mark-sent")
def outbox_mark_sent(
    request: Request, outbox_id: int, session: SignedIn, form: CheckedForm
) -> Response:
    outbox.mark_sent(engine_of(request), outbox_id, by=session.user, now=clock())
    return _moved(outbox_id, "marked_sent")


@router.post("/outbox/{outbox_id}/send-again")
def outbox_send_again(
    request: Request, outbox_id: int, session: SignedIn, form: CheckedForm
) -> Response:
    outbox.send_again(engine_of(request), outbox_id, by=session.user, now=clock())
    return _moved(outbox_id, "sent_again")


@router.post("/outbox/{outbox_id}/cancel")
def outbox_cancel(
    request: Request, outbox_id: int, session: SignedIn, form: CheckedForm
) -> Response:
    outbox.cancel(engine_of(request), outbox_id, by=session.user, now=clock())
    return _moved(outbox_id, "cancelled")


def client_messages(request: Request, user: User, client_ref: str) -> list[OutboxMessage]:
    """The client's messages for their page (a member of staff sees their own)."""
    return outbox.messages(engine_of(request), by=user, client=client_ref, limit=50)


# --- the morning email on the account page ------------------------------------------------------


def account_morning(request: Request, user: User) -> dict[str, Any]:
    """Whether the user gets the morning email, and whether email can be sent at all."""
    missing = outbox.setup_missing(settings_of(request), "email")
    return {
        "morning_email": morning.wants_morning_email(engine_of(request), user.id),
        "mail_ready": not missing,
    }


@router.post("/account/morning-email")
def account_morning_email(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    """Turn one's own morning email on (on=yes) or off."""
    morning.set_morning_email(engine_of(request), session.user.email, form.text("on") == "yes")
    return RedirectResponse("/account?msg=saved#morning-h", status_code=303)
