"""Signals (one reason a client needs attention now) and the facts the rules read.

Plain values: no database, no clock. `ClientFacts` is what a service computes about one client
before calling `keepwarm.rules.signals_for`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from keepwarm.domain.model import Activity, Client, ClientStatus, Rhythm, SignalCode, Touch
from keepwarm.domain.values import yearly_value_cents


@dataclass(frozen=True, slots=True)
class Signal:
    """One reason a client needs attention now.

    `explanation` is a sentence with its numbers; `urgency` is in [0, 1] (1 = today, at the top);
    `reason_key` identifies "the same reason": an action dismissed for it does not come back
    until the key changes (e.g. "lapsing:2026-07-05", "birthday:2026", "due:2026-12-10").
    `channel` suggests a channel when the reason implies one (a card for occasions).
    `pressing` marks a reason that cannot wait: a cancellation, a lapse newer than the last
    personal contact, a recall due now. A client contacted in the last few days is put on the
    list again only for a pressing reason.
    """

    code: SignalCode
    explanation: str
    urgency: float
    reason_key: str
    channel: str | None = None
    pressing: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.urgency <= 1.0:
            raise ValueError(f"urgency must be within [0, 1], got {self.urgency}")


def _empty_dates() -> Mapping[str, dt.date]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ClientFacts:
    """Everything the rules need about one client, as of one day.

    `last_by_kind` maps an activity kind to the date of the client's last activity of that kind
    (for recalls and follow-ups). `last_personal_touch` counts only personal channels (see
    `PERSONAL_CHANNELS`): newsletters, invoices and receipts never count. `last_feedback_asked`
    is the last day the client was asked for feedback, if known.
    """

    client: Client
    rhythm: Rhythm | None = None
    first_activity: dt.date | None = None
    last_activity: dt.date | None = None
    last_activity_kind: str | None = None
    last_by_kind: Mapping[str, dt.date] = field(default_factory=_empty_dates, hash=False)
    last_personal_touch: dt.date | None = None
    last_feedback_asked: dt.date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "last_by_kind", MappingProxyType(dict(self.last_by_kind)))

    @classmethod
    def from_history(
        cls,
        client: Client,
        activities: Iterable[Activity],
        touches: Iterable[Touch],
        *,
        rhythm: Rhythm | None = None,
        today: dt.date | None = None,
        last_feedback_asked: dt.date | None = None,
    ) -> ClientFacts:
        """Facts from a client's raw history. Activities and touches after `today` (dates in
        the future by mistake) are ignored; only personal touches count as contact."""
        acts = sorted(
            (a for a in activities if today is None or a.date <= today), key=lambda a: a.date
        )
        last_by_kind: dict[str, dt.date] = {}
        for act in acts:
            if act.kind:
                last_by_kind[act.kind] = act.date
        personal = [t.date for t in touches if t.personal and (today is None or t.date <= today)]
        return cls(
            client=client,
            rhythm=rhythm,
            first_activity=acts[0].date if acts else None,
            last_activity=acts[-1].date if acts else None,
            last_activity_kind=acts[-1].kind if acts else None,
            last_by_kind=last_by_kind,
            last_personal_touch=max(personal, default=None),
            last_feedback_asked=last_feedback_asked,
        )


NO_DAY = np.iinfo(np.int32).min
"""A missing date in `ClientColumns` (below every day: "on or after" is never true of it)."""

Days = NDArray[np.int32]


def day_numbers(dates: Iterable[dt.date | None]) -> Days:
    """Dates as `ClientColumns` day numbers (the proleptic ordinal; `NO_DAY` for None)."""
    return np.fromiter((NO_DAY if d is None else d.toordinal() for d in dates), dtype=np.int32)


@dataclass(frozen=True)
class ClientColumns:
    """What the rules' windows read about every client, one entry per client in internal id
    order: `ClientFacts` as columns. The daily job reads these for everyone and builds full
    facts only for the clients who can have a reason today beside a cadence (and for the few
    such that may reach a list): keepwarm.rules.may_have_reason, keepwarm.planner.plan_day.

    Dates are day numbers (`day_numbers`; `NO_DAY` when missing). `birthday` is month * 100
    + day (0 for none). `status` holds `ClientStatus` values; `tags` each client's tags;
    `owner` the member of staff's name. From the rhythm: `attention_after` (`NO_DAY` without
    one, or without a last activity: the lapsing rule reads neither), `lapse_risk` (NaN when
    not scored), `trend` (the trend's direction: -1, 0, 1), `activities` (counted by the
    rhythm) and `yearly_value_cents` (-1 without a rhythm). `last_by_kind` maps each activity
    kind to every client's last activity of that kind.
    """

    internal_id: NDArray[np.int64]
    client_id: tuple[str, ...]
    owner: tuple[str | None, ...]
    status: NDArray[np.str_]
    tags: tuple[tuple[str, ...], ...]
    do_not_contact: NDArray[np.bool_]
    since: Days
    cancelled_on: Days
    next_due: Days
    birthday: NDArray[np.int32]
    first_activity: Days
    last_activity: Days
    last_by_kind: Mapping[str, Days]
    last_personal_touch: Days
    last_feedback_asked: Days
    attention_after: Days
    lapse_risk: NDArray[np.float64]
    trend: NDArray[np.int8]
    activities: NDArray[np.int64]
    yearly_value_cents: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.internal_id.size)

    @classmethod
    def of(cls, facts: Sequence[ClientFacts], internal_ids: Sequence[int]) -> ClientColumns:
        """The columns of these clients' facts (what the daily job reads column by column
        must equal this: tested)."""
        count = len(facts)
        rhythms = [f.rhythm for f in facts]
        kinds = sorted({k for f in facts for k in f.last_by_kind})
        return cls(
            internal_id=np.asarray(internal_ids, dtype=np.int64),
            client_id=tuple(f.client.id for f in facts),
            owner=tuple(f.client.owner for f in facts),
            status=np.array([str(f.client.status) for f in facts], dtype=str),
            tags=tuple(f.client.tags for f in facts),
            do_not_contact=np.fromiter((f.client.do_not_contact for f in facts), bool, count),
            since=day_numbers(f.client.since for f in facts),
            cancelled_on=day_numbers(f.client.cancelled_on for f in facts),
            next_due=day_numbers(f.client.next_due for f in facts),
            birthday=month_day(day_numbers(f.client.birthday for f in facts)),
            first_activity=day_numbers(f.first_activity for f in facts),
            last_activity=day_numbers(f.last_activity for f in facts),
            last_by_kind={k: day_numbers(f.last_by_kind.get(k) for f in facts) for k in kinds},
            last_personal_touch=day_numbers(f.last_personal_touch for f in facts),
            last_feedback_asked=day_numbers(f.last_feedback_asked for f in facts),
            attention_after=day_numbers(
                r.attention_after if r and r.last_activity else None for r in rhythms
            ),
            lapse_risk=np.array(
                [np.nan if r is None or r.lapse_risk is None else r.lapse_risk for r in rhythms],
                dtype=np.float64,
            ),
            trend=np.fromiter((r.trend_direction if r else 0 for r in rhythms), np.int8, count),
            activities=np.fromiter((r.activities if r else 0 for r in rhythms), np.int64, count),
            yearly_value_cents=np.fromiter(
                (yearly_value_cents(r) if r else -1 for r in rhythms), np.int64, count
            ),
        )

    def status_is(self, status: ClientStatus) -> NDArray[np.bool_]:
        return np.asarray(self.status == status.value, dtype=bool)

    def days_silent_from(self) -> Days:
        """The day silence is counted from: the last personal touch, else `since`, else the
        first activity (`NO_DAY` with none of them): as the cadence rule and the planner
        count it."""
        start = np.where(self.last_personal_touch != NO_DAY, self.last_personal_touch, self.since)
        return np.where(start != NO_DAY, start, self.first_activity)


_UNIX_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _moments(days: Days) -> NDArray[np.datetime64]:
    """Day numbers as numpy days (1 January 1970 for `NO_DAY`: mask it)."""
    present = days != NO_DAY
    return (np.where(present, days, _UNIX_ORDINAL).astype(np.int64) - _UNIX_ORDINAL).astype(
        "datetime64[D]"
    )


def month_day(days: Days) -> NDArray[np.int32]:
    """Month * 100 + day of each day number (0 for `NO_DAY`), as `ClientColumns.birthday`."""
    moments = _moments(days)
    months = moments.astype("datetime64[M]")
    month = months.astype(np.int64) % 12 + 1
    day = (moments - months).astype(np.int64) + 1
    return np.where(days != NO_DAY, month * 100 + day, 0).astype(np.int32)


def year_of(days: Days) -> NDArray[np.int64]:
    """The year of each day number (meaningless for `NO_DAY`: mask it)."""
    return np.asarray(_moments(days).astype("datetime64[Y]").astype(np.int64) + 1970, np.int64)
