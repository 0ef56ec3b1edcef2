"""The week view (/week) and the private calendar feeds (/calendar/<token>.ics).

The week view shows the signed-in member's next seven days (the owner: everyone's, or one
member's); the same items make the calendar feed a phone subscribes to. The feed's URL holds a
random token (stored as its SHA-256, keepwarm.services.calendar_feeds): anyone with it may read
the feed, so it is made and revoked from the week page, shown once, and never logged."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.model import User
from keepwarm.messaging.calendar import calendar_feed
from keepwarm.services import calendar_feeds
from keepwarm.services.staff import list_staff
from keepwarm.services.week import DAYS, calendar_items, week_items
from keepwarm.web.auth import CheckedForm, SignedIn, business_today, clock, engine_of
from keepwarm.web.render import render
from keepwarm.web.settings_pages import _hold_token, _take_token

router = APIRouter(include_in_schema=False)
FEED_DAYS = 14  # how far ahead the calendar feed looks


def _whose(user: User, asked: str | None) -> str | None:
    """Whose items: a staff user's own; the owner's choice (None: everyone)."""
    if not user.is_owner:
        return user.staff or ""
    return asked or None


def _held(session: object) -> SimpleNamespace:
    # the feed's URL waits for its one page apart from a new API token
    return SimpleNamespace(csrf="calendar:" + str(getattr(session, "csrf", "")))


@router.get("/week")
def week_page(
    request: Request, session: SignedIn, start: str | None = None, staff: str | None = None
) -> Response:
    engine = engine_of(request)
    today = business_today(request)
    try:
        first = dt.date.fromisoformat(start) if start else today
    except ValueError:
        raise InvalidInput(f"start: {start!r} is not a date like 2026-11-24") from None
    user = session.user
    team = [s.name for s in list_staff(engine)] if user.is_owner else []
    if staff and user.is_owner and staff not in team:
        raise InvalidInput(f"staff: there is no member of staff called {staff!r}")
    whose = _whose(user, staff)
    days = week_items(engine, first, today=today, staff_name=whose)
    token = _take_token(request, _held(session))
    base = str(request.base_url).rstrip("/")
    feed_url = f"{base}/calendar/{token}.ics" if token else ""
    context = {
        "days": days,
        "today": today,
        "start": first,
        "previous": first - dt.timedelta(days=DAYS),
        "next": first + dt.timedelta(days=DAYS),
        "team": team,
        "staff": staff if user.is_owner else None,
        "whose": whose,
        "feed_made": calendar_feeds.has_feed(engine, user.id),
        "feed_url": feed_url,
        "webcal_url": "webcal://" + feed_url.split("://", 1)[1] if feed_url else "",
    }
    return render(request, "week.html", context)


@router.post("/week/calendar")
def feed_create(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    token = calendar_feeds.create_feed(engine_of(request), session.user.id, now=clock())
    _hold_token(request, _held(session), token)
    return RedirectResponse("/week?msg=feed_created#subscribe", status_code=303)


@router.post("/week/calendar/revoke")
def feed_revoke(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    calendar_feeds.revoke_feed(engine_of(request), session.user.id)
    return RedirectResponse("/week?msg=feed_revoked#subscribe", status_code=303)


@router.get("/calendar/{name}")
def feed(request: Request, name: str) -> Response:
    """The feed, without signing in: the token in its name is the key. Unknown, revoked or
    malformed: 404, the same answer, so a guess learns nothing."""
    engine = engine_of(request)
    user = (
        calendar_feeds.feed_owner(engine, name.removesuffix(".ics"))
        if name.endswith(".ics")
        else None
    )
    if user is None:
        raise NotFound("no such calendar")
    whose = _whose(user, None) if user.is_owner and not user.staff else (user.staff or "")
    today = business_today(request)
    days = week_items(engine, today, today=today, staff_name=whose, days=FEED_DAYS)
    title = whose or "everyone"
    body = calendar_feed(
        title, calendar_items(days), now=clock(), host=request.url.hostname or "keepwarm"
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="keepwarm.ics"'},
    )
