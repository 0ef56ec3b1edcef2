"""The client page's "Contact preferences": each channel allowed or not and why, the history,
a bounced address in words, and the form staff record a client's wish with."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import User
from keepwarm.services import clients as clients_svc
from keepwarm.services import consent as svc
from keepwarm.web import auth
from keepwarm.web.auth import Form

# What staff can record: (value, words) — the channel and whether it is allowed.
CHOICES = (
    ("sms:allow", "Agreed to texts"),
    ("email:allow", "Agreed to emails"),
    ("post:allow", "Agreed to letters and cards"),
    ("phone:allow", "Agreed to calls"),
    ("email:refuse", "Asked not to be emailed"),
    ("sms:refuse", "Asked not to be texted"),
    ("post:refuse", "Asked not to get letters or cards"),
    ("phone:refuse", "Asked not to be called"),
)
SOURCES = (("request", "the client asked"), ("staff", "noted by staff"))
CHANNEL_WORDS = {"email": "Email", "sms": "Texts", "post": "Post", "phone": "Phone"}


def consent_context(request: Request, client_id: str, user: User | None) -> dict[str, Any]:
    """The page's consent block, for the client page's template."""
    return {
        "consent": svc.client_consent(auth.engine_of(request), client_id),
        "consent_choices": CHOICES,
        "consent_sources": SOURCES,
        "channel_words": CHANNEL_WORDS,
    }


def record_consent(request: Request, client_id: str, session: Any, form: Form) -> Response:
    """POST /clients/{id}/consent: the owner, or the member of staff who looks after the
    client, records a consent event as themselves."""
    engine = auth.engine_of(request)
    auth.check_may_change_client(session.user, clients_svc.get_client(engine, client_id).owner)
    choice = dict(CHOICES).get(form.text("choice"))
    if choice is None:
        raise InvalidInput("choice: choose what the client said")
    channel, _, allowed = form.text("choice").partition(":")
    source = form.text("source") or "request"
    if source not in dict(SOURCES):
        raise InvalidInput("source: the client asked, or noted by staff")
    svc.set_consent(
        engine,
        client_id,
        channel,
        allowed == "allow",
        actor=session.user.email,
        now=auth.clock(),
        source=source,
        note=form.text("note")[:500] or None,
    )
    url = "/clients/" + _path(client_id) + "?msg=consent#consent-h"
    return RedirectResponse(url, status_code=303)


def _path(client_id: str) -> str:
    from urllib.parse import quote

    return quote(client_id, safe="")
