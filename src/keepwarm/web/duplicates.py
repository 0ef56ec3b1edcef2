"""The owner's Duplicates page: likely duplicate clients side by side, each pair with "Merge"
(after a confirmation page showing both records) and "Not the same person"; past merges, each
with "Undo". The same service calls as `keepwarm duplicates`, `keepwarm merge` and
`keepwarm merge undo`; every POST carries the form's CSRF token."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from keepwarm.domain.errors import InvalidInput
from keepwarm.services import client_merge, duplicates
from keepwarm.web import auth
from keepwarm.web.auth import CheckedForm, SignedIn, engine_of
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)

_MESSAGES = {
    "merged": "Merged. Undo it below if it was a mistake.",
    "apart": "Noted: they are two people, and will not be suggested again.",
    "undone": "Merge undone: both clients are back as they were.",
}


def _redirect(msg: str, **query: str) -> Response:
    return RedirectResponse(f"/duplicates?{urlencode({'msg': msg, **query})}", status_code=303)


def _min_score(request: Request) -> float:
    raw = request.query_params.get("min", "").strip()
    if not raw:
        return duplicates.DEFAULT_MIN_SCORE
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"min: a score from 0 to 1, not {raw!r}") from None
    return value


@router.get("/duplicates")
def duplicates_page(request: Request, session: SignedIn) -> Response:
    auth.only_the_owner(session.user, "find and merge duplicate clients")
    engine = engine_of(request)
    min_score = _min_score(request)
    found = duplicates.find(engine, min_score=min_score)
    context = {
        "found": found,
        "min_score": min_score,
        "merges": client_merge.merge_history(engine, limit=50),
        "message": _MESSAGES.get(request.query_params.get("msg", ""), ""),
    }
    return render(request, "duplicates.html", context)


@router.get("/duplicates.json")
def duplicates_json(request: Request, session: SignedIn) -> JSONResponse:
    """The page's pairs as JSON: what `keepwarm duplicates --format json` prints."""
    auth.only_the_owner(session.user, "find and merge duplicate clients")
    found = duplicates.find(engine_of(request), min_score=_min_score(request))
    return JSONResponse([duplicates.pair_json(p) for p in found.pairs])


@router.get("/duplicates/merge")
def merge_page(request: Request, session: SignedIn, keep: str = "", other: str = "") -> Response:
    auth.only_the_owner(session.user, "merge clients")
    if not keep or not other:
        raise InvalidInput("say which two clients to merge (keep= and other=)")
    pair = duplicates.compare_clients(engine_of(request), keep, other)
    kept, merged = (pair.a, pair.b) if pair.a.external_id == keep else (pair.b, pair.a)
    return render(request, "duplicates_merge.html", {"pair": pair, "kept": kept, "merged": merged})


@router.post("/duplicates/merge")
def merge(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    auth.only_the_owner(session.user, "merge clients")
    done = client_merge.merge_clients(
        engine_of(request),
        form.text("keep"),
        form.text("other"),
        by=session.user.email,
        now=auth.clock(),
    )
    return _redirect("merged", merge=str(done.merge_id))


@router.post("/duplicates/not-same")
def not_the_same(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    auth.only_the_owner(session.user, "say two clients are different people")
    duplicates.not_the_same(
        engine_of(request), form.text("a"), form.text("b"), by=session.user.email, now=auth.clock()
    )
    return _redirect("apart")


@router.post("/duplicates/merges/{merge_id}/undo")
def undo(request: Request, session: SignedIn, form: CheckedForm, merge_id: int) -> Response:
    auth.only_the_owner(session.user, "undo a merge")
    client_merge.undo_merge(engine_of(request), merge_id, by=session.user.email, now=auth.clock())
    return _redirect("undone", merge=str(merge_id))
