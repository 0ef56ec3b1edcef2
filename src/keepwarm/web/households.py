"""The owner's Households page: suggested households (same address and last name, or same
landline) with Accept (the name editable) and Reject, and the households there are; and the
household part of a client's page (shown to everyone who sees the client, set by the owner).
The same service calls as `keepwarm households` and `keepwarm household`; every POST carries
the form's CSRF token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from keepwarm.domain.model import User
from keepwarm.services import households as svc
from keepwarm.web import auth
from keepwarm.web.auth import CheckedForm, SignedIn, engine_of
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)

_MESSAGES = {
    "accepted": "Household saved: they get one card together from now on.",
    "rejected": "Noted: not one household, and not suggested again.",
}


def _redirect(msg: str) -> Response:
    return RedirectResponse(f"/households?{urlencode({'msg': msg})}", status_code=303)


@router.get("/households")
def households_page(request: Request, session: SignedIn) -> Response:
    auth.only_the_owner(session.user, "see and decide households")
    engine = engine_of(request)
    context = {
        "suggestions": svc.suggestions(engine),
        "households": svc.households(engine),
        "message": _MESSAGES.get(request.query_params.get("msg", ""), ""),
    }
    return render(request, "households.html", context)


@router.post("/households/accept")
def accept(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    auth.only_the_owner(session.user, "accept a household")
    name = form.text("name").strip() or None
    svc.accept(engine_of(request), form.text("key"), name=name, by=session.user, now=auth.clock())
    return _redirect("accepted")


@router.post("/households/reject")
def reject(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    auth.only_the_owner(session.user, "reject a household")
    svc.reject(engine_of(request), form.text("key"), by=session.user, now=auth.clock())
    return _redirect("rejected")


@router.post("/households/set")
def set_household(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    """Put a client in a household by name (made if new), or in none (`clear`)."""
    auth.only_the_owner(session.user, "change a client's household")
    client = form.text("client")
    name = None if form.text("clear") else form.text("name")
    svc.set_household_of(engine_of(request), client, name, by=session.user, now=auth.clock())
    path = "/clients/" + quote(client, safe="")
    return RedirectResponse(path + "#household-h", status_code=303)


def household_context(request: Request, client_id: str, user: User | None) -> dict[str, Any]:
    """The client page's Household part: the household with its members."""
    return {"household": svc.household_of_client(engine_of(request), client_id)}
