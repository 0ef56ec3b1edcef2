"""Who did what to an action (the append-only `action_events`) and reminders, in the store.
Never commits."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Select, and_, func, insert, select, update

from keepwarm.store.actions import reminder_only
from keepwarm.store.tables import action_events, actions, clients, reminders, staff, touches

_events_staff = staff.alias("events_staff")


def add_event(
    conn: Connection,
    *,
    step: str,
    client_id: int,
    staff_id: int | None,
    actor: str,
    user_id: int | None,
    at: dt.datetime,
    action_id: int | None = None,
    reminder_id: int | None = None,
    details: Mapping[str, object] | None = None,
) -> int:
    """Append one step to the history; its id."""
    shown = {k: v for k, v in (details or {}).items() if v is not None}
    return int(
        conn.execute(
            insert(action_events)
            .values(
                step=step,
                client_id=client_id,
                staff_id=staff_id,
                actor=actor,
                user_id=user_id,
                at=at,
                action_id=action_id,
                reminder_id=reminder_id,
                details=json.dumps(shown, default=str),
            )
            .returning(action_events.c.id)
        ).scalar_one()
    )


def last_step(conn: Connection, action_id: int) -> Any | None:
    """The latest step taken on an action (step, details), or None."""
    return conn.execute(
        select(action_events.c.step, action_events.c.details)
        .where(action_events.c.action_id == action_id)
        .order_by(action_events.c.id.desc())
        .limit(1)
    ).first()


def _events_select() -> Select[Any]:
    return (
        select(
            action_events,
            clients.c.external_id,
            clients.c.name.label("client_name"),
            _events_staff.c.name.label("staff_name"),
        )
        .join(clients, clients.c.id == action_events.c.client_id)
        .outerjoin(_events_staff, _events_staff.c.id == action_events.c.staff_id)
    )


def events(
    conn: Connection,
    *,
    client_id: int | None = None,
    staff_name: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Any], int]:
    """The newest steps first (one client's, one member's, or everyone's), and how many in all."""
    where = []
    if client_id is not None:
        where.append(action_events.c.client_id == client_id)
    if staff_name is not None:
        where.append(_events_staff.c.name == staff_name)
    query = _events_select().where(*where)
    total = conn.execute(
        select(func.count())
        .select_from(action_events)
        .outerjoin(_events_staff, _events_staff.c.id == action_events.c.staff_id)
        .where(*where)
    ).scalar_one()
    rows = conn.execute(
        query.order_by(action_events.c.at.desc(), action_events.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def put_away(conn: Connection, staff_name: str | None = None, limit: int = 200) -> list[Any]:
    """Snoozed actions, and actions a person dismissed (not those keepwarm retired), the latest
    put away first, each with the step that put it away (who, when)."""
    steps = action_events.alias("steps")
    latest = (
        select(func.max(steps.c.id))
        .where(steps.c.action_id == actions.c.id)
        .correlate(actions)
        .scalar_subquery()
    )
    query = (
        select(
            actions.c.id,
            actions.c.status,
            actions.c.snoozed_until,
            actions.c.dismissed_reason,
            actions.c.signals,
            actions.c.day,
            clients.c.external_id,
            clients.c.name.label("client_name"),
            staff.c.name.label("staff_name"),
            action_events.c.actor,
            action_events.c.at,
        )
        .join(clients, clients.c.id == actions.c.client_id)
        .outerjoin(staff, staff.c.id == actions.c.staff_id)
        .join(
            action_events,
            and_(action_events.c.id == latest, action_events.c.step == actions.c.status),
        )
        .where(actions.c.status.in_(("snoozed", "dismissed")))
        .order_by(action_events.c.at.desc(), actions.c.id.desc())
        .limit(limit)
    )
    if staff_name is not None:
        query = query.where(staff.c.name == staff_name)
    return list(conn.execute(query))


def delete_touch(conn: Connection, touch_id: int) -> None:
    conn.execute(touches.delete().where(touches.c.id == touch_id))


def reopen_closed_with(conn: Connection, client_id: int, closed_at: dt.datetime) -> int:
    """Open again the client's other actions that a touch closed at `closed_at` (when that
    touch is taken back)."""
    return conn.execute(
        update(actions)
        .where(
            actions.c.client_id == client_id,
            actions.c.status == "done",
            actions.c.touch_id.is_(None),
            actions.c.closed_at == closed_at,
        )
        .values(status="open", closed_at=None)
    ).rowcount


def other_live_action(conn: Connection, client_id: int, action_id: int) -> Any | None:
    """Another open or waiting action of the client (not a reminder's), if any."""
    return conn.execute(
        select(actions.c.id, staff.c.name.label("staff_name"))
        .outerjoin(staff, staff.c.id == actions.c.staff_id)
        .where(
            actions.c.client_id == client_id,
            actions.c.id != action_id,
            actions.c.status.in_(("open", "waiting")),
            ~reminder_only(),
        )
        .limit(1)
    ).first()


# --- reminders --------------------------------------------------------------------------------


def insert_reminder(
    conn: Connection,
    *,
    client_id: int,
    staff_id: int,
    on: dt.date,
    note: str,
    set_by: str,
    now: dt.datetime,
) -> int:
    return int(
        conn.execute(
            insert(reminders)
            .values(
                client_id=client_id,
                staff_id=staff_id,
                on=on,
                note=note,
                set_by=set_by,
                created_at=now,
            )
            .returning(reminders.c.id)
        ).scalar_one()
    )


def _reminders_select() -> Select[Any]:
    return (
        select(
            reminders,
            clients.c.external_id,
            clients.c.name.label("client_name"),
            clients.c.do_not_contact,
            staff.c.name.label("staff_name"),
            staff.c.active.label("staff_active"),
            actions.c.status.label("action_status"),
        )
        .join(clients, clients.c.id == reminders.c.client_id)
        .outerjoin(staff, staff.c.id == reminders.c.staff_id)
        .outerjoin(actions, actions.c.id == reminders.c.action_id)
    )


def get_reminder(conn: Connection, reminder_id: int) -> Any | None:
    return conn.execute(_reminders_select().where(reminders.c.id == reminder_id)).first()


def client_reminders(conn: Connection, client_id: int) -> list[Any]:
    """The client's reminders not deleted, the next first."""
    return list(
        conn.execute(
            _reminders_select()
            .where(reminders.c.client_id == client_id, reminders.c.deleted_at.is_(None))
            .order_by(reminders.c.on, reminders.c.id)
        )
    )


def due_reminders(conn: Connection, day: dt.date) -> list[Any]:
    """Reminders of `day` or earlier not yet on a list and not deleted, oldest first."""
    return list(
        conn.execute(
            _reminders_select()
            .where(
                reminders.c.on <= day,
                reminders.c.action_id.is_(None),
                reminders.c.deleted_at.is_(None),
            )
            .order_by(reminders.c.on, reminders.c.id)
        )
    )


def link_reminder(conn: Connection, reminder_id: int, action_id: int) -> None:
    conn.execute(update(reminders).where(reminders.c.id == reminder_id).values(action_id=action_id))


def delete_reminder(conn: Connection, reminder_id: int, now: dt.datetime) -> bool:
    """Delete a pending reminder (not yet on a list); False when it is not pending."""
    return bool(
        conn.execute(
            update(reminders)
            .where(
                reminders.c.id == reminder_id,
                reminders.c.action_id.is_(None),
                reminders.c.deleted_at.is_(None),
            )
            .values(deleted_at=now)
        ).rowcount
    )


def reminder_of_action(conn: Connection, action_id: int) -> int | None:
    found: int | None = conn.execute(
        select(reminders.c.id).where(reminders.c.action_id == action_id)
    ).scalar()
    return found


def wake_snoozed_reminders(conn: Connection, day: dt.date) -> int:
    """Reminders' actions snoozed until `day` or before: open again (the planner does this
    for its own actions; a reminder's action is kept apart from the plan)."""
    return conn.execute(
        update(actions)
        .where(actions.c.status == "snoozed", actions.c.snoozed_until <= day, reminder_only())
        .values(status="open", snoozed_until=None, closed_at=None)
    ).rowcount


def open_action_of(conn: Connection, client_id: int, staff_id: int) -> Any | None:
    """The client's open planned action on a member's list (not a reminder's own), if any."""
    return conn.execute(
        select(actions.c.id, actions.c.signals, actions.c.why)
        .where(
            actions.c.client_id == client_id,
            actions.c.staff_id == staff_id,
            actions.c.status == "open",
            ~reminder_only(),
        )
        .order_by(actions.c.id)
        .limit(1)
    ).first()


def open_reminder_actions(conn: Connection) -> list[Any]:
    """Reminders' own actions still open, with their reminder."""
    return list(
        conn.execute(
            select(
                actions.c.id,
                actions.c.client_id,
                actions.c.staff_id,
                actions.c.signals,
                reminders.c.id.label("reminder_id"),
            )
            .join(reminders, reminders.c.action_id == actions.c.id)
            .where(actions.c.status == "open", reminder_only())
        )
    )


def join_reminder(
    conn: Connection, action_id: int, signal: Mapping[str, str], why: str, old_signals: str
) -> None:
    """A reminder joins a planned action: its reason first, the action first on the list."""
    signals = [dict(signal), *[s for s in json.loads(old_signals) if s.get("code") != "reminder"]]
    conn.execute(
        update(actions)
        .where(actions.c.id == action_id)
        .values(signals=json.dumps(signals), rank=0, why=why)
    )


def delete_action(conn: Connection, action_id: int) -> None:
    conn.execute(actions.delete().where(actions.c.id == action_id))
