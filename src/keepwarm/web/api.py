"""The JSON API, /api/v1: clients, activities, touches, today's list and its actions, imports.

Every operation needs `Authorization: Bearer kw_...` (an API token from `keepwarm user token`
or the account page); a signed-in browser may also GET. The owner may do everything; staff read
clients, change the clients they look after, record touches (as themselves) and work their own
list; adding, deleting and importing are the owner's (the README's "Who may do what"). Errors
are JSON
`{"detail": ...}`: 401 no valid token, 403 not for your role, 404 no such record, 422 invalid
input (naming the field, or for a batch the item's index and field).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Body, Depends, File, Path, Query, Request, Security, UploadFile
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from keepwarm.domain.errors import InvalidInput, NotAllowed
from keepwarm.domain.model import Client, ImportKind, ImportReport, User
from keepwarm.services import clients as client_service
from keepwarm.services.actions import Dismiss, Done, Snooze, act, feed, put_away, reopen, undo
from keepwarm.services.activities import add_activities as add_activity_items
from keepwarm.services.clients import InvalidValues
from keepwarm.services.importing import ImportOptions, import_file, importing_as
from keepwarm.services.reminders import FollowUp, set_reminder
from keepwarm.services.staff import list_staff
from keepwarm.services.todays_list import ListedAction, listing
from keepwarm.services.touches import record_touch
from keepwarm.web.api_models import (
    ERRORS,
    NOT_FOUND,
    ActionOut,
    ActionResult,
    ActivitiesOut,
    ActivityIn,
    ActivityOut,
    ClientDetail,
    ClientFields,
    ClientId,
    ClientIn,
    ClientListOut,
    ClientOut,
    ClientPatch,
    ClientRef,
    ClientRowOut,
    DismissIn,
    DoneIn,
    ImportProblemOut,
    ImportReportOut,
    Problem,
    PutAwayOut,
    ReminderIn,
    ReminderOut,
    SignalOut,
    SnoozeIn,
    StepOut,
    TimelineOut,
    TodayOut,
    TouchIn,
    TouchOut,
    client_out,
)
from keepwarm.web.auth import (
    NOT_LINKED,
    api_user,
    business_today,
    check_may_change_client,
    clock,
    engine_of,
    only_the_owner,
)
from keepwarm.web.clients import path_client

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token: `keepwarm user token EMAIL` or the account page (kw_...).",
)


def caller(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> User:
    """The API caller (declares the bearer scheme in the OpenAPI document)."""
    return api_user(request)


def owner_caller(user: Annotated[User, Depends(caller)]) -> User:
    if not user.is_owner:
        raise NotAllowed("only the owner can do this")
    return user


def _owner_for(what: str) -> Callable[[User], User]:
    """A dependency: the caller if the owner, else 403 saying what only the owner can do
    (checked before the body is read or validated)."""

    def check(user: Annotated[User, Depends(caller)]) -> User:
        only_the_owner(user, what)
        return user

    return check


Caller = Annotated[User, Depends(caller)]
OwnerCaller = Annotated[User, Depends(owner_caller)]
Adder = Annotated[User, Depends(_owner_for("add clients"))]
Importer = Annotated[User, Depends(_owner_for("import files"))]
BulkAdder = Annotated[User, Depends(_owner_for("add activities in bulk"))]

router = APIRouter(
    prefix="/api/v1", responses=ERRORS, generate_unique_id_function=lambda route: route.name
)


# --- clients ----------------------------------------------------------------------------------

SortKey = StrEnum("SortKey", {name: name for name in client_service.SORTS})  # type: ignore[misc]
StatusName = StrEnum("StatusName", {name: name for name in client_service.STATUSES})  # type: ignore[misc]
SignalName = StrEnum("SignalName", {name: name for name in client_service.SIGNALS})  # type: ignore[misc]
ActionId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The action's number.")]
PathClientId = Annotated[ClientId, Path(description="The client's id (the business's own).")]


def _path_id(request: Request) -> str:
    """The client id as sent in the path: an id may hold "/" (sent as %2F) or "%"."""
    return path_client(request, "/api/v1/clients/", actions=())[0]


def _client(c: Client) -> ClientOut:
    return client_out(c)


def _as_text(value: object) -> str | None:
    """A field as the text a CSV import would read (the service parses it the same way)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def _values(body: ClientFields, *, only_sent: bool) -> dict[str, str | None]:
    data = body.model_dump(exclude_unset=only_sent, exclude_none=not only_sent)
    return {field: _as_text(value) for field, value in data.items()}


