"""Signals (one reason a client needs attention now) and the facts the rules read.

Plain values: no database, no clock. `ClientFacts` is what a service computes about one client
before calling `keepwarm.rules.signals_for`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from keepwarm.domain.model import Activity, Client, Rhythm, SignalCode, Touch


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
