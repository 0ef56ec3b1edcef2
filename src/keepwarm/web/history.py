"""Who did what: the Activity feed, the Put away list (snoozed and dismissed actions, each
with Reopen), and reminders set or deleted from a client's page. The owner sees everyone's;
staff their own. Undo and Reopen themselves are POSTs next to Done (keepwarm.web.pages)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from keepwarm.domain.actions import ActionEvent
from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import User
from keepwarm.services.actions import Feed, client_history, feed, put_away
from keepwarm.services.reminders import client_reminders, delete_reminder, set_reminder
from keepwarm.services.staff import list_staff
from keepwarm.web import auth
from keepwarm.web.auth import CheckedForm, SignedIn, business_today, engine_of
from keepwarm.web.clients import client_path
from keepwarm.web.pages import SIGNAL_LABELS
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)

FEED_PAGE = 50


def _whose(user: User, staff: str) -> str | None:
    """Whose steps a page shows: staff their own; the owner everyone's, or one member's."""
    if not user.is_owner:
        return user.staff or ""
    return staff or None


@router.get("/activity")
def activity_page(
    request: Request, session: SignedIn, staff: str = "", page: str = "1"
) -> Response:
    user = session.user
    engine = engine_of(request)
    chosen = _whose(user, staff)
    number = int(page) if page.isdigit() and 0 < int(page) < 10**6 else 1
    team = [s.name for s in list_staff(engine)]
    if chosen and chosen not in team:
        raise InvalidInput(f"staff: no member of staff called {chosen!r}")
    offset = (number - 1) * FEED_PAGE
    if chosen == "":  # a staff user linked to no member of staff: no list, no steps
        shown = Feed([], 0, offset, FEED_PAGE)
    else:
        shown = feed(engine, staff=chosen, limit=FEED_PAGE, offset=offset)
    pages = max(1, math.ceil(shown.total / FEED_PAGE))

    def link(to: int) -> str:
        return "/activity?" + urlencode({k: v for k, v in (("staff", staff), ("page", to)) if v})

    context = {
        "events": shown.events,
        "total": shown.total,
        "page": number,
        "pages": pages,
        "prev_href": link(number - 1) if number > 1 else None,
        "next_href": link(number + 1) if number < pages else None,
        "team": team if user.is_owner else [],
        "chosen": chosen,
        "client_path": client_path,
    }
    return render(request, "activity.html", context)


@router.get("/put-away")
def put_away_page(request: Request, session: SignedIn, staff: str = "") -> Response:
    user = session.user
    engine = engine_of(request)
    chosen = _whose(user, staff)
    context = {
        "items": put_away(engine, chosen),
        "team": [s.name for s in list_staff(engine)] if user.is_owner else [],
        "chosen": chosen,
        "labels": SIGNAL_LABELS,
        "client_path": client_path,
    }
    return render(request, "put_away.html", context)


def _date(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field}: choose a date") from None


@router.post("/reminders")
def reminder_add(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    """Set a reminder from a client's page (staff for themselves; the owner for anyone)."""
    client_id = form.text("client_id")
    set_reminder(
        engine_of(request),
        client_id,
        on=_date(form.text("on"), "on"),
        note=form.text("note"),
        staff=form.text("staff") or None,
        by=session.user,
        day=business_today(request),
        now=auth.clock(),
    )
    url = f"/clients/{client_path(client_id)}?msg=reminder_set#reminders-h"
    return RedirectResponse(url, status_code=303)


@router.post("/reminders/{reminder_id}/delete")
def reminder_delete(
    request: Request, reminder_id: int, session: SignedIn, form: CheckedForm
) -> Response:
    gone = delete_reminder(engine_of(request), reminder_id, by=session.user, now=auth.clock())
    url = f"/clients/{client_path(gone.client_id)}?msg=reminder_deleted#reminders-h"
    return RedirectResponse(url, status_code=303)


# --- the client's page: its Reminders section and the steps in its Timeline -------------------


@dataclass(frozen=True)
class Step:
    """A step of the actions' history as a line of the client's timeline."""

    event: ActionEvent
    kind: str = "step"

    @property
    def date(self) -> dt.date:
        return self.event.at.date()


def client_page_context(
    engine: Engine, client_id: str, timeline: Sequence[Any], user: User | None, today: dt.date
) -> dict[str, Any]:
    """What the client page's Reminders and Timeline sections show: the reminders (pending
    ones can be deleted), whom a reminder may be for, and the timeline (activities and
    touches) with the steps on the client's actions merged in, newest first."""
    steps = [Step(e) for e in client_history(engine, client_id, limit=max(len(timeline), 40))]
    entries: list[Any] = sorted([*steps, *timeline], key=lambda e: e.date, reverse=True)
    team = [s.name for s in list_staff(engine) if s.active]
    return {
        "reminders": client_reminders(engine, client_id),
        "remind_for": team if user is not None and user.is_owner else [],
        "remind_default": (user.staff if user else None) or "",
        "entries": entries,
        "first_reminder_day": today,
    }
