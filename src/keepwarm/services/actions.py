"""The actions on a list: done (which records the touch), snoozed, dismissed, and who may act
on which.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine

from keepwarm.domain.errors import InvalidInput, NotAllowed, NotFound
from keepwarm.domain.model import Touch, User
from keepwarm.services.touches import add_touch, normalise_channel
from keepwarm.store import actions as q
from keepwarm.store import reading, writing


def _open_action(conn: Connection, action_id: int) -> Any:
    row = q.get_action(conn, action_id)
    if row is None:
        raise NotFound(f"no action {action_id} (see `keepwarm today`)")
    if row.status not in ("open", "snoozed"):
        raise InvalidInput(f"action {action_id} is already {row.status}")
    return row


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
    """Record the touch that did the action (by its member of staff) and close the action,
    in one transaction."""
    with writing(engine) as conn:
        row = _open_action(conn, action_id)
        touch = Touch(
            row.external_id,
            day,
            normalise_channel(channel or row.channel),
            row.staff_name,
            (note or "").strip() or None,
            (outcome or "").strip() or None,
        )
        touch_id = add_touch(conn, touch, now)
        q.set_action(conn, action_id, status="done", touch_id=touch_id, closed_at=now)
        q.close_touched_actions(conn, now)
    return touch


def snooze_action(
    engine: Engine, action_id: int, *, until: dt.date, today: dt.date, now: dt.datetime
) -> None:
    """Put the action away until `until`, when the daily plan brings it back."""
    if until <= today:
        raise InvalidInput(f"snooze until a day after today ({today}), not {until}")
    with writing(engine) as conn:
        _open_action(conn, action_id)
        q.set_action(conn, action_id, status="snoozed", snoozed_until=until, closed_at=now)


def dismiss_action(engine: Engine, action_id: int, *, reason: str, now: dt.datetime) -> None:
    """Drop the action: it does not come back for the same reasons until they change."""
    if not reason.strip():
        raise InvalidInput("say why the action is dismissed (--reason)")
    with writing(engine) as conn:
        _open_action(conn, action_id)
        q.set_action(
            conn, action_id, status="dismissed", dismissed_reason=reason.strip(), closed_at=now
        )


def check_may_act(engine: Engine, user: User, action_id: int) -> None:
    """The owner may act on any action; staff only on those on their own list. Raises
    NotFound for no such action, NotAllowed for someone else's."""
    with reading(engine) as conn:
        row = q.get_action(conn, action_id)
    if row is None:
        raise NotFound(f"no action {action_id}")
    if not user.is_owner and row.staff_name != user.staff:
        raise NotAllowed("this action is on someone else's list")
