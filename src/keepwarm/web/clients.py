"""The Clients list (search, filters, sorting, pages) and the client page: details, edit
form, rhythm in words and as a small chart, timeline, open actions, logging a touch, delete."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from keepwarm import explain
from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.fields import CLIENT_FIELDS, DATE_KINDS, ClientField, FieldKind
from keepwarm.domain.model import PERSONAL_CHANNELS, Client
from keepwarm.services import clients as svc
from keepwarm.services.client_merge import merged_into
from keepwarm.services.contact_flags import client_flags, describe
from keepwarm.services.database import one_read
from keepwarm.services.policy import get_policy
from keepwarm.services.segments import client_standing
from keepwarm.services.staff import list_staff
from keepwarm.services.touches import record_touch
from keepwarm.web import auth
from keepwarm.web.audience_pages import audience_context
from keepwarm.web.auth import CheckedForm, SignedIn, business_today, engine_of
from keepwarm.web.consent_pages import consent_context, record_consent
from keepwarm.web.households import household_context
from keepwarm.web.pages import OUTCOMES, SIGNAL_LABELS
from keepwarm.web.render import render


def client_path(client_id: str) -> str:
    """A client id as one segment of a URL path: every reserved character escaped, "/" too."""
    return quote(client_id, safe="")


router = APIRouter(include_in_schema=False)

PAGE = 50
LABELS = SIGNAL_LABELS
COLUMNS = (  # sortable columns: (sort key, heading, the first click's direction)
    ("name", "Name", "asc"),
    ("last_activity", "Last activity", "desc"),
    ("attention", "Attention from", "asc"),
    ("value", "Value", "desc"),
)
# The Edit form: the register's editable fields (keepwarm.domain.fields), in its order.
FORM_FIELDS = tuple(f for f in CLIENT_FIELDS if f.editable)
INPUT_TYPES = {FieldKind.EMAIL: "email", FieldKind.PHONE: "tel", FieldKind.DATE: "date"}
INPUT_TYPES[FieldKind.BIRTHDAY] = "date"
# Fields the client page shows elsewhere than among the contact facts (heading, notes...).
SHOWN_APART = (
    "id",
    "name",
    "first_name",
    "last_name",
    "status",
    "do_not_contact",
    "notes",
    "household",
)
CHART_DAYS = 730


def money(cents: int | None, symbol: str) -> str:
    """An amount as every surface writes it (keepwarm.explain.money); – for none."""
    return "–" if cents is None else explain.money(cents, symbol)


# --- the list ---------------------------------------------------------------------------------


@router.get("/clients")
def clients_page(
    request: Request,
    session: SignedIn,
    q: str = "",
    signal: str = "",
    tag: str = "",
    owner: str = "",
    status: str = "",
    flagged: str = "",
    sort: str = "name",
    dir: str = "",
    page: str = "1",
) -> Response:
    engine = engine_of(request)
    column = next((c for c in COLUMNS if c[0] == sort), None)
    if column is None:
        raise InvalidInput(f"sort: {sort!r} is not one of {', '.join(c[0] for c in COLUMNS)}")
    direction = dir if dir in ("asc", "desc") else column[2]
    number = int(page) if page.isdigit() and 0 < int(page) < 10**7 else 1
    filters = {"q": q.strip(), "signal": signal, "tag": tag.strip(), "owner": owner}
    filters["status"] = status
    filters["flagged"] = "yes" if flagged else ""
    rows, total = svc.search_clients(
        engine,
        filters["q"] or None,
        signal=signal or None,
        tag=filters["tag"] or None,
        owner=owner or None,
        status=status or None,
        flagged=bool(flagged),
        sort=sort,
        descending=direction == "desc",
        limit=PAGE,
        offset=(number - 1) * PAGE,
        now=auth.clock(),
    )
    pages = max(1, math.ceil(total / PAGE))
    kept = {k: v for k, v in filters.items() if v}

    def link(**changes: Any) -> str:
        params = {**kept, "sort": sort, "dir": direction, "page": number, **changes}
        if params["page"] == 1:
            params.pop("page")
        return "/clients?" + urlencode(params)

    headers: list[dict[str, str | None]] = []
    for key, heading, first in COLUMNS:
        active = key == sort
        flip = ("desc" if direction == "asc" else "asc") if active else first
        aria = ("ascending" if direction == "asc" else "descending") if active else None
        arrow = ("▲" if direction == "asc" else "▼") if active else ""
        href = link(sort=key, dir=flip, page=1)
        headers.append({"key": key, "heading": heading, "href": href, "aria": aria, "arrow": arrow})
    first_shown = (number - 1) * PAGE + 1 if rows else 0
    context = {
        "rows": rows,
        "total": total,
        "first_shown": first_shown,
        "last_shown": first_shown + len(rows) - 1 if rows else 0,
        "page": number,
        "pages": pages,
        "prev_href": link(page=number - 1) if number > 1 else None,
        "next_href": link(page=number + 1) if number < pages else None,
        "headers": headers,
        "filters": filters,
        "sort": sort,
        "direction": direction,
        "filtered": any(filters.values()),
        "team": [s.name for s in list_staff(engine)],
        "signals": [(code, LABELS.get(code, code)) for code in svc.SIGNALS],
        "statuses": svc.STATUSES,
        "labels": LABELS,
        "symbol": get_policy(engine).currency_symbol,
        "money": money,
        **audience_context(request),  # last visit, tier, segment, saved filters
    }
    return render(request, "clients.html", context)


# --- one client -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """The visits chart: ticks on a time axis, the usual gap and the current silence."""

    width: int
    height: int
    axis_y: int
    start: dt.date
    end: dt.date
    ticks: list[float]
    years: list[tuple[float, str]]
    gap: tuple[float, float] | None  # the usual gap after the last visit
    silence: tuple[float, float] | None  # the current silence (last visit to today)
    overdue: bool
    visits: int
    last: dt.date | None
    usual_gap_days: float | None
    days_silent: int | None
    summary: str


def chart_for(
    dates: list[dt.date], today: dt.date, last: dt.date | None, usual_gap: float | None
) -> Chart:
    width, height, left, right = 600, 70, 10, 590
    start = today - dt.timedelta(days=CHART_DAYS)

    def x(day: dt.date) -> float:
        share = (min(max(day, start), today) - start).days / CHART_DAYS
        return round(left + share * (right - left), 1)

    years = [
        (x(dt.date(year, 1, 1)), str(year))
        for year in range(start.year + 1, today.year + 1)
        if dt.date(year, 1, 1) > start
    ]
    silent = (today - last).days if last else None
    gap = silence = None
    overdue = False
    if last is not None and last >= start:
        silence = (x(last), x(today))
        if usual_gap:
            gap = (x(last), x(last + dt.timedelta(days=round(usual_gap))))
            overdue = silent is not None and silent > usual_gap
    elif last is not None:  # silent for longer than the chart shows
        silence = (x(start), x(today))
        overdue = bool(usual_gap)
    parts = [f"{len(dates)} visits in the last two years"]
    if usual_gap:
        parts.append(f"usually every {_days(usual_gap)}")
    if silent is not None:
        parts.append(f"last visit {last:%-d %b %Y}, {_days(silent)} ago")
        if overdue:
            parts.append("longer than usual")
    return Chart(
        width,
        height,
        44,
        start,
        today,
        [x(d) for d in dates],
        years,
        gap,
        silence,
        overdue,
        len(dates),
        last,
        usual_gap,
        silent,
        "; ".join(parts) + ".",
    )


def _days(value: float) -> str:
    whole = round(value)
    return "1 day" if whole == 1 else f"{whole} days"


def _form_text(f: ClientField, value: Any) -> str:
    """A field's value as its form input holds it ("" for none; a ticked box is "yes")."""
    if f.kind is FieldKind.TAGS:
        return "; ".join(value)
    if f.kind is FieldKind.FLAG:
        return "yes" if value else ""
    if value is None:
        return ""
    return value.isoformat() if f.kind in DATE_KINDS else str(value)


