"""The business's settings for signals and plans: cadences, quotas, lead times, occasions.

`Policy` is the one declaration of every policy key: its type, default, bounds (pydantic
`Field`), label and help (`Field(title=..., description=...)`) and where it shows (`Shown`).
The Settings page's form, `keepwarm policy set` and the docs table are derived from it
(`keepwarm.domain.policy_keys`). A Policy is an immutable value with sensible defaults for a
small practice. It round-trips through JSON-able dicts (`to_dict` / `from_dict`); `from_dict`
is strict, `from_text` reads what a person typed (every value as text). An unknown key or a
value of the wrong type or range raises `PolicyError` (an `InvalidInput`) naming the key and
saying what is expected, however the Policy is built, `Policy(...)` included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from types import MappingProxyType
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, available_timezones

import holidays
from pydantic import (
    AfterValidator,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    WrapSerializer,
    model_validator,
)
from pydantic.dataclasses import dataclass

from keepwarm.domain.annotations import child, dotted, expected, fields_of, split
from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import SignalCode

K = TypeVar("K")
V = TypeVar("V")


@dataclasses.dataclass(frozen=True)
class Shown:
    """Where a policy key shows beyond its label and help: the Settings page's section ("" for
    a key edited elsewhere), its unit, the values to suggest, and for a map the labels of its
    key and value columns."""

    section: str = "The practice"
    unit: str = ""
    choices: Callable[[], Collection[str]] | None = None
    key: str = ""
    value: str = ""


class PolicyError(InvalidInput):
    """A policy value keepwarm cannot use. `problems` holds (key, message) pairs, the key dotted
    as in `keepwarm policy set` ("cadence_days.vip", "occasions[0].month")."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = tuple(problems)


@functools.cache
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@functools.cache
def countries() -> frozenset[str]:
    return frozenset(code for code in holidays.list_supported_countries() if len(code) == 2)


def _time_zone(value: str) -> str:
    if value not in time_zones():
        raise ValueError(
            f"{value!r} is not a known zone (a name such as Europe/London or America/New_York)"
        )
    return value


def _country(value: str) -> str:
    value = value.strip().upper()
    if value and value not in countries():
        raise ValueError(
            f"{value!r} is not a country keepwarm knows the holidays of "
            '(a two-letter code such as US, GB or DE; "" for none)'
        )
    return value


def _clock_time(value: str) -> str:
    try:
        parsed = dt.time.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day (HH:MM, e.g. 20:00)") from None
    return parsed.strftime("%H:%M")


def _signal(value: str) -> str:
    codes = sorted(c.value for c in SignalCode)
    if value not in codes:
        raise ValueError(f"no such signal (one of {', '.join(codes)})")
    return value


TEMPLATE_FORMS = ("letter", "subject", "sms", "call")
"""The forms of a draft template: a letter (a card, a letter, an email's body), an email's
subject line, a text message (SMS), and a call's talking points for staff."""


def _template_form(value: str) -> str:
    if value not in TEMPLATE_FORMS:
        raise ValueError("choose letter, subject, sms or call")
    return value


def _frozen(value: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(value))


def _plain(value: Mapping[K, V], handler: Callable[[Any], Any]) -> Any:
    return handler(dict(value))


T = TypeVar("T")


def _refusing(cls: type[T]) -> type[T]:
    """`cls` whose constructor raises PolicyError (naming the key) instead of pydantic's
    ValidationError, so a Policy built in code is refused like one read from a document."""
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self: T, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except ValidationError as exc:
            raise refusal(exc) from None

    cls.__init__ = __init__  # type: ignore[method-assign,assignment]
    return cls


