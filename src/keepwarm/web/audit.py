"""The owner's audit log page: who did what, when, to which client (newest first, by pages),
filtered by action, person, client and dates, exported as CSV or JSON with the same filters.
Staff are refused (403)."""

from __future__ import annotations

import datetime as dt
import io
import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from keepwarm.domain.errors import InvalidInput
from keepwarm.services import audit
from keepwarm.services.users import Session
from keepwarm.web.auth import engine_of, only_the_owner, signed_in
from keepwarm.web.clients import client_path
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
PAGE = 50
EXPORT_LIMIT = 100_000


def _owner(session: Annotated[Session, Depends(signed_in)]) -> Session:
    only_the_owner(session.user, "see the audit log")
    return session


AuditOwner = Annotated[Session, Depends(_owner)]


def _day(text: str, field: str) -> dt.date | None:
    if not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{field}: a date like 2026-12-01, not {text!r}") from None


def _filter(request: Request, values: dict[str, str]) -> audit.AuditFilter:
    action = values["action"] or None
    if action is not None and action not in audit.ACTIONS:
        raise InvalidInput(f"action: one of {', '.join(audit.ACTIONS)}, not {action!r}")
    since, until = _day(values["since"], "from"), _day(values["until"], "to")
    client = values["client"].strip()
    return audit.AuditFilter(
        action=action,
        actor=values["actor"] or None,
        client_id=audit.client_key(engine_of(request), client) if client else None,
        since=dt.datetime.combine(since, dt.time(), dt.UTC) if since else None,
        until=dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        if until
        else None,
    )


def _values(action: str, actor: str, client: str, since: str, until: str) -> dict[str, str]:
    return {"action": action, "actor": actor, "client": client, "since": since, "until": until}


@router.get("/audit")
def audit_page(
    request: Request,
    session: AuditOwner,
    action: str = "",
    actor: str = "",
    client: str = "",
    since: str = "",
    until: str = "",
    page: str = "1",
) -> Response:
    """One page of the log with its filters and the exports of the filtered entries."""
    values = _values(action, actor, client, since, until)
    number = int(page) if page.isdigit() and 0 < int(page) < 10**6 else 1
    found = audit.page(
        engine_of(request), _filter(request, values), limit=PAGE, offset=(number - 1) * PAGE
    )
    pages = max(1, math.ceil(found.total / PAGE))
    query = {k: v for k, v in values.items() if v}

    def link(to: int) -> str:
        return "/audit?" + urlencode({**query, "page": to})

    context: dict[str, Any] = {
        "v": values,
        "found": found,
        "actions": audit.ACTIONS,
        "details_text": audit.details_text,
        "client_path": client_path,
        "page": number,
        "pages": pages,
        "prev_href": link(number - 1) if number > 1 else None,
        "next_href": link(number + 1) if number < pages else None,
        "export_query": urlencode(query),
    }
    return render(request, "audit.html", context, headers=NO_STORE)


def _exported(request: Request, values: dict[str, str]) -> list[audit.AuditEntry]:
    return audit.entries(engine_of(request), _filter(request, values), limit=EXPORT_LIMIT)


@router.get("/audit.csv")
def audit_csv(
    request: Request,
    session: AuditOwner,
    action: str = "",
    actor: str = "",
    client: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    """The filtered entries (all of them, newest first) as CSV."""
    buffer = io.StringIO()
    audit.write_csv(buffer, _exported(request, _values(action, actor, client, since, until)))
    headers = {**NO_STORE, "Content-Disposition": 'attachment; filename="keepwarm-audit.csv"'}
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/audit.json")
def audit_json(
    request: Request,
    session: AuditOwner,
    action: str = "",
    actor: str = "",
    client: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    """The filtered entries (all of them, newest first) as JSON."""
    found = _exported(request, _values(action, actor, client, since, until))
    return JSONResponse({"entries": [audit.as_json(e) for e in found]}, headers=NO_STORE)
