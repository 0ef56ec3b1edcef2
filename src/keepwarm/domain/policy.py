"""The business's settings for signals and plans: cadences, quotas, lead times, occasions.

A `Policy` is an immutable value with sensible defaults for a small practice. It round-trips
through JSON-able dicts (`to_dict` / `from_dict`); `from_dict` is strict: an unknown key or a
value of the wrong type or range raises `InvalidInput` naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import holidays

from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import SignalCode


@dataclass(frozen=True)
class FollowUpRule:
    """After an activity of one kind: a thank-you within `thank_you_within_days`, then a
    check-in once `check_in_after_days` have passed (open for `check_in_window_days`)."""

    thank_you_within_days: int = 3
    check_in_after_days: int = 30
    check_in_window_days: int = 14


@dataclass(frozen=True)
class Occasion:
    """A custom yearly day for cards, e.g. Occasion(3, 1, "Thinking of You")."""

    month: int
    day: int
    name: str


def _default_cadences() -> Mapping[str, int]:
    return MappingProxyType({"key": 30, "prospect": 90})


def _default_recalls() -> Mapping[str, int]:
    return MappingProxyType({"check-up": 182})


def _default_follow_ups() -> Mapping[str, FollowUpRule]:
    return MappingProxyType({"purchase": FollowUpRule()})


@dataclass(frozen=True)
class Policy:
    """Settings the rules and the planner read. Days are whole days; quotas are per staff member.

    `cadence_days` maps a client tag (or "prospect", matched by status) to the longest silence
    allowed, in days; clients matching none get `default_cadence_days`. `recall_days` maps an
    activity kind to its recall interval. `follow_ups` maps an activity kind to a FollowUpRule.
    `holiday_names` picks the country's holidays worth a card (case-insensitive substrings; empty
    means all of them); `country` "" means no public holidays. `key_purchases` names activity
    kinds whose yearly anniversary is worth a card (e.g. "house purchase", "wedding shoot").
    `weekly_quota` is the default weekly minimum of personal contacts per member of staff (a
    floor for the habit, never a cap on real reasons) and `daily_capacity` the default number of
    actions a member can take a day; a member's own settings override both. A client personally
    contacted in the last `recent_contact_days` is put on the list again only for a pressing
    reason. A lapse that began more than `lapsing_max_days` ago is past (a win-back campaign's
    audience, not a daily call). `trend_min_change` is the smallest change in usage worth a
    signal (0.25 = 25%).
    `templates` holds the owner's own draft templates: signal code -> "letter" or "call" -> a
    Jinja2 template (see keepwarm.messaging.templates for the defaults and their variables).
    """

    time_zone: str = "UTC"
    country: str = "US"
    currency_symbol: str = "$"
    cadence_days: Mapping[str, int] = field(default_factory=_default_cadences, hash=False)
    default_cadence_days: int = 180
    weekly_quota: int = 2
    daily_capacity: int = 5
    recent_contact_days: int = 7
    due_lead_days: int = 14
    birthday_lead_days: int = 7
    anniversary_lead_days: int = 7
    holiday_lead_days: int = 10
    holiday_names: tuple[str, ...] = ("thanksgiving", "christmas", "new year")
    occasions: tuple[Occasion, ...] = ()
    recall_days: Mapping[str, int] = field(default_factory=_default_recalls, hash=False)
    follow_ups: Mapping[str, FollowUpRule] = field(default_factory=_default_follow_ups, hash=False)
    welcome_days: int = 30
    feedback_after_days: int = 2
    feedback_window_days: int = 7
    feedback_period_days: int = 182
    lapsing_min_activities: int = 2
    lapsing_max_days: int = 365
    notice_days: int = 30
    trend_min_change: float = 0.25
    key_purchases: tuple[str, ...] = ()
    templates: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    def __post_init__(self) -> None:
        for name in ("cadence_days", "recall_days", "follow_ups"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        object.__setattr__(self, "country", self.country.strip().upper())
        object.__setattr__(self, "occasions", tuple(self.occasions))
        object.__setattr__(self, "holiday_names", tuple(self.holiday_names))
        object.__setattr__(self, "key_purchases", tuple(self.key_purchases))
        object.__setattr__(
            self,
            "templates",
            MappingProxyType({k: MappingProxyType(dict(v)) for k, v in self.templates.items()}),
        )
        _validate(self)

    def local_date(self, now: dt.datetime) -> dt.date:
        """The business's calendar date at `now`, in the policy's time zone."""
        return now.astimezone(ZoneInfo(self.time_zone)).date()

    def template_sources(self) -> dict[str, str]:
        """The owner's own templates by draft key ("lapsing.letter", "birthday.call", ...)."""
        return {
            f"{code}.{form}": text
            for code, forms in self.templates.items()
            for form, text in forms.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict that `from_dict` turns back into an equal Policy."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            out[f.name] = _dump(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build a Policy from `data`; missing keys keep their defaults.

        Raises InvalidInput naming the key for unknown keys and bad values.
        """
        if not isinstance(data, Mapping):
            raise InvalidInput("policy: expected an object")
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for old, new in RENAMED.items():  # a policy saved before the rename still loads
            if old in data:
                value = data[old]
                data = {k: v for k, v in data.items() if k != old}
                data.setdefault(new, value)  # a value under the new name wins
        for key, value in data.items():
            if key not in known:
                raise InvalidInput(f"policy: unknown key {key!r}")
            kwargs[key] = _PARSERS[key](key, value)
        return cls(**kwargs)


RENAMED = {"daily_max": "daily_capacity"}
"""Keys that were renamed: old name -> new name."""


def _dump(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _int(key: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"policy: {key} must be a whole number >= {minimum}, got {value!r}")
    return value


def _fraction(key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(f"policy: {key} must be a number from {low} to {high}, got {value!r}")
    return float(value)


def _str(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"policy: {key} must be text, got {value!r}")
    return value


def _object(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInput(f"policy: {key} must be an object with text keys, got {value!r}")
    return value


def _list(key: str, value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"policy: {key} must be a list, got {value!r}")
    return list(value)


def _days_map(key: str, value: Any) -> dict[str, int]:
    return {k: _int(f"{key}.{k}", v, 1) for k, v in _object(key, value).items()}


def _record(key: str, value: Any, cls: type) -> Any:
    raw = _object(key, value)
    names = {f.name: f.type for f in dataclasses.fields(cls)}
    for name in raw:
        if name not in names:
            raise InvalidInput(f"policy: unknown key {key}.{name!r}")
    try:
        return cls(**_cast(key, raw, names))
    except TypeError as exc:
        raise InvalidInput(f"policy: {key} is incomplete: {exc}") from None


def _cast(key: str, raw: Mapping[str, Any], names: Mapping[str, Any]) -> dict[str, Any]:
    return {
        n: _str(f"{key}.{n}", v) if names[n] == "str" else _int(f"{key}.{n}", v)
        for n, v in raw.items()
    }


def _follow_ups(key: str, value: Any) -> dict[str, FollowUpRule]:
    return {k: _record(f"{key}.{k}", v, FollowUpRule) for k, v in _object(key, value).items()}


def _occasions(key: str, value: Any) -> tuple[Occasion, ...]:
    return tuple(_record(f"{key}[{i}]", v, Occasion) for i, v in enumerate(_list(key, value)))


def _names(key: str, value: Any) -> tuple[str, ...]:
    return tuple(_str(f"{key}[{i}]", v) for i, v in enumerate(_list(key, value)))


TEMPLATE_FORMS = ("letter", "call")


def _templates(key: str, value: Any) -> dict[str, dict[str, str]]:
    codes = {c.value for c in SignalCode}
    out: dict[str, dict[str, str]] = {}
    for code, forms in _object(key, value).items():
        if code not in codes:
            raise InvalidInput(f"policy: {key}.{code}: no such signal (one of {sorted(codes)})")
        out[code] = {}
        for form, text in _object(f"{key}.{code}", forms).items():
            if form not in TEMPLATE_FORMS:
                raise InvalidInput(f"policy: {key}.{code}.{form}: choose letter or call")
            out[code][form] = _str(f"{key}.{code}.{form}", text)
    return out


_PARSERS: dict[str, Any] = {
    "time_zone": _str,
    "country": _str,
    "currency_symbol": _str,
    "cadence_days": _days_map,
    "recall_days": _days_map,
    "follow_ups": _follow_ups,
    "holiday_names": _names,
    "occasions": _occasions,
    "key_purchases": _names,
    "templates": _templates,
    "default_cadence_days": lambda k, v: _int(k, v, 1),
    "weekly_quota": _int,
    "trend_min_change": lambda k, v: _fraction(k, v, 0.05, 5.0),
    "daily_capacity": _int,
}
_INT_KEYS = (
    "due_lead_days",
    "birthday_lead_days",
    "anniversary_lead_days",
    "holiday_lead_days",
    "welcome_days",
    "feedback_after_days",
    "feedback_window_days",
    "feedback_period_days",
    "lapsing_min_activities",
    "lapsing_max_days",
    "notice_days",
    "recent_contact_days",
)
_PARSERS.update({k: _int for k in _INT_KEYS})


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _validate(policy: Policy) -> None:
    """Range checks that hold however the Policy was built."""
    if policy.time_zone not in _zones():
        raise InvalidInput(
            f"policy: time_zone {policy.time_zone!r} is not a known zone "
            "(a name such as Europe/London or America/New_York)"
        )
    known = holidays.list_supported_countries()
    if policy.country and (len(policy.country) != 2 or policy.country not in known):
        raise InvalidInput(
            f"policy: country {policy.country!r} is not a country keepwarm knows the holidays "
            'of (a two-letter code such as US, GB or DE; "" for none)'
        )
    for name in ("default_cadence_days", "weekly_quota", "daily_capacity", *_INT_KEYS):
        _int(name, getattr(policy, name), 1 if name == "default_cadence_days" else 0)
    _fraction("trend_min_change", policy.trend_min_change, 0.05, 5.0)
    for name in ("cadence_days", "recall_days"):
        for key, value in getattr(policy, name).items():
            _int(f"{name}.{key}", value, 1)
    for i, occasion in enumerate(policy.occasions):
        _check_day(f"occasions[{i}]", occasion.month, occasion.day)
    for kind, rule in policy.follow_ups.items():
        for f in dataclasses.fields(rule):
            _int(f"follow_ups.{kind}.{f.name}", getattr(rule, f.name))


def _check_day(key: str, month: int, day: int) -> None:
    try:
        dt.date(2024, month, day)  # a leap year, so 29 Feb is a valid occasion
    except (TypeError, ValueError):
        raise InvalidInput(f"policy: {key} has no such day: month {month}, day {day}") from None
