"""The JSON API's request and response bodies (pydantic), with the examples the OpenAPI
document shows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    create_model,
)
from pydantic import Strict as StrictMode

from keepwarm.domain.fields import CLIENT_FIELDS, DATE_KINDS, ClientField, Example, FieldKind
from keepwarm.domain.model import Client, ProblemCode


def _plain_text(value: str) -> str:
    """Text a database can keep: no NUL characters, no lone surrogates (valid UTF-8)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Text = Annotated[str, Field(max_length=10_000), AfterValidator(_plain_text)]
Short = Annotated[str, Field(max_length=200), AfterValidator(_plain_text)]
ClientId = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_plain_text)]

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    """A date as the OpenAPI document says: a string, YYYY-MM-DD. Pydantic alone would also
    read a number (or a string of digits) as seconds since 1970, and a datetime string."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_day)]
StrictBool = Annotated[bool, StrictMode()]  # true or false, not "yes", 1 or "true"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors -----------------------------------------------------------------------------------


class Problem(BaseModel):
    """An error: `detail` says why (for invalid fields, a list naming each field)."""

    detail: str | list[dict[str, Any]]

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"detail": "no client with id 'C-9999'"}]}
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid API token (or session)."},
    403: {"model": Problem, "description": "Your role may not do this."},
    422: {"model": Problem, "description": "Invalid input: `detail` names the fields."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such record."}
}


# --- today and actions ------------------------------------------------------------------------


class ClientRef(BaseModel):
    id: str
    name: str


class SignalOut(BaseModel):
    code: str
    explanation: str


class ActionOut(BaseModel):
    id: int
    client: ClientRef
    staff: str | None
    priority: float
    rank: int
    why: str
    signals: list[SignalOut]
    channel: str
    draft: str
    day: dt.date = Field(
        description="The day the action was first planned (earlier ones carry over)."
    )


class TodayOut(BaseModel):
    """The same contract as `keepwarm today --format json`, plus whether the day is planned."""

    as_of: dt.date
    planned: bool
    latest_plan: dt.date | None = Field(description="The latest day planned.")
    actions: list[ActionOut]
    waiting: dict[str, int] = Field(
        description="Actions waiting for a place (they did not fit the member's daily "
        "capacity), by member of staff ('Unassigned' for none)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-11-24",
                    "planned": True,
                    "actions": [
                        {
                            "id": 12,
                            "client": {"id": "C-1042", "name": "Maria Lopez"},
                            "staff": "Dana Reyes",
                            "priority": 0.82,
                            "rank": 1,
                            "why": "Has not been in for 94 days; she usually comes every 30.",
                            "signals": [
                                {
                                    "code": "lapsing",
                                    "explanation": "last visit 94 days ago, usually every 30",
                                }
                            ],
                            "channel": "call",
                            "draft": "Hi Maria, it has been a while...",
                            "day": "2026-11-24",
                        }
                    ],
                    "latest_plan": "2026-11-24",
                    "waiting": {"Dana Reyes": 3},
                }
            ]
        }
    )


class DoneIn(Strict):
    channel: Short | None = Field(None, description="How contact was made; default suggested.")
    outcome: Short | None = None
    note: Text | None = None
    follow_up_on: IsoDate | None = Field(
        None, description="Set a reminder for the action's member on this day (with the note)."
    )
    follow_up_note: Annotated[str, Field(max_length=2000), AfterValidator(_plain_text)] | None = (
        None
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"channel": "call", "outcome": "reached", "note": "Booked Tuesday"}]
        },
    )


class SnoozeIn(Strict):
    until: IsoDate = Field(description="The day the action comes back (after today).")

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"until": "2026-12-01"}]}
    )


class DismissIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_plain_text)]

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Moved away"}]}
    )


class ActionResult(BaseModel):
    id: int
    status: str
    touch: TouchOut | None = None


# --- who did what, and reminders ----------------------------------------------------------------


class StepOut(BaseModel):
    """One step in the history: who clicked (`by`: a user, or "command line") and whose list
    and quota it counts for (`for_staff`)."""

    at: dt.datetime
    step: str = Field(
        description="done, snoozed, dismissed, undone, reopened, reminder_set, reminder_deleted"
    )
    by: str
    for_staff: str | None
    on_behalf: bool
    client: ClientRef
    action_id: int | None
    reminder_id: int | None
    details: dict[str, str]
    words: str


class ActivityOut(BaseModel):
    total: int
    events: list[StepOut]


class PutAwayOut(BaseModel):
    """A snoozed or dismissed action, with who put it away, when and why."""

    id: int
    client: ClientRef
    staff: str | None
    status: str
    until: dt.date | None
    reason: str | None
    by: str
    at: dt.datetime


class ReminderIn(Strict):
    client_id: ClientId
    on: IsoDate = Field(description="The day to be reminded: today or later.")
    note: Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_plain_text)]
    staff: Short | None = Field(None, description="Whose list; staff users: themselves.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"client_id": "C042", "on": "2026-12-08", "note": "call about the glasses"}
            ]
        },
    )


class ReminderOut(BaseModel):
    id: int
    client: ClientRef
    staff: str | None
    on: dt.date
    note: str
    set_by: str
    state: str


# --- touches ----------------------------------------------------------------------------------


class TouchIn(Strict):
    client_id: ClientId
    date: IsoDate
    channel: Short
    staff: Short | None = Field(None, description="Who made contact; staff users: themselves.")
    note: Text | None = None
    outcome: Short | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "client_id": "C-1042",
                    "date": "2026-11-24",
                    "channel": "call",
                    "staff": "Dana Reyes",
                    "note": "Booked for Tuesday",
                    "outcome": "reached",
                }
            ]
        },
    )


class TouchOut(BaseModel):
    client_id: str
    date: dt.date
    channel: str
    staff: str | None
    note: str | None
    outcome: str | None


ActionResult.model_rebuild()


# --- activities -------------------------------------------------------------------------------


class ActivityIn(Strict):
    client_id: ClientId
    date: IsoDate
    amount: (
        Annotated[Decimal, Field(allow_inf_nan=False, max_digits=15, decimal_places=2)] | None
    ) = None
    kind: Short | None = None
    note: Text | None = None
    quantity: Annotated[Decimal, Field(allow_inf_nan=False, max_digits=12)] | None = None
    id: Short | None = Field(None, description="Your own id for it (then re-sending updates).")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "client_id": "C-1042",
                    "date": "2026-11-20",
                    "amount": "85.00",
                    "kind": "visit",
                    "note": "Cut and colour",
                    "id": "INV-20931",
                }
            ]
        },
    )


class ActivitiesOut(BaseModel):
    items: int
    added: int
    updated: int
    unchanged: int

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": 2, "added": 2, "updated": 0, "unchanged": 0}]}
    )


# --- imports ----------------------------------------------------------------------------------


class ImportProblemOut(BaseModel):
    line: int | None
    column: str | None
    reason: str
    code: ProblemCode = Field(description="What kind of problem: stable, unlike `reason`.")


class ImportReportOut(BaseModel):
    ok: bool
    kind: str
    filename: str
    dry_run: bool
    rows: int
    added: int
    updated: int
    unchanged: int
    rejected: int = Field(description="Rows with at least one problem.")
    new_clients: int
    new_staff: list[str]
    exact_repeats: int = Field(
        0, description="Rows repeating an earlier row exactly, id and all: counted once."
    )
    erased: int = Field(
        0,
        description="Rows of erased clients, skipped (not restored, not counted as unchanged); "
        "each is named in notes.",
    )
    phones_as_written: int = Field(
        0, description="Phones that are not usable, kept as written and flagged on the client."
    )
    emails_as_written: int = Field(
        0, description="Emails that are not usable, kept as written and flagged on the client."
    )
    problem_count: int
    problems: list[ImportProblemOut]
    columns: dict[str, str]
    ignored_columns: list[str]
    notes: list[str]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": False,
                    "kind": "activities",
                    "filename": "visits.csv",
                    "dry_run": False,
                    "rows": 3,
                    "added": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "rejected": 1,
                    "new_clients": 0,
                    "new_staff": [],
                    "problem_count": 1,
                    "problems": [
                        {
                            "line": 3,
                            "column": "date",
                            "reason": "'31/02/2026' is not a real date",
                            "code": "invalid_value",
                        }
                    ],
                    "columns": {"client_id": "Customer", "date": "Date"},
                    "ignored_columns": [],
                    "notes": [],
                }
            ]
        }
    )


# --- clients ----------------------------------------------------------------------------------


def _tag(value: str) -> str:
    if ";" in value:
        raise ValueError("a tag cannot contain ';'")
    return value


Tag = Annotated[str, Field(max_length=100), AfterValidator(_plain_text), AfterValidator(_tag)]
ClientStatusName = Literal["active", "prospect", "cancelled"]


def _example(value: Example) -> JsonValue:
    return list(value) if isinstance(value, tuple) else value


_CLIENT_EXAMPLE: dict[str, JsonValue] = {f.name: _example(f.example) for f in CLIENT_FIELDS}


def _text_type(f: ClientField) -> Any:
    return Annotated[str, Field(max_length=f.max_length or 10_000), AfterValidator(_plain_text)]


def _input_type(f: ClientField) -> Any:
    """What the API accepts for a field: text is read exactly as a CSV import reads it."""
    if f.kind in DATE_KINDS:
        return IsoDate
    if f.kind is FieldKind.TAGS:
        return Annotated[list[Tag], Field(max_length=50)]
    if f.kind is FieldKind.STATUS:
        return ClientStatusName
    if f.kind is FieldKind.FLAG:
        return StrictBool
    return _text_type(f)


def _output_type(f: ClientField) -> Any:
    value: Any = {
        FieldKind.TAGS: list[str],
        FieldKind.FLAG: bool,
        FieldKind.DATE: dt.date,
        FieldKind.BIRTHDAY: dt.date,
    }.get(f.kind, str)
    return value | None if f.optional else value


def _field_info(f: ClientField, default: Any) -> Any:
    return Field(default, description=f.help or None)


_INPUTS = {
    f.name: (_input_type(f) | None, _field_info(f, None))
    for f in CLIENT_FIELDS
    if f.kind is not FieldKind.ID
}


class _ClientOutBase(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CLIENT_EXAMPLE]})


# The client models' fields come from the register (keepwarm.domain.fields). mypy cannot see
# fields made at run time, so it checks these as their base classes.
if TYPE_CHECKING:
    ClientFields = Strict
    ClientOut = _ClientOutBase
else:
    ClientFields = create_model(
        "ClientFields",
        __base__=Strict,
        __doc__="A client's fields as given: text is read exactly as a CSV import reads it "
        "(phones in the configured region, emails checked, names split or joined).",
        **_INPUTS,
    )
    ClientOut = create_model(
        "ClientOut",
        __base__=_ClientOutBase,
        **{f.name: (_output_type(f), _field_info(f, ...)) for f in CLIENT_FIELDS},
    )


class ClientIn(ClientFields):
    """A new client: a name (or first and last name) is required; `id` is made up if left out."""

    id: ClientId | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{k: v for k, v in _CLIENT_EXAMPLE.items() if v is not None}]
        },
    )


class ClientPatch(ClientFields):
    """Only the fields sent change; `null` clears a field."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"phone": "+15035550199", "tags": ["vip"]}]},
    )


