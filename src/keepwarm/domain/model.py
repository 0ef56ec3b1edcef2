"""Plain value types shared by every layer. No database, no I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

# A client's fields are declared once, in keepwarm.domain.fields (the register).
from keepwarm.domain.fields import Client as Client
from keepwarm.domain.fields import ClientStatus as ClientStatus


class SignalCode(StrEnum):
    """Why a client needs attention now. A stable contract shared by CLI JSON, API and UI."""

    LAPSING = "lapsing"
    USAGE_UP = "usage_up"
    USAGE_DOWN = "usage_down"
    CANCELLATION = "cancellation"
    DUE = "due"
    BIRTHDAY = "birthday"
    ANNIVERSARY = "anniversary"
    HOLIDAY = "holiday"
    WELCOME = "welcome"
    FOLLOW_UP = "follow_up"
    FEEDBACK = "feedback"
    CADENCE_OVERDUE = "cadence_overdue"
    WIN_BACK = "win_back"
    REMINDER = "reminder"  # a member of staff asked to be reminded (keepwarm.domain.actions)


# What each signal is called where people read it (lists, pages, the planner's "why").
SIGNAL_LABELS: dict[SignalCode, str] = {
    SignalCode.CANCELLATION: "Cancellation",
    SignalCode.LAPSING: "Gone quiet",
    SignalCode.USAGE_UP: "Usage up",
    SignalCode.USAGE_DOWN: "Usage down",
    SignalCode.DUE: "Due",
    SignalCode.BIRTHDAY: "Birthday",
    SignalCode.ANNIVERSARY: "Anniversary",
    SignalCode.HOLIDAY: "Holiday",
    SignalCode.WELCOME: "Welcome",
    SignalCode.FOLLOW_UP: "Follow-up",
    SignalCode.FEEDBACK: "Feedback",
    SignalCode.CADENCE_OVERDUE: "Time to say hello",
    SignalCode.WIN_BACK: "Win back",
    SignalCode.REMINDER: "Reminder",
}


class ImportKind(StrEnum):
    CLIENTS = "clients"
    ACTIVITIES = "activities"
    TOUCHES = "touches"


# A touch is a *personal* contact. Invoices, receipts and newsletters are recorded when imported
# (so an export round-trips) but never count as touches for cadence or quotas.
PERSONAL_CHANNELS: tuple[str, ...] = (
    "call",
    "card",
    "email",
    "sms",
    "visit",
    "gift",
    "meeting",
    "note",
)
BULK_CHANNELS: tuple[str, ...] = ("newsletter", "invoice", "receipt", "mailing")


def is_personal_channel(channel: str) -> bool:
    return channel in PERSONAL_CHANNELS


@dataclass(frozen=True)
class Staff:
    """A member of staff. `weekly_quota` and `daily_capacity` are their own settings, None
    meaning "the policy's default": `keepwarm.domain.quotas.allowance` decides what applies.
    `joined_on` is the day they joined; weeks before it are not judged."""

    id: int
    name: str
    email: str | None
    weekly_quota: int | None = None
    active: bool = True
    daily_capacity: int | None = None
    joined_on: dt.date | None = None


@dataclass(frozen=True)
class Activity:
    client_id: str
    date: dt.date
    id: str | None = None
    amount_cents: int | None = None
    quantity: float | None = None
    kind: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Touch:
    client_id: str
    date: dt.date
    channel: str
    staff: str | None = None
    note: str | None = None
    outcome: str | None = None

    @property
    def personal(self) -> bool:
        return is_personal_channel(self.channel)


@dataclass(frozen=True)
class ClientCard:
    """Everything the client page shows: the client, their history and their touches."""

    client: Client
    activities: tuple[Activity, ...]
    activity_count: int
    total_cents: int
    first_activity: dt.date | None
    last_activity: dt.date | None
    touches: tuple[Touch, ...]


class ProblemCode(StrEnum):
    """What kind of problem an import found: a stable contract for code to act on (the CLI,
    the API and the Import page), where the reason's words are for people and may change."""

    # the file as a whole
    NO_SUCH_FILE = "no_such_file"
    NOT_A_FILE = "not_a_file"
    CANNOT_OPEN = "cannot_open"  # the system refused (permissions, a device error...)
    TOO_LARGE = "too_large"
    EMPTY_FILE = "empty_file"
    NOT_CSV = "not_csv"  # a workbook, a PDF, a picture
    UNKNOWN_ENCODING = "unknown_encoding"  # the encoding named is not one Python knows
    UNDECODABLE = "undecodable"  # bytes that are not text in the encoding
    NUL_BYTE = "nul_byte"
    HEADER_TOO_LONG = "header_too_long"
    BAD_HEADER = "bad_header"  # the header line is not CSV, or names no column
    WRONG_KIND = "wrong_kind"  # the header reads as another kind of file; `value` names it
    # rows as CSV
    MALFORMED_ROW = "malformed_row"  # bad quoting, a field over the size limit
    WRONG_FIELD_COUNT = "wrong_field_count"
    TOO_MANY_ROWS = "too_many_rows"
    # columns
    DUPLICATE_COLUMN = "duplicate_column"
    MISSING_COLUMN = "missing_column"
    PHONE_REGION = "phone_region"  # phones cannot be read in the region configured
    # values
    INVALID_VALUE = "invalid_value"  # not a date, an amount, an email, a status...
    FUTURE_DATE = "future_date"
    TOO_LONG = "too_long"
    EMPTY_VALUE = "empty_value"  # a value every row needs is empty
    NO_NAME = "no_name"
    DATE_ORDERS_MIXED = "date_orders_mixed"  # some dates put the day first, others the month
    DATE_ORDER_UNKNOWN = "date_order_unknown"  # no date tells whether the day comes first
    # rows against each other and the store
    DUPLICATE_ID = "duplicate_id"
    UNKNOWN_CLIENT = "unknown_client"
    OTHER_STAFF = "other_staff"  # a staff user's file names another member of staff
    NEW_CLIENT_WITHOUT_NAME = "new_client_without_name"