def _form_values(client: Client) -> dict[str, str]:
    return {f.name: _form_text(f, getattr(client, f.name)) for f in FORM_FIELDS}


@dataclass(frozen=True)
class Fact:
    """One line of the client's contact facts: a label and its value (a link, or tags)."""

    name: str
    label: str
    text: str
    href: str | None = None
    tags: tuple[str, ...] = ()


def _facts(client: Client) -> list[Fact]:
    """The client's fields for the page's Contact list; a date only when there is one."""
    out = []
    for f in CLIENT_FIELDS:
        value = getattr(client, f.name)
        if f.name in SHOWN_APART or (f.kind in DATE_KINDS and value is None):
            continue
        if f.kind in DATE_KINDS:
            text = f"{value:%-d %B}" if f.kind is FieldKind.BIRTHDAY else value.isoformat()
        elif f.kind is FieldKind.FLAG:
            text = "yes" if value else "no"
        elif f.kind is FieldKind.STAFF:
            text = value or "unassigned"
        elif f.kind is FieldKind.TAGS:
            text = "" if value else "–"  # the tags themselves are shown as pills
        else:
            text = value or "–"
        href = None
        if value and f.kind is FieldKind.EMAIL:
            href = f"mailto:{quote(value)}"
        elif value and f.kind is FieldKind.PHONE:
            href = f"tel:{value}"
        tags = value if f.kind is FieldKind.TAGS else ()
        out.append(Fact(f.name, f.label, str(text), href, tags))
    return out


