"""The actions on a list: done (which records the touch), snoozed, dismissed, undone and
reopened; who may act on which; and the history of who did what.

`act`, `undo` and `reopen` are the one place an action changes hands, from the CLI, the Today
page and the API alike: each reads the action, checks the person may act on it, checks its
state, applies the step and appends it to the history (`action_events`: who clicked, whose
list and quota it counts for, when, the details), all in one transaction (so no one can act
between the check and the change, and no step goes unrecorded).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from keepwarm.domain.actions import UNDOABLE, ActionEvent
from keepwarm.domain.errors import InvalidInput, NotAllowed, NotFound
from keepwarm.domain.model import Touch, User
from keepwarm.domain.policy import Policy
from keepwarm.services.reminders import FollowUp, actor_of, add_reminder, check_follow_up
from keepwarm.services.touches import add_touch, personal_channel
from keepwarm.store import action_history as h
from keepwarm.store import actions as q
from keepwarm.store import outbox as outbox_q
from keepwarm.store import queries, reading, writing
from keepwarm.store.policy import load_policy_data

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Done:
    """The contact was made: record the touch (by the action's member of staff, for their
    quota), and optionally set a follow-up reminder for them."""

    channel: str | None = None  # default: the channel the plan suggested
    outcome: str | None = None
    note: str | None = None
    follow_up: FollowUp | None = None


@dataclass(frozen=True)
class Snooze:
    """Put the action away until `until`, when the daily plan brings it back."""

    until: dt.date


@dataclass(frozen=True)
class Dismiss:
    """Drop the action: it does not come back for the same reasons until they change."""

    reason: str


Step = Done | Snooze | Dismiss


def _load(conn: Connection, action_id: int, by: User | None) -> Any:
    row = q.get_action(conn, action_id)
    if row is None:
        raise NotFound(f"no action {action_id} (see `keepwarm today`)")
    if by is not None and not by.is_owner and row.staff_name != by.staff:
        raise NotAllowed("this action is on someone else's list")
    return row


def record_step(
    conn: Connection,
    row: Any,
    step: str,
    by: User | None,
    now: dt.datetime,
    details: dict[str, object],
) -> None:
    """Append a step on the action `row` (a stored action with its client and staff ids) to
    the history, in the caller's transaction."""
    h.add_event(
        conn,
        step=step,
        client_id=row.client_id,
        staff_id=row.staff_id,
        actor=actor_of(by),
        user_id=by.id if by else None,
        at=now,
        action_id=row.id,
        reminder_id=h.reminder_of_action(conn, row.id),
        details=details,
    )


def act(
    engine: Engine,
    action_id: int,
    step: Step,
    *,
    by: User | None,
    day: dt.date,
    now: dt.datetime,
) -> Touch | None:
    """Apply `step` to the action and record who did it, in one transaction. `by` is the
    signed-in user (the owner may act on any action, staff only on their own list), or None
    for the command line, which runs with the business's own rights. Returns the touch
    recorded by `Done` (it counts for the action's member of staff, whoever clicked).

    Raises NotFound (no such action), NotAllowed (someone else's), InvalidInput (already
    closed, a snooze not after `day`, a dismissal without a reason, a follow-up in the past)."""
    with writing(engine) as conn:
        row = _load(conn, action_id, by)
        if row.status not in ("open", "snoozed"):
            raise InvalidInput(f"action {action_id} is already {row.status}")
        touch = _apply(conn, row, step, by, day, now)
    log.info("action %s: %s", action_id, type(step).__name__.lower())
    return touch


