"""The planner's inputs and output as plain values: candidates, earlier actions, the day's plan.

No database, no clock. A service builds `Candidate`s (facts + signals from
`keepwarm.rules.signals_for`) and `EarlierAction`s from stored actions, calls
`keepwarm.planner.plan_day`, and stores the `Plan` it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from keepwarm.domain.model import SignalCode
from keepwarm.domain.signals import ClientFacts, Signal


@dataclass(frozen=True, slots=True)
class Candidate:
    """One client the planner may put on today's list, with every signal it has today."""

    facts: ClientFacts
    signals: tuple[Signal, ...] = ()
    client_id: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # read once: the planner asks for it several times per client, for every client
        object.__setattr__(self, "client_id", self.facts.client.id)


@dataclass(frozen=True)
class EarlierAction:
    """An action from an earlier day that still matters today.

    Open (not done) or waiting (did not fit an earlier day): it carries over to `staff`, and
    the older it is (`first_day`, the day it was first planned) the sooner it comes. Snoozed: it
    comes back on `until` (inclusive). Dismissed: none of `reason_keys` brings the client back;
    a new key does.
    """

    client_id: str
    staff: str | None = None
    reason_keys: frozenset[str] = frozenset()
    until: dt.date | None = None
    first_day: dt.date | None = None


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """A to-do for one member of staff about one client on one day.

    `rank` is the place on the staff member's list (1 = first). `priority` = `value` x
    `urgency`; `why` explains the place in words with its numbers. `reason_keys` are the keys
    of `signals` (or a single "hug:..." key when the client is picked to keep the habit going);
    dismissing the action suppresses exactly these keys. `forced` marks a cancellation, which
    is on the list even beyond the member's daily capacity. A `waiting` action did not fit
    today's capacity: `rank` is then its place in the member's queue.
    """

    client_id: str
    client_name: str
    staff: str
    rank: int
    priority: float
    value: float
    urgency: float
    signals: tuple[Signal, ...]
    reason_keys: tuple[str, ...]
    channel: str
    why: str
    forced: bool = False
    carried_over: bool = False
    hug: bool = False
    waiting: bool = False


@dataclass(frozen=True)
class Plan:
    """The actions for one day, ordered by staff name then rank, and what waits.

    `waiting` holds real reasons that did not fit their member's capacity today, per member in
    queue order: they come first on a later day. A queue holds a few weeks of the member's
    capacity; `overflow` counts, per member, what waits beyond it (`beyond`: those clients).
    `unassigned` holds ids of clients that had to be on the list (a cancellation) but found no
    active member of staff to take them.
    """

    as_of: dt.date
    actions: tuple[PlannedAction, ...]
    unassigned: tuple[str, ...] = ()
    waiting: tuple[PlannedAction, ...] = ()
    overflow: Mapping[str, int] = field(default_factory=dict)
    beyond: frozenset[str] = frozenset()  # the clients counted in `overflow`

    def waiting_count(self, name: str | None = None) -> int:
        """Everything that waits, for one member or everyone: the queues and beyond."""
        if name is None:
            return len(self.waiting) + sum(self.overflow.values())
        return len(self.waiting_for(name)) + self.overflow.get(name, 0)

    def waiting_for(self, name: str) -> tuple[PlannedAction, ...]:
        """One member of staff's queue, first to come first."""
        return tuple(a for a in self.waiting if a.staff == name)

    def for_staff(self, name: str) -> tuple[PlannedAction, ...]:
        """One member of staff's list, in rank order."""
        return tuple(a for a in self.actions if a.staff == name)

    @property
    def client_ids(self) -> tuple[str, ...]:
        return tuple(a.client_id for a in self.actions)


# --- who did what: the history of actions, and reminders ---------------------------------------

COMMAND_LINE = "command line"
"""Who acted, for a step taken with `keepwarm` at a terminal (the business's own rights)."""

REMINDED = "You asked to be reminded: "


def reminder_signal(reminder_id: int, note: str) -> Signal:
    """The reason a reminder puts its client on its member's list on its day: the member's
    own note, in their words. Pressing (they asked for that day)."""
    return Signal(
        SignalCode.REMINDER, REMINDED + note, 1.0, f"reminder:{reminder_id}", pressing=True
    )


STEP_WORDS: Mapping[str, str] = {
    "done": "Marked done",
    "snoozed": "Snoozed",
    "dismissed": "Dismissed",
    "undone": "Undone",
    "reopened": "Reopened",
    "reminder_set": "Reminder set",
    "reminder_deleted": "Reminder deleted",
}
"""Each step of the history as people read it ("Marked done by Olivia Owner for Dana Reyes")."""

UNDOABLE = {"done": "done", "snoozed": "snoozed", "dismissed": "dismissed"}
"""The steps Undo reverses, by the status they leave the action in."""


@dataclass(frozen=True)
class ActionEvent:
    """One step in the history of a client's actions: who clicked (`actor`), whose list and
    quota it counts for (`staff`), when (`at`, in the business's time zone) and its details
    (until, reason, channel, outcome, note, on, for a reminder its note)."""

    id: int
    step: str
    actor: str
    staff: str | None
    at: dt.datetime
    client_id: str
    client_name: str
    action_id: int | None = None
    reminder_id: int | None = None
    details: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def on_behalf(self) -> bool:
        """Done by someone else than the member whose list it is on."""
        return self.staff is not None and self.actor != self.staff

    @property
    def who(self) -> str:
        """ "by Olivia Owner for Dana Reyes", "by Dana Reyes", "from the command line for ..."."""
        by = "from the command line" if self.actor == COMMAND_LINE else f"by {self.actor}"
        return f"{by} for {self.staff}" if self.on_behalf else by

    @property
    def what(self) -> str:
        """The step and its details in words: "Snoozed until Tue 8 Dec", "Dismissed: moved"."""
        d = self.details
        words = STEP_WORDS.get(self.step, self.step)
        if self.step == "done":
            how = ", ".join(x for x in (d.get("channel"), d.get("outcome")) if x)
            return f"{words}" + (f" ({how})" if how else "")
        if self.step == "snoozed" and d.get("until"):
            return f"{words} until {_day(d['until'])}"
        if self.step == "dismissed" and d.get("reason"):
            return f"{words}: {d['reason']}"
        if self.step == "undone" and d.get("undid"):
            return f"{words} ({STEP_WORDS.get(d['undid'], d['undid']).lower()} taken back)"
        if self.step in ("reminder_set", "reminder_deleted") and d.get("on"):
            return f"{words} for {_day(d['on'])}"
        return words

    @property
    def sentence(self) -> str:
        """ "Marked done (call, reached) by Olivia Owner for Dana Reyes, 3 Dec 14:05"."""
        return f"{self.what} {self.who}, {self.at:%-d %b %H:%M}"


def _day(iso: str) -> str:
    try:
        return f"{dt.date.fromisoformat(iso):%a %-d %b %Y}"
    except ValueError:
        return iso
