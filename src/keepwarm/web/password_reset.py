"""Forgot password: the form asking for the address, the same answer whatever it is, and the
link's page that sets a new password (services.password_reset).

The link's token is in the path of a GET only (which changes nothing, and whose path the
request log does not write); the form posts it in its body to POST /reset, so no refusal log
line can carry it. After a new password is set, nobody is signed in: the sign-in page asks
for the new one (every old session ended).
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from keepwarm.domain.errors import InvalidInput
from keepwarm.services import password_reset as service
from keepwarm.services.outbox import setup_missing
from keepwarm.web.auth import PRE_COOKIE, AnonymousForm, client_ip, clock, engine_of, pre_token
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)

SENT = (
    "If that address has an account, we sent a link to it. It works once, for an hour; "
    "look in your inbox (and the spam folder)."
)


def _page(
    request: Request, template: str, context: Mapping[str, object], status: int = 200
) -> Response:
    token = pre_token(request)
    response = render(request, template, {**context, "pre_token": token}, status_code=status)
    response.set_cookie(
        PRE_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def _ready(request: Request) -> bool:
    return not setup_missing(request.app.state.settings, "email")


@router.get("/forgot")
def forgot_page(request: Request) -> Response:
    sent = request.query_params.get("sent") == "1"
    context = {"ready": _ready(request), "message": SENT if sent else "", "sent": sent}
    return _page(request, "forgot.html", context)


@router.post("/forgot")
def forgot_submit(request: Request, form: AnonymousForm) -> Response:
    service.request_reset(
        engine_of(request),
        request.app.state.settings,
        form.text("email"),
        ip=client_ip(request),
        now=clock(),
    )
    return RedirectResponse("/forgot?sent=1", status_code=303)


@router.get("/reset/{token}")
def reset_page(request: Request, token: str) -> Response:
    link = service.check_link(engine_of(request), token, now=clock())
    context = {"token": token, "problem": link.problem, "email": link.email, "error": ""}
    return _page(request, "reset.html", context, status=200 if link.state == "ok" else 410)


@router.post("/reset")
def reset_submit(request: Request, form: AnonymousForm) -> Response:
    token = form.text("token")
    try:
        if form.text("password") != form.text("password2"):
            raise InvalidInput("password: the two passwords differ")
        service.reset_password(engine_of(request), token, form.text("password"), now=clock())
    except InvalidInput as exc:
        link = service.check_link(engine_of(request), token, now=clock())
        context = {"token": token, "problem": link.problem, "email": link.email, "error": str(exc)}
        return _page(request, "reset.html", context, status=400)
    return RedirectResponse("/login?msg=password_changed", status_code=303)