MOST = 100_000
"""The largest whole number a key takes: more days or contacts than keepwarm can use, small
enough that every date computed from it exists."""
Whole = Annotated[int, Strict(), Field(le=MOST)]
Text = Annotated[str, Strict()]
Frozen = Annotated[Mapping[K, V], AfterValidator(_frozen), WrapSerializer(_plain)]
"""A read-only map (a plain dict in JSON)."""
SignalKey = Annotated[str, Strict(), AfterValidator(_signal)]
FormKey = Annotated[str, Strict(), AfterValidator(_template_form)]
ClockTime = Annotated[str, Strict(), AfterValidator(_clock_time)]


@_refusing
@dataclass(frozen=True, config={"extra": "forbid"})
class FollowUpRule:
    """After an activity of one kind: a thank-you within `thank_you_within_days`, then a
    check-in once `check_in_after_days` have passed (open for `check_in_window_days`)."""

    thank_you_within_days: Annotated[Whole, Field(ge=0, title="Thank you within")] = 3
    check_in_after_days: Annotated[Whole, Field(ge=0, title="Check in after")] = 30
    check_in_window_days: Annotated[Whole, Field(ge=0, title="Check-in window")] = 14


@_refusing
@dataclass(frozen=True, config={"extra": "forbid"})
class Occasion:
    """A custom yearly day for cards, e.g. Occasion(3, 1, "Thinking of You")."""

    month: Annotated[Whole, Field(ge=1, le=12, title="Month")]
    day: Annotated[Whole, Field(ge=1, le=31, title="Day")]
    name: Annotated[Text, Field(title="Name")]

    @model_validator(mode="after")
    def _a_real_day(self) -> Occasion:
        try:
            dt.date(2024, self.month, self.day)  # a leap year, so 29 Feb is a valid occasion
        except ValueError:
            raise ValueError(f"no such day: month {self.month}, day {self.day}") from None
        return self


DAYS = Shown(section="When reasons come up", unit="days")
STAFF = Shown(section="Each member of staff")
SENDING = Shown(section="Sending")
QUIET = Shown(section="Sending", choices=lambda: tuple(f"{h:02d}:00" for h in range(24)))