# How a client's values are written in JSON (a status as its name, tags as a list).
_OUT: dict[FieldKind, Callable[[Any], Any]] = {
    FieldKind.TAGS: list,
    FieldKind.STATUS: str,
    FieldKind.FLAG: bool,
}


def client_out(c: Client) -> ClientOut:
    """The API's view of a client, field by field of the register."""
    return ClientOut(**{f.name: _OUT.get(f.kind, _same)(getattr(c, f.name)) for f in CLIENT_FIELDS})


def _same(value: Any) -> Any:
    return value


class TimelineOut(BaseModel):
    date: dt.date
    kind: Literal["activity", "touch"]
    activity_kind: str | None = None
    amount_cents: int | None = None
    quantity: float | None = None
    channel: str | None = None
    staff: str | None = None
    note: str | None = None
    outcome: str | None = None
    personal: bool = False


class ClientDetail(BaseModel):
    client: ClientOut
    yearly_value_cents: int | None = Field(
        None, description="What they are worth a year (twelve months of their monthly value)."
    )
    at_risk_cents: int | None = Field(
        None, description="Money at risk a month if they have gone (monthly value x (1 - p_alive))."
    )
    p_alive: float | None = Field(None, description="The chance they are still active (0-1).")
    timeline: list[TimelineOut] = Field(description="Activities and touches, newest first.")