def _apply(
    conn: Connection, row: Any, step: Step, by: User | None, day: dt.date, now: dt.datetime
) -> Touch | None:
    match step:
        case Done(channel, outcome, note, follow_up):
            if follow_up is not None:
                check_follow_up(follow_up.on, follow_up.note, day, "follow_up_on")
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
            reminder_id = None
            if follow_up is not None:
                if row.staff_name is None:
                    raise InvalidInput("follow_up_on: the action is on no one's list")
                reminder_id = add_reminder(
                    conn,
                    client_id=row.external_id,
                    staff_name=row.staff_name,
                    on=follow_up.on,
                    note=follow_up.note,
                    by=by,
                    day=day,
                    now=now,
                    field="follow_up_on",
                    action_id=row.id,
                )
            details: dict[str, object] = {
                "channel": touch.channel,
                "outcome": touch.outcome,
                "note": touch.note,
                "date": day.isoformat(),
                "touch_id": touch_id,
                "follow_up": reminder_id,
            }
            record_step(conn, row, "done", by, now, details)
            return touch
        case Snooze(until):
            if until <= day:
                raise InvalidInput(f"until: snooze until a day after today ({day}), not {until}")
            q.set_action(conn, row.id, status="snoozed", snoozed_until=until, closed_at=now)
            record_step(conn, row, "snoozed", by, now, {"until": until.isoformat()})
        case Dismiss(reason):
            if not reason.strip():
                raise InvalidInput("reason: say why the action is dismissed (--reason)")
            q.set_action(
                conn, row.id, status="dismissed", dismissed_reason=reason.strip(), closed_at=now
            )
            record_step(conn, row, "dismissed", by, now, {"reason": reason.strip()})
    return None


def undo(engine: Engine, action_id: int, *, by: User | None, now: dt.datetime) -> str:
    """Take back the last step on an action (done, snoozed or dismissed) if nothing happened
    to it since: a done's touch is deleted (the quota counts go back), with any follow-up it
    set that is still pending, and the action is open again; a snooze or a dismissal opens it
    again. Recorded in the history. Returns the step taken back."""
    with writing(engine) as conn:
        row = _load(conn, action_id, by)
        last = h.last_step(conn, action_id)
        details = json.loads(last.details) if last else {}
        if last is not None and last.step == "done" and details.get("outbox_id") is not None:
            _stop_message(conn, action_id, int(details["outbox_id"]), now)
        if (
            last is None
            or UNDOABLE.get(last.step) != row.status
            or (last.step == "done" and details.get("touch_id") != row.touch_id)
        ):
            raise InvalidInput(
                f"action {action_id}: nothing to undo (it is {row.status}"
                + (f"; its last step was {last.step})" if last else ")")
            )
        if last.step == "done":
            q.set_action(conn, row.id, status="open", touch_id=None, closed_at=None)
            if row.touch_id is not None:
                h.delete_touch(conn, row.touch_id)
            h.reopen_closed_with(conn, row.client_id, row.closed_at)
            follow_up = details.get("follow_up")
            pending = h.get_reminder(conn, int(follow_up)) if follow_up is not None else None
            if pending is not None and h.delete_reminder(conn, pending.id, now):
                h.add_event(
                    conn,
                    step="reminder_deleted",
                    client_id=row.client_id,
                    staff_id=row.staff_id,
                    actor=actor_of(by),
                    user_id=by.id if by else None,
                    at=now,
                    reminder_id=pending.id,
                    details={"on": pending.on.isoformat(), "note": pending.note, "undid": "done"},
                )
        else:
            q.set_action(
                conn,
                row.id,
                status="open",
                snoozed_until=None,
                dismissed_reason=None,
                closed_at=None,
            )
        record_step(conn, row, "undone", by, now, {"undid": last.step})
    log.info("action %s: undone (%s)", action_id, last.step)
    return str(last.step)


def _stop_message(conn: Connection, action_id: int, outbox_id: int, now: dt.datetime) -> None:
    """Undoing a done that queued a message stops the message, or is refused once it left
    (a message that left cannot be taken back)."""
    if not outbox_q.move(conn, outbox_id, ("queued", "retry"), now, state="cancelled"):
        state = outbox_q.get(conn, outbox_id)
        raise InvalidInput(
            f"action {action_id}: its message {outbox_id} is "
            f"{state.state if state else 'gone'} and cannot be taken back "
            "(see `keepwarm outbox list`)"
        )