@_refusing
@dataclass(frozen=True, config={"extra": "forbid"})
class Policy:
    """Settings the rules and the planner read. Days are whole days; quotas are per staff member.

    Each key's meaning is its `Field` description (shown on the Settings page, by
    `keepwarm policy set --help` and in the README). `templates` holds the owner's own draft
    templates: signal code -> "letter" or "call" -> a Jinja2 template (see
    keepwarm.messaging.templates for the defaults and their variables).
    """

    time_zone: Annotated[
        Text,
        AfterValidator(_time_zone),
        Field(
            title="Time zone",
            description="The business's time zone, a name such as Europe/London or "
            "America/New_York: each day's plan is made for its date there.",
        ),
        Shown(choices=time_zones),
    ] = "UTC"
    country: Annotated[
        Text,
        AfterValidator(_country),
        Field(
            title="Country",
            description="Whose public holidays come up for cards: two letters such as US, GB "
            "or DE; empty for none.",
        ),
        Shown(choices=countries),
    ] = "US"
    currency_symbol: Annotated[
        Text,
        Field(title="Currency symbol", description="How money is written in lists and pages."),
        Shown(),
    ] = "$"
    weekly_quota: Annotated[
        Whole,
        Field(
            ge=0,
            title="Weekly quota",
            description="Personal contacts per member of staff per week: a floor for the habit, "
            "never a cap on real reasons. A member's own quota overrides it.",
        ),
        STAFF,
    ] = 2
    daily_capacity: Annotated[
        Whole,
        Field(
            ge=0,
            title="Daily capacity",
            description="Actions per member of staff per day; what does not fit waits. "
            "A member's own capacity overrides it.",
        ),
        STAFF,
    ] = 5
    recent_contact_days: Annotated[
        Whole,
        Field(
            ge=0,
            title="Recently contacted",
            description="A client personally contacted within this many days comes back only "
            "for a pressing reason.",
        ),
        Shown(section=STAFF.section, unit="days"),
    ] = 7
    default_cadence_days: Annotated[
        Whole,
        Field(
            ge=1,
            title="Default cadence",
            description="The longest silence allowed for clients whose tags have no cadence "
            "of their own.",
        ),
        DAYS,
    ] = 180
    due_lead_days: Annotated[
        Whole,
        Field(
            ge=0,
            title="Due: lead time",
            description="How early a recall or renewal that falls due comes up.",
        ),
        DAYS,
    ] = 14
    birthday_lead_days: Annotated[
        Whole,
        Field(ge=0, title="Birthday: lead time", description="How early a birthday comes up."),
        DAYS,
    ] = 7
    anniversary_lead_days: Annotated[
        Whole,
        Field(
            ge=0,
            title="Anniversary: lead time",
            description="How early the anniversary of a key purchase comes up.",
        ),
        DAYS,
    ] = 7
    holiday_lead_days: Annotated[
        Whole,
        Field(
            ge=0,
            title="Holiday: lead time",
            description="How early a holiday or an occasion comes up, for a card.",
        ),
        DAYS,
    ] = 10
    welcome_days: Annotated[
        Whole,
        Field(
            ge=0,
            title="Welcome within",
            description="A new client is welcomed within this many days of their first visit.",
        ),
        DAYS,
    ] = 30
    feedback_after_days: Annotated[
        Whole,
        Field(
            ge=0,
            title="Ask for feedback after",
            description="Days after a visit before asking how it went.",
        ),
        DAYS,
    ] = 2
    feedback_window_days: Annotated[
        Whole,
        Field(
            ge=0,
            title="Feedback window",
            description="How long the question about a visit stays open.",
        ),
        DAYS,
    ] = 7
    feedback_period_days: Annotated[
        Whole,
        Field(
            ge=0,
            title="Ask for feedback at most every",
            description="A client is asked about their visits at most once in this many days.",
        ),
        DAYS,
    ] = 90
    lapsing_min_activities: Annotated[
        Whole,
        Field(
            ge=0,
            title="Gone quiet: at least",
            description="A client can be lapsing only after this many visits.",
        ),
        Shown(section=DAYS.section, unit="visits"),
    ] = 2
    lapsing_max_days: Annotated[
        Whole,
        Field(
            ge=0,
            title="Gone quiet: at most",
            description="A lapse that began longer ago than this is past: the audience of a "
            "win-back campaign, not a daily call.",
        ),
        DAYS,
    ] = 365
    notice_days: Annotated[
        Whole,
        Field(
            ge=0,
            title="Notice period",
            description="A cancellation dated in the future counts from this many days before "
            "its date.",
        ),
        DAYS,
    ] = 30
    erase_inactive_years: Annotated[
        Whole,
        Field(
            ge=0,
            le=100,
            title="Erase clients inactive for",
            description="The daily job erases every client with no visit or touch for this many "
            "years (the retention policy; keepwarm erase --inactive-years N --dry-run lists "
            "who). 0 is off.",
        ),
        Shown(section="Privacy", unit="years"),
    ] = 0
    trend_min_change: Annotated[
        float,
        Strict(),
        Field(
            ge=0.05,
            le=5.0,
            title="Usage change worth a signal",
            description="The smallest change in visits or spend worth a usage signal, "
            "as a fraction: 0.25 is 25%.",
        ),
        Shown(section=DAYS.section),
    ] = 0.25
    cadence_days: Annotated[
        Frozen[Text, Annotated[Whole, Field(ge=1)]],
        Field(
            title="Cadences by tag",
            description="The longest silence allowed, in days, for clients with a tag "
            '("prospect" matches prospects).',
        ),
        Shown(section="Cadences by tag", key="Tag", value="Days"),
    ] = dataclasses.field(
        default_factory=lambda: MappingProxyType({"key": 30, "prospect": 90}), hash=False
    )
    recall_days: Annotated[
        Frozen[Text, Annotated[Whole, Field(ge=1)]],
        Field(
            title="Recalls",
            description="After an activity of this kind, it is due again after this many days.",
        ),
        Shown(section="Recalls", key="Kind of activity", value="Days"),
    ] = dataclasses.field(default_factory=lambda: MappingProxyType({"check-up": 182}), hash=False)
    follow_ups: Annotated[
        Frozen[Text, FollowUpRule],
        Field(
            title="Follow-ups",
            description="After an activity of this kind: a thank-you within some days, then a "
            "check-in after some days, open for a window of days.",
        ),
        Shown(section="Follow-ups", key="Kind of activity"),
    ] = dataclasses.field(
        default_factory=lambda: MappingProxyType({"purchase": FollowUpRule()}), hash=False
    )
    send_per_minute: Annotated[
        Whole,
        Field(
            ge=1,
            title="Messages per minute",
            description="At most this many emails and texts leave in any minute; the rest wait "
            "their turn.",
        ),
        SENDING,
    ] = 20
    send_per_day: Annotated[
        Whole,
        Field(
            ge=1,
            title="Messages per day",
            description="At most this many emails and texts leave in a day (your mail "
            "provider's daily limit, or less).",
        ),
        SENDING,
    ] = 500
    quiet_from: Annotated[
        ClockTime,
        Field(
            title="Quiet hours from",
            description="No text message is sent from this time (HH:MM, the business's time "
            "zone) ...",
        ),
        QUIET,
    ] = "20:00"
    quiet_until: Annotated[
        ClockTime,
        Field(
            title="Quiet hours until",
            description="... until this time; texts queued meanwhile leave then.",
        ),
        QUIET,
    ] = "09:00"
    occasions: Annotated[
        tuple[Occasion, ...],
        Field(
            title="Occasions",
            description="Your own yearly days for a card: a month, a day and a name.",
        ),
        Shown(section="Occasions"),
    ] = ()
    key_purchases: Annotated[
        tuple[Text, ...],
        Field(
            title="Key purchases",
            description="Kinds of activity whose yearly anniversary is worth a card, e.g. "
            '"house purchase".',
        ),
        Shown(section="Lists"),
    ] = ()
    holiday_names: Annotated[
        tuple[Text, ...],
        Field(
            title="Holidays worth a card",
            description="Part of each holiday's name, case-insensitive; empty means all of "
            "the country's holidays.",
        ),
        Shown(section="Lists"),
    ] = ("thanksgiving", "christmas", "new year")
    templates: Annotated[
        Frozen[SignalKey, Frozen[FormKey, Text]],
        Field(
            title="Templates",
            description="Your own wording of the drafts: templates.SIGNAL.FORM, where FORM is "
            "letter, subject, sms or call (see Your own words below).",
        ),
        Shown(section=""),  # edited on the Message templates page
    ] = dataclasses.field(default_factory=lambda: MappingProxyType({}), hash=False)

    def local_date(self, now: dt.datetime) -> dt.date:
        """The business's calendar date at `now`, in the policy's time zone."""
        return now.astimezone(ZoneInfo(self.time_zone)).date()

    def quiet_until_time(self, now: dt.datetime) -> dt.datetime | None:
        """When the quiet hours around `now` end (an aware datetime), or None when `now` is
        not in them. The window is read in the business's time zone and may span midnight
        (20:00-09:00); equal ends mean no quiet hours."""
        zone = ZoneInfo(self.time_zone)
        local = now.astimezone(zone)
        start = dt.time.fromisoformat(self.quiet_from)
        end = dt.time.fromisoformat(self.quiet_until)
        if start == end:
            return None
        clock = local.time().replace(tzinfo=None)
        inside = start <= clock < end if start < end else clock >= start or clock < end
        if not inside:
            return None
        day = local.date() if clock < end else local.date() + dt.timedelta(days=1)
        return dt.datetime.combine(day, end, tzinfo=zone)

    def template_sources(self) -> dict[str, str]:
        """The owner's own templates by draft key ("lapsing.letter", "birthday.call", ...)."""
        return {
            f"{code}.{form}": text
            for code, forms in self.templates.items()
            for form, text in forms.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict that `from_dict` turns back into an equal Policy."""
        out: dict[str, Any] = _ADAPTER.dump_python(self, mode="json")
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build a Policy from a JSON-able document; missing keys keep their defaults.

        Strict: a whole number must be one (not "2", not true). Raises PolicyError naming
        the key for unknown keys and bad values.
        """
        return _validated(_ADAPTER.validate_python, _renamed(data))

    @classmethod
    def from_text(cls, data: Mapping[str, Any]) -> Policy:
        """Like `from_dict`, for values a person typed (a form, the command line): a value may
        be text that the key's type reads ("30" for a number of days)."""
        return _validated(_ADAPTER.validate_python, _typed(_renamed(data), Policy))


RENAMED = {"daily_max": "daily_capacity"}
"""Keys that were renamed: old name -> new name."""

_ADAPTER: TypeAdapter[Policy] = TypeAdapter(Policy)


def _renamed(data: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise PolicyError([("", "policy: expected an object")])
    for old, new in RENAMED.items():  # a policy saved before the rename still loads
        if old in data:
            value = data[old]
            data = {k: v for k, v in data.items() if k != old}
            data.setdefault(new, value)  # a value under the new name wins
    return data


def _typed(value: Any, annotation: Any) -> Any:
    """`value` with the text at each number-valued key read as that number where it reads as
    one (text that does not is left for the model to refuse, naming its key)."""
    if isinstance(value, Mapping):
        return {k: _typed(v, child(annotation, k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_typed(v, child(annotation, i)) for i, v in enumerate(value)]
    reader = _NUMBER_READERS.get(split(annotation)[0]) if isinstance(value, str) else None
    if reader is None:
        return value
    try:
        return reader.validate_strings(value)
    except ValidationError:
        return value


_NUMBER_READERS: dict[Any, TypeAdapter[Any]] = {int: TypeAdapter(int), float: TypeAdapter(float)}


def _validated(validate: Callable[[Any], Policy], data: Any) -> Policy:
    try:
        return validate(data)
    except ValidationError as exc:
        raise refusal(exc) from None


# --- what went wrong, in the words of the key ---------------------------------------------------


def refusal(exc: ValidationError) -> PolicyError:
    """The PolicyError for pydantic's `exc`: one problem per error, each naming its key and
    saying what the key expects."""
    problems = []
    for error in exc.errors(include_url=False):
        path = [p for p in error["loc"] if p != "[key]"]
        key = dotted(path)
        kind = error["type"]
        if kind in ("unexpected_keyword_argument", "extra_forbidden"):
            message = f"unknown key {key!r}{_suggestion(path)}"
        elif kind in ("missing", "missing_argument", "missing_keyword_only_argument"):
            message = f"{key} is missing"
        elif kind == "value_error":
            message = f"{key}: {error['ctx']['error']}" if key else str(error["ctx"]["error"])
        else:
            message = f"{key} must be {expected(at(path))}, got {error['input']!r}"
        problems.append((key, f"policy: {message}"))
    return PolicyError(problems)


def _suggestion(path: Sequence[str | int]) -> str:
    names = fields_of(at(path[:-1]))
    if not names:
        return ""
    close = difflib.get_close_matches(str(path[-1]), names, n=1)
    if close:
        return f" (did you mean {close[0]}?)"
    return f" (the keys: {', '.join(names)})"


def at(path: Sequence[str | int]) -> Any:
    """The annotation of the value at `path` in a policy document, or None."""
    annotation: Any = Policy
    for part in path:
        annotation = child(annotation, part)
    return annotation