@dataclass(frozen=True)
class ImportProblem:
    """One reason a file (or one of its rows) cannot be imported: `FILE:LINE: field: reason`.
    `field` is the column as the file writes it; `code` says what kind of problem it is and
    `value` holds the cell (as written) it is about, where there is one."""

    line: int | None
    field: str | None
    reason: str
    code: ProblemCode
    value: str | None = None

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}" if self.line is not None else filename
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, with problems, why it changed nothing)."""

    kind: ImportKind
    filename: str
    encoding: str
    delimiter: str
    rows: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # rows with at least one problem (in the row, or against the store)
    problems: tuple[ImportProblem, ...] = ()
    problem_count: int = 0
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: tuple[str, ...] = ()
    new_staff: tuple[str, ...] = ()
    new_clients: int = 0
    dry_run: bool = False
    notes: tuple[str, ...] = ()
    # Rows repeating an earlier row exactly, id and all: the same activity, counted once.
    exact_repeats: int = 0
    # Rows of erased clients, skipped (not restored, not unchanged) and named in `notes`.
    erased: int = 0
    # Phones and emails that are not usable, kept as written and flagged on the client.
    phones_as_written: int = 0
    emails_as_written: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.new_clients + len(self.new_staff)


class ProblemLog:
    """Collects problems in the order found, keeping the first `limit` and counting the rest,
    so a file with a million bad rows still reports in constant memory."""

    def __init__(self, limit: int = 50) -> None:
        self.limit = limit
        self.items: list[ImportProblem] = []
        self.count = 0

    def append(self, problem: ImportProblem) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(problem)

    def extend(self, problems: list[ImportProblem], total: int) -> None:
        for problem in problems:
            if len(self.items) < self.limit:
                self.items.append(problem)
        self.count += total

    def __len__(self) -> int:
        return self.count

    def sorted(self) -> tuple[ImportProblem, ...]:
        return tuple(sorted(self.items, key=lambda p: p.line or 0))[: self.limit]


@dataclass(frozen=True, slots=True)
class Rhythm:
    """What keepwarm learned about one client's activity, as of `as_of` (money in cents)."""

    as_of: dt.date
    activities: int
    last_activity: dt.date | None
    days_since_last: int | None
    usual_gap_days: float | None
    silence_ratio: float | None
    p_alive: float
    expected_30: float
    expected_90: float
    expected_365: float
    expected_spend_cents: int
    monthly_value_cents: int
    at_risk_cents: int
    clv_cents: int
    attention_after: dt.date | None
    trend_direction: int
    usage_change: float | None
    visits_change: float | None
    spend_change: float | None
    trend_p_value: float | None
    lapse_risk: float | None = None


@dataclass(frozen=True)
class RhythmFit:
    """The population fit behind a day's rhythms, as stored."""

    as_of: dt.date
    computed_at: dt.datetime
    model: str
    time_unit: str
    fallback: bool
    reason: str
    population: dict[str, object]
    log_likelihood: float | None
    converged: bool
    clients: int
    holdout: dict[str, object] | None


class Role(StrEnum):
    """What a web user may do: the owner everything; staff their lists, clients and touches."""

    OWNER = "owner"
    STAFF = "staff"


@dataclass(frozen=True)
class User:
    """Someone who signs in to the web app; `staff` is their staff member's name (their list)."""

    id: int
    email: str
    role: Role
    staff: str | None
    active: bool = True

    @property
    def is_owner(self) -> bool:
        return self.role is Role.OWNER