HISTORY_FIRST = 40  # timeline entries shown at first
HISTORY_ALL = 2000  # "the whole history"


def _client_page(
    request: Request,
    client_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    whole_history: bool = False,
) -> Response:
    # everything the page shows comes from one read transaction (one state, one BEGIN)
    with one_read(engine_of(request)):
        return _client_page_read(
            request, client_id, values, errors, status_code, whole_history=whole_history
        )


def _client_page_read(
    request: Request,
    client_id: str,
    values: dict[str, str] | None,
    errors: dict[str, str] | None,
    status_code: int,
    *,
    whole_history: bool,
) -> Response:
    # the latest entries first; the whole history on request (a long one is slow to show)
    shown = HISTORY_ALL if whole_history else HISTORY_FIRST
    view = svc.client_view(
        engine_of(request), client_id, now=auth.clock(), chart_days=CHART_DAYS, timeline=shown + 1
    )
    client, today, rhythm = view.client, view.today, view.rhythm
    timeline, more = view.timeline[:shown], len(view.timeline) > shown
    dates = view.chart_dates
    last = max((e.date for e in timeline if e.kind == "activity"), default=None)
    if last is None and rhythm is not None:
        last = rhythm.last_activity
    usual_gap = rhythm.usual_gap_days if rhythm else None
    session = auth.current_session(request)
    user = session.user if session else None
    symbol = view.symbol
    numbers = view.numbers
    context: dict[str, Any] = {
        "client": client,
        "rhythm": rhythm,
        "rhythm_words": explain.rhythm_words(rhythm, symbol) if rhythm else "",
        "numbers": numbers,
        "worth": money(numbers.yearly_value_cents, symbol) if numbers else "",
        "at_risk": explain.at_risk(numbers.at_risk_cents, symbol) if numbers else "",
        "chance": explain.percent(numbers.chance_active) if numbers else "",
        "chart": chart_for(dates, today, last, usual_gap),
        "timeline": timeline,
        "more_history": more,
        "actions": view.actions,
        "team": view.team,
        "statuses": svc.STATUSES,
        "values": values or _form_values(client),
        "form_fields": FORM_FIELDS,
        "input_types": INPUT_TYPES,
        "facts": _facts(client),
        "kept_as_written": [describe(f) for f in client_flags(engine_of(request), client_id)],
        "errors": errors or {},
        "channels": PERSONAL_CHANNELS,
        "outcomes": OUTCOMES,
        "labels": LABELS,
        "today": today,
        "symbol": symbol,
        "money": money,
        "is_owner": bool(user and user.is_owner),
        "may_edit": bool(user and auth.may_change_client(user, client.owner)),
        "my_staff": user.staff if user else None,
        "days": _days,
    }
    # the Reminders section and the steps on the client's actions in the Timeline
    from keepwarm.web.history import client_page_context  # it links back to client pages

    context |= client_page_context(engine_of(request), client_id, timeline, user, today)
    context |= consent_context(request, client_id, user)  # Contact preferences
    context |= household_context(request, client_id, user)  # the household and its members
    context["standing"] = client_standing(engine_of(request), client.id)  # tier and segment
    from keepwarm.services.feedback import client_answers
    from keepwarm.web.outbox_pages import client_messages  # the Messages section

    context["messages"] = client_messages(request, user, client_id) if user else []
    context["feedback"] = client_answers(engine_of(request), client_id)  # Feedback section
    return render(request, "client.html", context, status_code=status_code)


def _client_url(client_id: str, msg: str | None = None) -> str:
    url = "/clients/" + client_path(client_id)
    return url + (f"?msg={msg}" if msg else "")


@router.get("/clients/{client_id:path}")  # also an id typed with its "/" unescaped
def client_page(
    request: Request, client_id: str, session: SignedIn, history: str | None = None
) -> Response:
    client_id, _ = path_client(request, actions=())  # the id as sent (it may hold "%2F")
    if not client_id:  # /clients/
        return RedirectResponse("/clients", status_code=307)
    kept = merged_into(engine_of(request), client_id)
    if kept is not None:  # a client merged into another: their page is the kept client's
        return RedirectResponse(_client_url(kept), status_code=307)
    return _client_page(request, client_id, whole_history=history == "all")


