"""Queries behind the week view and the calendar feed: recalls due, personal occasions,
pending reminders and snoozed actions coming back, between two dates. Never commits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from keepwarm.store.tables import actions, clients, reminders, staff

_owner = staff.alias("owner")


def _staff_is(column: ColumnElement[Any], staff_name: str | None) -> list[ColumnElement[bool]]:
    """No condition for everyone (None); else the column names that member of staff."""
    if staff_name is None:
        return []
    return [column == select(staff.c.id).where(staff.c.name == staff_name).scalar_subquery()]


def recalls(
    conn: Connection, start: dt.date, end: dt.date, staff_name: str | None
) -> list[dict[str, Any]]:
    """Clients whose next due date falls in [start, end), with their owner."""
    rows = conn.execute(
        select(
            clients.c.external_id,
            clients.c.name,
            clients.c.next_due.label("day"),
            _owner.c.name.label("staff"),
        )
        .outerjoin(_owner, _owner.c.id == clients.c.owner_id)
        .where(
            clients.c.next_due >= start,
            clients.c.next_due < end,
            clients.c.do_not_contact.is_(False),
            *_staff_is(clients.c.owner_id, staff_name),
        )
        .order_by(clients.c.next_due, clients.c.name)
    )
    return [dict(r._mapping) for r in rows]


def dated_clients(conn: Connection, staff_name: str | None) -> list[dict[str, Any]]:
    """Clients with a birthday or a 'client since' date (for the occasions of any week)."""
    rows = conn.execute(
        select(
            clients.c.external_id,
            clients.c.name,
            clients.c.birthday,
            clients.c.since,
            _owner.c.name.label("staff"),
        )
        .outerjoin(_owner, _owner.c.id == clients.c.owner_id)
        .where(
            (clients.c.birthday.is_not(None)) | (clients.c.since.is_not(None)),
            clients.c.do_not_contact.is_(False),
            *_staff_is(clients.c.owner_id, staff_name),
        )
    )
    return [dict(r._mapping) for r in rows]


def pending_reminders(
    conn: Connection, start: dt.date, end: dt.date, staff_name: str | None
) -> list[dict[str, Any]]:
    """Reminders due in [start, end) not yet placed on a list nor deleted."""
    rows = conn.execute(
        select(
            reminders.c.id,
            reminders.c.on.label("day"),
            reminders.c.note,
            clients.c.external_id,
            clients.c.name,
            staff.c.name.label("staff"),
        )
        .join(clients, clients.c.id == reminders.c.client_id)
        .outerjoin(staff, staff.c.id == reminders.c.staff_id)
        .where(
            reminders.c.on >= start,
            reminders.c.on < end,
            reminders.c.action_id.is_(None),
            reminders.c.deleted_at.is_(None),
            *_staff_is(reminders.c.staff_id, staff_name),
        )
        .order_by(reminders.c.on, reminders.c.id)
    )
    return [dict(r._mapping) for r in rows]


def snoozed_returning(
    conn: Connection, start: dt.date, end: dt.date, staff_name: str | None
) -> list[dict[str, Any]]:
    """Snoozed actions whose snooze ends in [start, end)."""
    rows = conn.execute(
        select(
            actions.c.id,
            actions.c.snoozed_until.label("day"),
            actions.c.channel,
            actions.c.why,
            clients.c.external_id,
            clients.c.name,
            staff.c.name.label("staff"),
        )
        .join(clients, clients.c.id == actions.c.client_id)
        .outerjoin(staff, staff.c.id == actions.c.staff_id)
        .where(
            actions.c.status == "snoozed",
            actions.c.snoozed_until >= start,
            actions.c.snoozed_until < end,
            *_staff_is(actions.c.staff_id, staff_name),
        )
        .order_by(actions.c.snoozed_until, actions.c.id)
    )
    return [dict(r._mapping) for r in rows]
