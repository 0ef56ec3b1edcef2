"""The actions on a list: done (which records the touch), snoozed, dismissed, and who may act
on which.

`act` is the one place an action is acted on, from the CLI, the Today page and the API alike:
it reads the action, checks the person may act on it, checks it is still open, and applies the
step, all in one transaction (so no one can act between the check and the change).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from keepwarm.domain.errors import InvalidInput, NotAllowed, NotFound
from keepwarm.domain.model import Touch, User
from keepwarm.services.touches import add_touch, personal_channel
from keepwarm.store import actions as q
from keepwarm.store import writing


@dataclass(frozen=True)
class Done:
    """The contact was made: record the touch (by the action's member of staff)."""

    channel: str | None = None  # default: the channel the plan suggested
    outcome: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Snooze:
    """Put the action away until `until`, when the daily plan brings it back."""

    until: dt.date


@dataclass(frozen=True)
class Dismiss:
    """Drop the action: it does not come back for the same reasons until they change."""

    reason: str


Step = Done | Snooze | Dismiss


def act(
    engine: Engine,
    action_id: int,
    step: Step,
    *,
    by: User | None,
    day: dt.date,
    now: dt.datetime,
) -> Touch | None:
    """Apply `step` to the action, in one transaction. `by` is the signed-in user (the owner
    may act on any action, staff only on their own list), or None for the command line, which
    runs with the business's own rights. Returns the touch recorded by `Done`.

    Raises NotFound (no such action), NotAllowed (someone else's), InvalidInput (already
    closed, a snooze not after `day`, a dismissal without a reason)."""
    with writing(engine) as conn:
        row = q.get_action(conn, action_id)
        if row is None:
            raise NotFound(f"no action {action_id} (see `keepwarm today`)")
        if by is not None and not by.is_owner and row.staff_name != by.staff:
            raise NotAllowed("this action is on someone else's list")
        if row.status not in ("open", "snoozed"):
            raise InvalidInput(f"action {action_id} is already {row.status}")
        return _apply(conn, row, step, day, now)


def _apply(conn: Connection, row: Any, step: Step, day: dt.date, now: dt.datetime) -> Touch | None:
    match step:
        case Done(channel, outcome, note):
            touch = Touch(
                row.external_id,
                day,
                personal_channel(channel or row.channel),
                row.staff_name,
                (note or "").strip() or None,
                (outcome or "").strip() or None,
            )
            touch_id = add_touch(conn, touch, now)
            q.set_action(conn, row.id, status="done", touch_id=touch_id, closed_at=now)
            q.close_touched_actions(conn, now)
            return touch
        case Snooze(until):
            if until <= day:
                raise InvalidInput(f"snooze until a day after today ({day}), not {until}")
            q.set_action(conn, row.id, status="snoozed", snoozed_until=until, closed_at=now)
        case Dismiss(reason):
            if not reason.strip():
                raise InvalidInput("say why the action is dismissed (--reason)")
            q.set_action(
                conn, row.id, status="dismissed", dismissed_reason=reason.strip(), closed_at=now
            )
    return None


def complete_action(
    engine: Engine,
    action_id: int,
    *,
    channel: str | None,
    outcome: str | None,
    note: str | None,
    day: dt.date,
    now: dt.datetime,
) -> Touch:
    """Record the touch that did the action and close it (the command line's rights)."""
    touch = act(engine, action_id, Done(channel, outcome, note), by=None, day=day, now=now)
    assert touch is not None
    return touch


def snooze_action(
    engine: Engine, action_id: int, *, until: dt.date, today: dt.date, now: dt.datetime
) -> None:
    """Put the action away until `until` (the command line's rights)."""
    act(engine, action_id, Snooze(until), by=None, day=today, now=now)


def dismiss_action(engine: Engine, action_id: int, *, reason: str, now: dt.datetime) -> None:
    """Drop the action (the command line's rights)."""
    act(engine, action_id, Dismiss(reason), by=None, day=now.date(), now=now)
