"""The unsubscribe link in every email: `/unsubscribe/{token}`, no sign-in.

GET shows a confirmation page and changes nothing (link scanners and previews follow GETs).
POST unsubscribes: the client's button, and the RFC 8058 one-click POST a mail provider sends
(body `List-Unsubscribe=One-Click`, no cookies). It is the one form of the app without a CSRF
token: the secret token in the URL is its authority, and a forged POST could only do what the
link's holder may do anyway.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keepwarm.services import unsubscribe as svc
from keepwarm.web.auth import clock, engine_of
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)

CHANNELS = {"email": "emails", "sms": "text messages"}


def _unknown(request: Request) -> Response:
    return render(
        request,
        "error.html",
        {
            "title": "Not found",
            "problem": "This unsubscribe link is not known here. It may have been copied "
            "incompletely: use the link in the message itself.",
        },
        status_code=404,
    )


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    """The confirmation page: the practice, the masked address and one button."""
    link = svc.lookup(engine_of(request), request.app.state.settings, token)
    if link is None:
        return _unknown(request)
    context = {"link": link, "token": token, "what": CHANNELS.get(link.channel, "messages")}
    return render(request, "unsubscribe.html", context)


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, token: str) -> Response:
    """Unsubscribe (the button, or a provider's one-click POST): idempotent."""
    link = svc.lookup(engine_of(request), request.app.state.settings, token)
    if link is None or svc.unsubscribe(engine_of(request), token, now=clock()) is None:
        return _unknown(request)
    what = CHANNELS.get(link.channel, "messages")
    return render(request, "unsubscribed.html", {"link": link, "what": what})