def path_client(
    request: Request,
    prefix: str = "/clients/",
    actions: tuple[str, ...] = ("touches", "delete", "consent"),
) -> tuple[str, str]:
    """(client id, "touches" | "delete" | "") of a POST to /clients/..., read from the path as
    sent: the id may hold "/" (sent as %2F), so `/clients/A%2Fdelete` edits client "A/delete"
    while `/clients/A/delete` deletes client "A" (the decoded paths are the same)."""
    raw = request.scope.get("raw_path")
    root = request.scope.get("root_path", "").encode()
    start = root + prefix.encode()
    if not isinstance(raw, bytes) or not raw.startswith(start):
        raise InvalidInput("the client's address could not be read")
    parts = raw[len(start) :].decode("utf-8", "replace").split("/")
    action = parts.pop() if len(parts) > 1 and parts[-1] in actions else ""
    return unquote("/".join(parts)), action


# Each POST route below reads its client and its action from the path as sent (_posted_to),
# and hands a request meant for another on to it: the routes cannot tell them apart.
@router.post("/clients/{client_id:path}/touches")
def client_touch(
    request: Request, client_id: str, session: SignedIn, form: CheckedForm
) -> Response:
    client_id, action = path_client(request)
    if action != "touches":
        return POSTS[action](request, client_id, session, form)
    return _touch(request, client_id, session, form)


@router.post("/clients/{client_id:path}/delete")
def client_delete(
    request: Request, client_id: str, session: SignedIn, form: CheckedForm
) -> Response:
    client_id, action = path_client(request)
    if action != "delete":
        return POSTS[action](request, client_id, session, form)
    return _delete(request, client_id, session, form)


@router.post("/clients/{client_id:path}/consent")
def client_consent(
    request: Request, client_id: str, session: SignedIn, form: CheckedForm
) -> Response:
    client_id, action = path_client(request)
    if action != "consent":
        return POSTS[action](request, client_id, session, form)
    return record_consent(request, client_id, session, form)


@router.post("/clients/{client_id:path}")
def client_edit(request: Request, client_id: str, session: SignedIn, form: CheckedForm) -> Response:
    client_id, action = path_client(request)
    if action:
        return POSTS[action](request, client_id, session, form)
    return _edit(request, client_id, session, form)


def _edit(request: Request, client_id: str, session: SignedIn, form: CheckedForm) -> Response:
    auth.check_may_change_client(session.user, svc.get_client(engine_of(request), client_id).owner)
    ticked = {f.name: bool(form.text(f.name)) for f in FORM_FIELDS if f.kind is FieldKind.FLAG}
    values = {f.name: form.text(f.name) for f in FORM_FIELDS if f.name not in ticked}
    values |= {name: "yes" if on else "no" for name, on in ticked.items()}
    try:
        svc.update_client(
            engine_of(request),
            client_id,
            values,
            now=auth.clock(),
            region=request.app.state.settings.region,
            actor=session.user.email,
        )
    except svc.InvalidValues as exc:
        shown = values | {name: "yes" if on else "" for name, on in ticked.items()}
        return _client_page(request, client_id, values=shown, errors=exc.errors, status_code=400)
    return RedirectResponse(_client_url(client_id, "saved"), status_code=303)


def _touch(request: Request, client_id: str, session: SignedIn, form: CheckedForm) -> Response:
    user = session.user
    staff = form.text("staff") if user.is_owner else user.staff
    today = business_today(request)
    try:
        day = dt.date.fromisoformat(form.text("date")) if form.text("date") else today
    except ValueError:
        raise InvalidInput("date: choose a date") from None
    if day > today:
        raise InvalidInput("date: a touch cannot be in the future")
    record_touch(
        engine_of(request),
        client_id,
        channel=form.text("channel") or "call",
        date=day,
        staff=staff or None,
        note=form.text("note") or None,
        outcome=form.text("outcome") or None,
        now=auth.clock(),
    )
    return RedirectResponse(_client_url(client_id, "touch"), status_code=303)


def _delete(request: Request, client_id: str, session: SignedIn, form: CheckedForm) -> Response:
    auth.only_the_owner(session.user, "delete a client")
    if form.text("confirm") != "yes":
        raise InvalidInput("tick the box to confirm that the client and their history go")
    svc.delete_client(engine_of(request), client_id, actor=session.user.email, now=auth.clock())
    return RedirectResponse("/clients?msg=deleted", status_code=303)


POSTS = {"": _edit, "touches": _touch, "delete": _delete, "consent": record_consent}