class ClientRowOut(BaseModel):
    id: str
    name: str
    email: str | None
    phone: str | None
    status: str
    owner: str | None
    tags: list[str]
    last_activity: dt.date | None
    p_alive: float | None = Field(
        description="The chance they are still an active client (0-1), as shown everywhere."
    )
    usual_gap_days: float | None
    yearly_value_cents: int | None = Field(
        None, description="What they are worth a year (twelve months of their monthly value)."
    )
    at_risk_cents: int | None = Field(
        None, description="Money at risk a month if they have gone (monthly value x (1 - p_alive))."
    )
    clv_cents: int | None = Field(
        description="The expected value of the next 12 months, discounted, in cents."
    )
    open_signals: list[str]


class ClientListOut(BaseModel):
    total: int
    limit: int
    offset: int
    clients: list[ClientRowOut]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                    "clients": [
                        {
                            "id": "C-1042",
                            "name": "Maria Lopez",
                            "email": "maria@example.com",
                            "phone": "+15035550101",
                            "status": "active",
                            "owner": "Dana Reyes",
                            "tags": ["vip"],
                            "last_activity": "2026-08-22",
                            "p_alive": 0.41,
                            "usual_gap_days": 30.5,
                            "yearly_value_cents": 204000,
                            "at_risk_cents": 10030,
                            "clv_cents": 182000,
                            "open_signals": ["lapsing"],
                        }
                    ],
                }
            ]
        }
    )
