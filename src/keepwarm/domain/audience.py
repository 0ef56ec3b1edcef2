"""Filters that pick an audience: plain values, strict parsing, and words people understand.

A `Filters` is stored as JSON (saved filters, a campaign's audience) through `to_dict` and read
back through `from_dict`, which refuses an unknown key or a bad value with an `InvalidInput`
naming the filter. Every filter narrows the audience (they combine with "and"); the values
inside one filter are alternatives ("any of").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.fields import ClientStatus
from keepwarm.domain.model import SIGNAL_LABELS, SignalCode

VALUE_TIERS = ("top", "middle", "rest")
TIER_WORDS = {"top": "top value tier", "middle": "middle value tier", "rest": "rest value tier"}

# Recency-frequency-value segments, best first (keepwarm.services.segments assigns them).
SEGMENTS = (
    "champions",
    "loyal",
    "new",
    "promising",
    "need attention",
    "at risk",
    "can't lose them",
    "hibernating",
    "lost",
)

_TUPLES = ("statuses", "tags", "owners", "signals", "value_tiers", "segments")
_DATES = ("last_visit_before", "last_visit_after", "not_seen_since", "first_visit_after")


@dataclass(frozen=True)
class Filters:
    """Which clients: each non-empty field narrows the audience.

    `last_visit_before` / `last_visit_after`: the client's last activity is strictly before /
    after the date (clients who never came match neither); `not_seen_since`: no activity on or
    after the date, never-visited clients included; `first_visit_after`: the client's first
    activity is strictly after the date (new clients; never-visited clients do not match);
    `tags`, `owners`, `signals`, `statuses`, `value_tiers`, `segments`: any of the values;
    `saved`: start from a saved filter's values (this one's own values replace those it sets).
    """

    statuses: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    last_visit_before: dt.date | None = None
    last_visit_after: dt.date | None = None
    not_seen_since: dt.date | None = None
    first_visit_after: dt.date | None = None
    value_tiers: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    saved: str | None = None

    def __post_init__(self) -> None:
        for name in _TUPLES:
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, tuple | list):
                raise InvalidInput(f"{name}: expected a list of words")
            cleaned = tuple(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))
            object.__setattr__(self, name, cleaned)
        _check_choices("statuses", self.statuses, tuple(s.value for s in ClientStatus))
        _check_choices("signals", self.signals, tuple(s.value for s in SignalCode))
        _check_choices("value_tiers", self.value_tiers, VALUE_TIERS)
        _check_choices("segments", self.segments, SEGMENTS)
        object.__setattr__(self, "tags", tuple(t.lower() for t in self.tags))
        for name in _DATES:
            value = getattr(self, name)
            if value is not None and not isinstance(value, dt.date):
                raise InvalidInput(f"{name}: expected a date such as 2026-03-01")
        if self.saved is not None and not (isinstance(self.saved, str) and self.saved.strip()):
            raise InvalidInput("saved: expected the name of a saved filter")

    @property
    def empty(self) -> bool:
        """True when nothing narrows the audience (everyone)."""
        return self == Filters()

    def merged_over(self, base: Filters) -> Filters:
        """This filter's values over `base`'s (a saved filter it starts from); `saved` dropped."""
        changes = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "saved" and getattr(self, f.name) not in ((), None)
        }
        return dataclasses.replace(base, saved=None, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: only the filters that are set; dates as ISO text."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value in ((), None):
                continue
            if isinstance(value, dt.date):
                out[f.name] = value.isoformat()
            elif isinstance(value, tuple):
                out[f.name] = list(value)
            else:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Filters:
        """Read `to_dict`'s output (or a form's): an unknown key or bad value is refused by
        name. A single word where a list is expected is taken as a list of one."""
        if not isinstance(data, Mapping):
            raise InvalidInput('filters: expected an object such as {"tags": ["vip"]}')
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(f"{unknown[0]}: not a filter (filters: {', '.join(sorted(known))})")
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name in _TUPLES:
                if isinstance(value, str):
                    value = [value]
                if not isinstance(value, list | tuple) or not all(
                    isinstance(v, str) for v in value
                ):
                    raise InvalidInput(f"{name}: expected a list of words")
                kwargs[name] = tuple(value)
            elif name in _DATES:
                kwargs[name] = parse_date(name, value)
            elif name == "saved":
                if value is not None and not isinstance(value, str):
                    raise InvalidInput("saved: expected the name of a saved filter")
                kwargs[name] = value or None
        return cls(**kwargs)

    def describe(self) -> str:
        """The filter in words: "active clients tagged vip, not seen since 1 Dec 2025, top
        value tier"."""
        who = " or ".join(self.statuses) + " clients" if self.statuses else "clients"
        parts = [who if self.statuses or not self.empty else "all clients"]
        if self.tags:
            parts[0] += " tagged " + " or ".join(self.tags)
        if self.owners:
            parts[0] += " looked after by " + " or ".join(self.owners)
        if self.signals:
            labels = [SIGNAL_LABELS[SignalCode(s)].lower() for s in self.signals]
            parts.append(" or ".join(labels))
        if self.last_visit_before:
            parts.append(f"last visit before {_day(self.last_visit_before)}")
        if self.last_visit_after:
            parts.append(f"last visit after {_day(self.last_visit_after)}")
        if self.not_seen_since:
            parts.append(f"not seen since {_day(self.not_seen_since)}")
        if self.first_visit_after:
            parts.append(f"first visit after {_day(self.first_visit_after)}")
        if self.value_tiers:
            parts.append(" or ".join(t for t in self.value_tiers) + " value tier")
        if self.segments:
            parts.append("segment " + " or ".join(self.segments))
        if self.saved:
            parts.append(f"starting from the saved filter {self.saved!r}")
        return ", ".join(parts)


def parse_date(name: str, value: Any) -> dt.date | None:
    """A filter's date from ISO text (or a date); empty is None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidInput(f"{name}: expected a date such as 2026-03-01")


def _check_choices(name: str, values: tuple[str, ...], choices: tuple[str, ...]) -> None:
    for v in values:
        if v not in choices:
            raise InvalidInput(f"{name}: {v!r} is not one of {', '.join(choices)}")


def _day(d: dt.date) -> str:
    return f"{d.day} {d:%b %Y}"