def _invalid(exc: InvalidValues) -> JSONResponse:
    detail = [
        {"loc": ["body", field], "msg": reason, "type": "invalid_value"}
        for field, reason in exc.errors.items()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


@router.get("/clients", tags=["clients"], response_model=ClientListOut)
def list_clients(
    request: Request,
    user: Caller,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Name or email (anywhere), the exact id, or a phone."),
    ] = None,
    signal: Annotated[SignalName | None, Query(description="An open action's signal.")] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    owner: Annotated[str | None, Query(max_length=200, description="A staff name.")] = None,
    status: StatusName | None = None,
    sort: SortKey = SortKey("name"),
    descending: bool = False,
    limit: Annotated[int, Query(ge=1, le=client_service.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> ClientListOut:
    """Search clients: every filter given must match. `sort` is name, last_activity,
    attention (when their silence becomes unusual) or value (lifetime value)."""
    for name, text in (("q", q), ("tag", tag), ("owner", owner)):
        if text and "\x00" in text:
            raise InvalidInput(f"{name}: must not contain NUL characters")
    rows, total = client_service.search_clients(
        engine_of(request),
        q,
        signal=signal.value if signal else None,
        tag=tag,
        owner=owner,
        status=status.value if status else None,
        sort=sort.value,
        descending=descending,
        limit=limit,
        offset=offset,
        now=clock(),
    )
    return ClientListOut(
        total=total,
        limit=limit,
        offset=offset,
        clients=[
            ClientRowOut(**{**vars(r), "tags": list(r.tags), "open_signals": list(r.open_signals)})
            for r in rows
        ],
    )


@router.post(
    "/clients", tags=["clients"], status_code=201, response_model=ClientOut, responses=NOT_FOUND
)
def create_client(request: Request, body: ClientIn, user: Adder) -> ClientOut | JSONResponse:
    """Add a client by hand (owner only). Values are read exactly as an import reads them."""
    values = _values(body, only_sent=False)
    if not (values.get("name") or "").strip():  # the name from its parts, as an import does
        parts = (values.get("first_name"), values.get("last_name"))
        values["name"] = " ".join(p.strip() for p in parts if p and p.strip()) or None
    try:
        client = client_service.create_client(
            engine_of(request),
            values,
            now=clock(),
            region=request.app.state.settings.region,
            actor=user.email,
        )
    except InvalidValues as exc:
        return _invalid(exc)
    return _client(client)


@router.get(
    "/clients/{client_id:path}", tags=["clients"], response_model=ClientDetail, responses=NOT_FOUND
)
def get_client(
    request: Request,
    client_id: PathClientId,
    user: Caller,
    history: Annotated[int, Query(ge=0, le=1000, description="Timeline entries.")] = 100,
) -> ClientDetail:
    """One client, with their activities and touches (newest first)."""
    client_id = _path_id(request)
    engine = engine_of(request)
    client = client_service.get_client(engine, client_id)
    timeline = client_service.client_timeline(engine, client_id, limit=history) if history else []
    numbers = client_service.numbers_of(engine, client_id)
    return ClientDetail(
        client=_client(client),
        yearly_value_cents=numbers.yearly_value_cents if numbers else None,
        at_risk_cents=numbers.at_risk_cents if numbers else None,
        p_alive=numbers.chance_active if numbers else None,
        timeline=[TimelineOut(**vars(e)) for e in timeline],
    )


@router.patch(
    "/clients/{client_id:path}", tags=["clients"], response_model=ClientOut, responses=NOT_FOUND
)
def update_client(
    request: Request, client_id: PathClientId, body: ClientPatch, user: Caller
) -> ClientOut | JSONResponse:
    """Change the fields sent; `null` clears one. Nothing changes on a bad value. Staff may
    change the clients they look after."""
    client_id = _path_id(request)
    looked_after_by = client_service.get_client(engine_of(request), client_id).owner
    check_may_change_client(user, looked_after_by)
    try:
        client = client_service.update_client(
            engine_of(request),
            client_id,
            _values(body, only_sent=True),
            now=clock(),
            region=request.app.state.settings.region,
            actor=user.email,
        )
    except InvalidValues as exc:
        return _invalid(exc)
    return _client(client)


@router.delete(
    "/clients/{client_id:path}",
    tags=["clients"],
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND,
)
def delete_client(request: Request, client_id: PathClientId, user: OwnerCaller) -> Response:
    """Delete a client with their activities, touches and actions (owner only)."""
    client_service.delete_client(
        engine_of(request), _path_id(request), actor=user.email, now=clock()
    )
    return Response(status_code=204)


# --- today's list and its actions -------------------------------------------------------------


def _action(a: ListedAction) -> ActionOut:
    return ActionOut(
        id=a.id,
        client=ClientRef(id=a.client_id, name=a.client_name),
        staff=a.staff,
        priority=round(a.priority, 3),
        rank=a.rank,
        why=a.why,
        signals=[SignalOut(code=s["code"], explanation=s["explanation"]) for s in a.signals],
        channel=a.channel,
        draft=a.draft,
        day=a.day,
    )


@router.get("/today", tags=["today"], response_model=TodayOut)
def today(
    request: Request,
    user: Caller,
    staff: Annotated[
        str | None, Query(max_length=200, description="Only this member's list (owner).")
    ] = None,
) -> TodayOut:
    """Whom to contact today, why and what to say: the same as `keepwarm today --format json`.
    Staff get their own list; the owner everyone's, or one member's with `staff`."""
    engine = engine_of(request)
    day = business_today(request)
    if user.is_owner:
        if staff and staff not in {s.name for s in list_staff(engine)}:
            raise InvalidInput(f"staff: no member of staff called {staff!r}")
        shown = listing(engine, day, staff or None)
    else:
        if staff and staff != user.staff:
            raise NotAllowed("staff see their own list only")
        if not user.staff:  # an old database's staff user linked to nobody has no list
            raise NotAllowed(NOT_LINKED)
        shown = listing(engine, day, user.staff)
    return TodayOut(
        as_of=day,
        planned=shown.planned,
        latest_plan=shown.latest,
        actions=[_action(a) for a in shown.actions],
        waiting=shown.waiting,
    )


ACTION_ERRORS = {**NOT_FOUND}


@router.post(
    "/actions/{action_id}/done",
    tags=["today"],
    response_model=ActionResult,
    responses=ACTION_ERRORS,
)
def action_done(request: Request, action_id: ActionId, body: DoneIn, user: Caller) -> ActionResult:
    """Mark an action done: records the touch (by the action's member of staff) and closes it."""
    follow_up = None
    if body.follow_up_on is not None or body.follow_up_note is not None:
        if body.follow_up_on is None or not (body.follow_up_note or "").strip():
            raise InvalidInput("follow_up_on: give both follow_up_on and follow_up_note")
        follow_up = FollowUp(body.follow_up_on, body.follow_up_note or "")
    step = Done(body.channel or None, body.outcome, body.note, follow_up)
    touch = act(
        engine_of(request), action_id, step, by=user, day=business_today(request), now=clock()
    )
    assert touch is not None  # Done always records one
    return ActionResult(id=action_id, status="done", touch=TouchOut(**vars(touch)))


@router.post(
    "/actions/{action_id}/snooze",
    tags=["today"],
    response_model=ActionResult,
    responses=ACTION_ERRORS,
)
def action_snooze(
    request: Request, action_id: ActionId, body: SnoozeIn, user: Caller
) -> ActionResult:
    """Put an action away until a later day, when the daily plan brings it back."""
    step = Snooze(body.until)
    act(engine_of(request), action_id, step, by=user, day=business_today(request), now=clock())
    return ActionResult(id=action_id, status="snoozed")


@router.post(
    "/actions/{action_id}/dismiss",
    tags=["today"],
    response_model=ActionResult,
    responses=ACTION_ERRORS,
)
def action_dismiss(
    request: Request, action_id: ActionId, body: DismissIn, user: Caller
) -> ActionResult:
    """Drop an action: it does not come back for the same reasons until they change."""
    step = Dismiss(body.reason)
    act(engine_of(request), action_id, step, by=user, day=business_today(request), now=clock())
    return ActionResult(id=action_id, status="dismissed")


@router.post(
    "/actions/{action_id}/undo",
    tags=["today"],
    response_model=ActionResult,
    responses=ACTION_ERRORS,
)
def action_undo(request: Request, action_id: ActionId, user: Caller) -> ActionResult:
    """Take back the last step on an action (done, snooze, dismiss) if nothing happened since:
    a done's touch is deleted; the action is open again."""
    undo(engine_of(request), action_id, by=user, now=clock())
    return ActionResult(id=action_id, status="open")


@router.post(
    "/actions/{action_id}/reopen",
    tags=["today"],
    response_model=ActionResult,
    responses=ACTION_ERRORS,
)
def action_reopen(request: Request, action_id: ActionId, user: Caller) -> ActionResult:
    """Put a snoozed or dismissed action back on its member's list today."""
    reopen(engine_of(request), action_id, by=user, now=clock())
    return ActionResult(id=action_id, status="open")


@router.get("/activity", tags=["today"], response_model=ActivityOut, responses=NOT_FOUND)
def activity(
    request: Request,
    user: Caller,
    staff: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ActivityOut:
    """Who did what, newest first: the owner everyone's (or one member's), staff their own."""
    whose = staff if user.is_owner else (user.staff or "")
    shown = feed(engine_of(request), staff=whose or None, limit=limit, offset=offset)
    return ActivityOut(
        total=shown.total,
        events=[
            StepOut(
                at=e.at,
                step=e.step,
                by=e.actor,
                for_staff=e.staff,
                on_behalf=e.on_behalf,
                client=ClientRef(id=e.client_id, name=e.client_name),
                action_id=e.action_id,
                reminder_id=e.reminder_id,
                details=dict(e.details),
                words=e.sentence,
            )
            for e in shown.events
        ],
    )


@router.get("/put-away", tags=["today"], response_model=list[PutAwayOut], responses=NOT_FOUND)
def put_away_list(
    request: Request, user: Caller, staff: Annotated[str | None, Query(max_length=200)] = None
) -> list[PutAwayOut]:
    """Snoozed and dismissed actions, the latest first: the owner everyone's (or one
    member's), staff their own; reopen one with POST /actions/{id}/reopen."""
    whose = staff if user.is_owner else (user.staff or "")
    return [
        PutAwayOut(
            id=p.id,
            client=ClientRef(id=p.client_id, name=p.client_name),
            staff=p.staff,
            status=p.status,
            until=p.until,
            reason=p.reason,
            by=p.actor,
            at=p.at,
        )
        for p in put_away(engine_of(request), whose)
    ]


@router.post(
    "/reminders", tags=["today"], status_code=201, response_model=ReminderOut, responses=NOT_FOUND
)
def add_reminder(request: Request, body: ReminderIn, user: Caller) -> ReminderOut:
    """Set a reminder: on its day the client is first on the member's list with the note."""
    r = set_reminder(
        engine_of(request),
        body.client_id,
        on=body.on,
        note=body.note,
        staff=body.staff,
        by=user,
        day=business_today(request),
        now=clock(),
    )
    client = ClientRef(id=r.client_id, name=r.client_name)
    return ReminderOut(
        id=r.id, client=client, staff=r.staff, on=r.on, note=r.note, set_by=r.set_by, state=r.state
    )


# --- touches ----------------------------------------------------------------------------------


@router.post(
    "/touches", tags=["touches"], status_code=201, response_model=TouchOut, responses=NOT_FOUND
)
def add_touch(request: Request, body: TouchIn, user: Caller) -> TouchOut:
    """Record a contact with a client; it closes the client's open actions like `keepwarm
    touch`. Staff record their own touches (`staff` is theirs or left out)."""
    staff = (body.staff or "").strip() or None
    if not user.is_owner:
        if staff and staff != user.staff:
            raise NotAllowed("staff record their own touches only")
        staff = user.staff
    day = business_today(request)
    if body.date > day:
        raise InvalidInput(f"date: {body.date} is in the future (today is {day})")
    touch = record_touch(
        engine_of(request),
        body.client_id,
        channel=body.channel,
        date=body.date,
        staff=staff,
        note=body.note,
        outcome=body.outcome,
        now=clock(),
    )
    return TouchOut(**vars(touch))


# --- activities -------------------------------------------------------------------------------


def _number(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


@router.post(
    "/activities",
    tags=["activities"],
    response_model=ActivitiesOut,
    responses={422: {"model": Problem, "description": "Nothing added: each bad item named."}},
)
def add_activities(
    request: Request,
    items: Annotated[list[ActivityIn], Body(max_length=10_000)],
    user: BulkAdder,
    dry_run: Annotated[bool, Query(description="Check everything, change nothing.")] = False,
) -> ActivitiesOut | JSONResponse:
    """Add visits, purchases or other activities, all or nothing, checked exactly like an
    import. Re-sending the same list adds nothing (items with an `id` update that activity).
    On a problem nothing is written and `detail` names each bad item's index and field.
    Owner only, as imports are."""
    rows = [
        {**item.model_dump(), "amount": _number(item.amount), "quantity": _number(item.quantity)}
        for item in items
    ]
    result = add_activity_items(
        engine_of(request),
        request.app.state.settings,
        rows,
        today=business_today(request),
        now=clock(),
        dry_run=dry_run,
        actor=user.email,
    )
    if not result.ok:
        detail = [
            {
                "loc": [
                    "body",
                    *([p.index] if p.index is not None else []),
                    *([p.field] if p.field else []),
                ],
                "msg": p.reason,
                "type": "invalid_activity",
            }
            for p in result.problems
        ]
        if result.problem_count > len(result.problems):
            more = result.problem_count - len(result.problems)
            detail.append({"loc": ["body"], "msg": f"and {more} more problems", "type": "more"})
        return JSONResponse({"detail": detail}, status_code=422)
    return ActivitiesOut(
        items=result.items, added=result.added, updated=result.updated, unchanged=result.unchanged
    )


# --- imports ----------------------------------------------------------------------------------

_CHUNK = 1024 * 1024


def _report(report: ImportReport) -> ImportReportOut:
    return ImportReportOut(
        ok=report.ok,
        kind=report.kind.value,
        filename=report.filename,
        dry_run=report.dry_run,
        rows=report.rows,
        added=report.added,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
        new_clients=report.new_clients,
        new_staff=list(report.new_staff),
        exact_repeats=report.exact_repeats,
        erased=report.erased,
        phones_as_written=report.phones_as_written,
        emails_as_written=report.emails_as_written,
        problem_count=report.problem_count,
        problems=[
            ImportProblemOut(line=p.line, column=p.field, reason=p.reason, code=p.code)
            for p in report.problems
        ],
        columns=dict(report.columns),
        ignored_columns=list(report.ignored_columns),
        notes=list(report.notes),
    )


@router.post(
    "/imports/{kind}",
    tags=["imports"],
    response_model=ImportReportOut,
    responses={413: {"model": Problem, "description": "The file is larger than the limit."}},
)
def import_upload(
    request: Request,
    kind: ImportKind,
    file: Annotated[UploadFile, File(description="The CSV export (any common encoding).")],
    user: Importer,
    dry_run: Annotated[bool, Query(description="Check everything, change nothing.")] = False,
    create_missing: Annotated[
        bool, Query(description="Create clients the file names but keepwarm does not know.")
    ] = False,
) -> ImportReportOut | JSONResponse:
    """Import a CSV export (clients, activities or touches), all or nothing, like `keepwarm
    import`. The report has `ok` and, when not ok, each problem's line, column and reason
    (then nothing changed). The file may be at most KEEPWARM_IMPORT_MAX_BYTES. Owner only."""
    settings = request.app.state.settings
    limit = settings.import_max_bytes
    name = (file.filename or "upload.csv").replace("\x00", "")[-200:]
    with tempfile.TemporaryDirectory(prefix="keepwarm-upload-") as folder:
        path = FilePath(folder) / "upload.csv"
        size = 0
        with path.open("wb") as out:
            while chunk := file.file.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    return JSONResponse(
                        {"detail": f"file: larger than the limit of {limit:,} bytes"},
                        status_code=413,
                    )
                out.write(chunk)
        report = import_file(
            engine_of(request),
            settings,
            kind,
            path,
            today=business_today(request),
            now=clock(),
            options=ImportOptions(
                dry_run=dry_run,
                create_missing=create_missing,
                as_staff=importing_as(user),
                actor=user.email,
            ),
            filename=name,
        )
    return _report(report)
