"""A client's data in the client's hands: download everything keepwarm holds about them (a
ZIP), and erase them (the owner only, after a confirmation page where the owner types the
client's id). Both are POSTs with the form's CSRF token: each writes an audit entry."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from keepwarm.domain.errors import InvalidInput
from keepwarm.services import client_export, erasure
from keepwarm.services import clients as clients_svc
from keepwarm.web import auth
from keepwarm.web.auth import CheckedForm, SignedIn, engine_of
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)  # pages, not the API


def _client_ref(value: str) -> str:
    if not value:
        raise InvalidInput("client: say which client (their id)")
    return value


@router.post("/privacy/export")
def export_client(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    """The ZIP of everything about the client: the owner for anyone, staff for the clients
    they look after."""
    engine = engine_of(request)
    ref = _client_ref(form.text("client"))
    auth.check_may_change_client(session.user, clients_svc.get_client(engine, ref).owner)
    content = client_export.client_zip(engine, ref, actor=session.user.email, now=auth.clock())
    name = "keepwarm-client-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in ref)
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
    )


@router.get("/privacy/erase")
def erase_page(request: Request, session: SignedIn, client: str = "") -> Response:
    auth.only_the_owner(session.user, "erase a client")
    found = clients_svc.get_client(engine_of(request), _client_ref(client))
    return render(request, "erase.html", {"client": found, "error": ""})


@router.post("/privacy/erase")
def erase_client(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    auth.only_the_owner(session.user, "erase a client")
    engine = engine_of(request)
    ref = _client_ref(form.text("client"))
    found = clients_svc.get_client(engine, ref)
    if form.text("confirm") != ref:
        error = f"Type the client's id, {ref}, exactly to confirm: nothing was erased."
        context = {"client": found, "error": error}
        return render(request, "erase.html", context, status_code=400)
    done = erasure.erase_client(engine, ref, actor=session.user.email, now=auth.clock())
    return RedirectResponse(
        f"/clients?msg=erased&erased={quote(ref, safe='')}&erasure={done.erasure_id}",
        status_code=303,
    )
