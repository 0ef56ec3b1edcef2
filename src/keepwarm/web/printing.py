"""The Print page: the open print batches (who is in them, who was left out and why), their
PDF to download, "Confirm printed" (all, or a sheet), cancel; and "Add to print batch" on a
Today card. Staff see and act on their own batches, the owner on all."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from keepwarm.domain.errors import InvalidInput
from keepwarm.messaging.print_pdf import LABEL_FORMATS
from keepwarm.services import printing as svc
from keepwarm.web.auth import CheckedForm, SignedIn, business_today, clock, engine_of
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)

NOTES = {
    "queued": "Added to the print batch: the action is done; its touch is recorded when you "
    "confirm the batch printed.",
    "made": "The batch is ready: download the PDF, print it, then confirm it printed.",
    "confirmed": "Confirmed printed: the touches are on the clients' timelines.",
    "cancelled": "Batch cancelled: its actions are back on the list.",
}


def _view(request: Request, session: SignedIn) -> tuple[list[svc.Batch], list[svc.LeftOut]]:
    """The open batches, and who else on the list would not be printed (those already listed
    under a batch as without an address are not listed twice)."""
    engine = engine_of(request)
    batches = svc.batches(engine, by=session.user)
    listed = {i.action_id for b in batches for i in b.items}
    left_out = [x for x in svc.left_out(engine, by=session.user) if x.action_id not in listed]
    return batches, left_out


def _back(note: str, batch_id: int | None = None) -> Response:
    anchor = f"#batch-{batch_id}" if batch_id else ""
    return RedirectResponse(f"/print?{urlencode({'note': note})}{anchor}", status_code=303)


@router.get("/print")
def print_page(request: Request, session: SignedIn) -> Response:
    """The open batches in scope and who would be left out of the next one."""
    batches, left_out = _view(request, session)
    context = {
        "batches": batches,
        "left_out": left_out,
        "formats": LABEL_FORMATS,
        "no_address": svc.NO_ADDRESS,
        "note": NOTES.get(request.query_params.get("note", ""), ""),
    }
    return render(request, "print_batches.html", context, headers={"Cache-Control": "no-store"})


@router.get("/print.json")
def print_json(request: Request, session: SignedIn) -> Response:
    """The Print page's JSON twin: the open batches with their items, and who is left out."""
    batches, left_out = _view(request, session)
    body = {
        "batches": [b.as_json() for b in batches],
        "left_out": [dict(x.__dict__) for x in left_out],
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/print/letters")
def make_letters(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    """A letters batch of the open cards and letters on the list (a member's own, or for the
    owner everyone's)."""
    made = svc.make_batch(
        engine_of(request),
        kind="letters",
        by=session.user,
        day=business_today(request),
        now=clock(),
    )
    return _back("made", made.id)


@router.post("/print/labels")
def make_labels(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    """Address labels, one per address, for an open letters batch, on the chosen sheet."""
    letters = form.text("letters")
    if not letters.isdigit():
        raise InvalidInput("letters: the letters batch to make labels for")
    made = svc.make_batch(
        engine_of(request),
        kind="labels",
        label_format=form.text("label_format") or svc.DEFAULT_LABELS,
        letters=int(letters),
        by=session.user,
        day=business_today(request),
        now=clock(),
    )
    return _back("made", made.id)


@router.get("/print/{batch_id}.pdf")
def batch_pdf(request: Request, batch_id: int, session: SignedIn) -> Response:
    """The batch's PDF, as a download."""
    settings = request.app.state.settings
    data = svc.render_pdf(
        engine_of(request), batch_id, practice=svc.practice_name(settings), by=session.user
    )
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="keepwarm-print-{batch_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/print/{batch_id}/confirm")
def confirm_batch(
    request: Request, batch_id: int, session: SignedIn, form: CheckedForm
) -> Response:
    """Confirm printed: the whole batch, or the sheet named in the form."""
    sheet = form.text("sheet")
    if sheet and not sheet.isdigit():
        raise InvalidInput("sheet: a sheet number")
    sheets = [int(sheet)] if sheet else None
    svc.confirm(engine_of(request), batch_id, sheets=sheets, by=session.user, now=clock())
    return _back("confirmed", batch_id)


@router.post("/print/{batch_id}/cancel")
def cancel_batch(request: Request, batch_id: int, session: SignedIn, form: CheckedForm) -> Response:
    svc.cancel_batch(engine_of(request), batch_id, by=session.user, now=clock())
    return _back("cancelled")


@router.post("/actions/{action_id}/print-batch")
def add_to_batch(
    request: Request, action_id: int, session: SignedIn, form: CheckedForm
) -> Response:
    """ "Add to print batch" on a Today card: the action's letter joins its member's batch."""
    svc.queue_letter(
        engine_of(request),
        action_id,
        by=session.user,
        day=business_today(request),
        now=clock(),
    )
    return _back("queued")