def reopen(engine: Engine, action_id: int, *, by: User | None, now: dt.datetime) -> None:
    """Put a snoozed or dismissed action back on its member's list today; recorded. Refused
    when the client is on a list already (act on that action)."""
    with writing(engine) as conn:
        row = _load(conn, action_id, by)
        if row.status not in ("snoozed", "dismissed"):
            raise InvalidInput(
                f"action {action_id} is {row.status}: only a snoozed or "
                "dismissed action can be reopened"
            )
        other = h.other_live_action(conn, row.client_id, row.id)
        if other is not None and h.reminder_of_action(conn, row.id) is None:
            raise InvalidInput(
                f"client {row.external_id} is on {other.staff_name or 'no one'}'s list already "
                f"(action {other.id})"
            )
        q.set_action(
            conn, row.id, status="open", snoozed_until=None, dismissed_reason=None, closed_at=None
        )
        record_step(conn, row, "reopened", by, now, {"was": row.status})
    log.info("action %s: reopened", action_id)


# --- the history ------------------------------------------------------------------------------


def _zone(conn: Connection) -> ZoneInfo:
    data = load_policy_data(conn)
    return ZoneInfo((Policy() if data is None else Policy.from_dict(data)).time_zone)


def _event(r: Any, zone: ZoneInfo) -> ActionEvent:
    at = r.at if r.at.tzinfo else r.at.replace(tzinfo=dt.UTC)
    return ActionEvent(
        r.id,
        r.step,
        r.actor,
        r.staff_name,
        at.astimezone(zone),
        r.external_id,
        r.client_name,
        r.action_id,
        r.reminder_id,
        {k: str(v) for k, v in json.loads(r.details).items()},
    )


@dataclass(frozen=True)
class Feed:
    """One page of the history, newest first, and how many steps there are in all."""

    events: list[ActionEvent]
    total: int
    offset: int
    limit: int


def feed(engine: Engine, *, staff: str | None = None, limit: int = 50, offset: int = 0) -> Feed:
    """Who did what, newest first: everyone's, or one member's (the steps on their list)."""
    if limit < 1 or offset < 0:
        raise InvalidInput("page: a page starts at 0 and holds at least one step")
    with reading(engine) as conn:
        if staff is not None and queries.staff_by_name(conn, staff) is None:
            raise NotFound(
                f"staff: no member of staff called {staff!r} (see `keepwarm staff list`)"
            )
        rows, total = h.events(conn, staff_name=staff, limit=limit, offset=offset)
        zone = _zone(conn)
    return Feed([_event(r, zone) for r in rows], total, offset, limit)


def client_history(engine: Engine, client_id: str, *, limit: int = 200) -> list[ActionEvent]:
    """A client's steps (actions and reminders), newest first."""
    with reading(engine) as conn:
        internal = queries.client_internal_id(conn, client_id)
        if internal is None:
            raise NotFound(f"no client with id {client_id!r}")
        rows, _ = h.events(conn, client_id=internal, limit=limit)
        zone = _zone(conn)
    return [_event(r, zone) for r in rows]


@dataclass(frozen=True)
class PutAway:
    """A snoozed or dismissed action, with who put it away and when."""

    id: int
    client_id: str
    client_name: str
    staff: str | None
    status: str
    until: dt.date | None
    reason: str | None
    actor: str
    at: dt.datetime
    signals: tuple[dict[str, str], ...] = dataclasses.field(default=(), hash=False)


def put_away(engine: Engine, staff: str | None = None) -> list[PutAway]:
    """Snoozed and dismissed actions (everyone's, or one member's), the latest first."""
    with reading(engine) as conn:
        rows = h.put_away(conn, staff)
        zone = _zone(conn)
    out = []
    for r in rows:
        at = r.at if r.at.tzinfo else r.at.replace(tzinfo=dt.UTC)
        out.append(
            PutAway(
                r.id,
                r.external_id,
                r.client_name,
                r.staff_name,
                r.status,
                r.snoozed_until,
                r.dismissed_reason,
                r.actor,
                at.astimezone(zone),
                tuple(json.loads(r.signals)),
            )
        )
    return out


# --- the command line's rights ----------------------------------------------------------------


def complete_action(
    engine: Engine,
    action_id: int,
    *,
    channel: str | None,
    outcome: str | None,
    note: str | None,
    day: dt.date,
    now: dt.datetime,
    follow_up: FollowUp | None = None,
) -> Touch:
    """Record the touch that did the action and close it (the command line's rights)."""
    step = Done(channel, outcome, note, follow_up)
    touch = act(engine, action_id, step, by=None, day=day, now=now)
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
