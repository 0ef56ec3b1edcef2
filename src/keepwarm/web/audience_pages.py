"""Audience filters on the Clients page (last visit, not seen since, first visit, value tier,
segment, a saved filter) with the matching count, and saving a filter by name. The clients are
those of keepwarm.services.audiences, the very list a campaign's audience starts from; the
Clients page's own rules of who sees what apply (everyone signed in sees the list)."""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from keepwarm.domain.audience import SEGMENTS, VALUE_TIERS, Filters
from keepwarm.domain.errors import InvalidInput
from keepwarm.services import audiences
from keepwarm.web import auth
from keepwarm.web.auth import CheckedForm, SignedIn, business_today, engine_of

router = APIRouter(include_in_schema=False)

SHOWN = 50
# The Clients page's query parameters that only an audience understands.
AUDIENCE_KEYS = ("before", "after", "not_seen", "first_after", "tier", "segment", "saved")


def _filters(request: Request) -> Filters:
    p = request.query_params

    def one(key: str) -> list[str]:
        value = p.get(key, "").strip()
        return [value] if value else []

    return Filters.from_dict(
        {
            "statuses": one("status"),
            "tags": one("tag"),
            "owners": one("owner"),
            "signals": one("signal"),
            "last_visit_before": p.get("before", ""),
            "last_visit_after": p.get("after", ""),
            "not_seen_since": p.get("not_seen", ""),
            "first_visit_after": p.get("first_after", ""),
            "value_tiers": one("tier"),
            "segments": one("segment"),
            "saved": p.get("saved", "").strip() or None,
        }
    )


def audience_context(request: Request) -> dict[str, object]:
    """The Clients page's audience part: the choices, the saved filters, and, when an audience
    filter is set, the matching clients (`audience`), else None."""
    engine = engine_of(request)
    p = request.query_params
    context: dict[str, object] = {
        "tiers": VALUE_TIERS,
        "segments": SEGMENTS,
        "saved_filters": audiences.saved_filters(engine),
        "audience_values": {k: p.get(k, "") for k in AUDIENCE_KEYS},
        "audience": None,
    }
    if not any(p.get(k, "").strip() for k in AUDIENCE_KEYS):
        return context
    filters = _filters(request)
    found = audiences.matching_clients(engine, filters, today=business_today(request))
    flat = audiences.resolved(engine, filters)
    context["audience"] = {
        "count": len(found),
        "rows": found[:SHOWN],
        "description": flat.describe(),
        "json": json.dumps(flat.to_dict()),
    }
    return context


@router.post("/saved-filters")
def save_filter(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    """Save the Clients page's filter under a name (owner and staff alike)."""
    try:
        data = json.loads(form.text("filters") or "{}")
    except json.JSONDecodeError:
        raise InvalidInput("filters: not a filter the Clients page wrote") from None
    saved = audiences.save_filter(
        engine_of(request),
        form.text("name"),
        Filters.from_dict(data),
        actor=session.user.email,
        now=auth.clock(),
    )
    return RedirectResponse(f"/clients?saved={quote(saved.name, safe='')}", status_code=303)
