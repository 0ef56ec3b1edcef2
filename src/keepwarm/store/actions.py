"""The daily plan in the store: claiming a day, earlier actions, writing and listing actions.
Never commits."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from keepwarm.store.tables import actions, clients, plans, staff, touches


def claim_day(conn: Connection, day: dt.date, now: dt.datetime) -> bool:
    """Make sure the day's plan row exists; True when that plan is already complete."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(plans).values(day=day, started_at=now, actions=0).on_conflict_do_nothing()
    )
    done = conn.execute(select(plans.c.completed_at).where(plans.c.day == day)).scalar_one()
    return done is not None


def complete_day(
    conn: Connection,
    day: dt.date,
    now: dt.datetime,
    count: int,
    overflow: dict[str, int] | None = None,
) -> bool:
    """Mark the day's plan built, with how many wait beyond each member's stored queue;
    False if another run completed it first (roll back then)."""
    return bool(
        conn.execute(
            update(plans)
            .where(plans.c.day == day, plans.c.completed_at.is_(None))
            .values(completed_at=now, actions=count, overflow=json.dumps(overflow or {}))
        ).rowcount
    )


@dataclass(frozen=True)
class StoredAction:
    id: int
    client_id: str
    client_name: str
    staff: str | None
    status: str
    reason_keys: tuple[str, ...]
    snoozed_until: dt.date | None
    day: dt.date


def reminder_only() -> ColumnElement[bool]:
    """An action that is a reminder alone (its one reason key "reminder:<id>"), or an unhappy
    feedback answer's ("feedback-answer:<id>", keepwarm.services.feedback): kept apart from
    the plan (keepwarm.services.reminders); a planned action a reminder joined keeps its own
    reason keys."""
    return or_(
        actions.c.reason_keys.like('["reminder:%'),
        actions.c.reason_keys.like('["feedback-answer:%'),
    )


def earlier_actions(conn: Connection) -> list[StoredAction]:
    """Every open, waiting, snoozed or dismissed action (done ones are history), but a
    reminder's own (kept apart from the plan: `reminder_only`). Only the columns the plan
    needs: a long queue of waiting actions is read every morning."""
    rows = conn.execute(
        select(
            actions.c.id,
            actions.c.status,
            actions.c.reason_keys,
            actions.c.snoozed_until,
            actions.c.day,
            clients.c.external_id,
            clients.c.name.label("client_name"),
            staff.c.name.label("staff_name"),
        )
        .join(clients, clients.c.id == actions.c.client_id)
        .outerjoin(staff, staff.c.id == actions.c.staff_id)
        .where(actions.c.status.in_(("open", "waiting", "snoozed", "dismissed")))
        .where(~reminder_only())
        .order_by(actions.c.id)
    )
    return [
        StoredAction(
            r.id,
            r.external_id,
            r.client_name,
            r.staff_name,
            r.status,
            tuple(json.loads(r.reason_keys)),
            r.snoozed_until,
            r.day,
        )
        for r in rows
    ]


def latest_planned_day(conn: Connection) -> dt.date | None:
    """The latest day whose plan is complete."""
    result: dt.date | None = conn.execute(
        select(func.max(plans.c.day)).where(plans.c.completed_at.is_not(None))
    ).scalar_one()
    return result


def clients_closed_since(conn: Connection, since: dt.datetime) -> set[str]:
    """Clients with an action done, snoozed or dismissed after `since`: while a plan was
    being made, someone acted; the plan's write leaves them as they are."""
    rows = conn.execute(
        select(clients.c.external_id)
        .join(actions, actions.c.client_id == clients.c.id)
        .where(actions.c.closed_at > since)
    )
    return {r[0] for r in rows}


def waiting_counts(conn: Connection) -> dict[str | None, int]:
    """How many real reasons wait per member of staff (None: nobody): the stored queue and
    what the latest plan counted beyond it."""
    rows = conn.execute(
        select(staff.c.name, func.count())
        .select_from(actions)
        .outerjoin(staff, staff.c.id == actions.c.staff_id)
        .where(actions.c.status == "waiting")
        .group_by(staff.c.name)
    )
    counts: dict[str | None, int] = {r[0]: int(r[1]) for r in rows}
    for name, more in overflow(conn).items():
        counts[name] = counts.get(name, 0) + more
    return counts


def overflow(conn: Connection) -> dict[str, int]:
    """Per member, how many wait beyond the stored queue, as the latest plan counted them."""
    raw = conn.execute(
        select(plans.c.overflow)
        .where(plans.c.completed_at.is_not(None))
        .order_by(plans.c.day.desc())
        .limit(1)
    ).scalar()
    return {str(k): int(v) for k, v in json.loads(raw).items()} if raw else {}


def drop(conn: Connection, action_ids: Sequence[int]) -> None:
    """Delete waiting actions that fell beyond their member's stored queue (bookkeeping, not
    anyone's decision: they are counted, and come back into the queue as it empties)."""
    if action_ids:
        conn.execute(
            delete(actions).where(actions.c.id.in_(list(action_ids)), actions.c.status == "waiting")
        )


def waiting_actions(conn: Connection, staff_name: str | None = None) -> list[Any]:
    """The waiting actions, staff by staff, in queue order."""
    return _listing(conn, "waiting", staff_name)


def move_waiting(conn: Connection, action_ids: Sequence[int], staff_id: int) -> int:
    """Give waiting actions to another member of staff; the count moved."""
    if not action_ids:
        return 0
    return conn.execute(
        update(actions)
        .where(actions.c.id.in_(list(action_ids)), actions.c.status == "waiting")
        .values(staff_id=staff_id)
    ).rowcount


def retire(conn: Connection, action_ids: Sequence[int], now: dt.datetime) -> None:
    """Close earlier open or waiting actions whose reasons are gone today (the client came
    back, the quota no longer needs a hug): dismissed by keepwarm, suppressing nothing."""
    if action_ids:
        conn.execute(
            update(actions)
            .where(actions.c.id.in_(list(action_ids)), actions.c.status.in_(("open", "waiting")))
            .values(
                status="dismissed",
                dismissed_reason="no longer needed",
                reason_keys="[]",
                closed_at=now,
            )
        )


def personal_touches_by_staff(conn: Connection, start: dt.date, end: dt.date) -> dict[str, int]:
    """Personal touches per member of staff from `start` to `end` inclusive."""
    rows = conn.execute(
        select(staff.c.name, func.count(touches.c.id))
        .join(touches, touches.c.staff_id == staff.c.id)
        .where(and_(touches.c.personal.is_(True), touches.c.date.between(start, end)))
        .group_by(staff.c.name)
    )
    return dict(rows.all())


def insert_actions(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(actions), list(rows))


def reopen_all(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Bring earlier actions (open, waiting, or snoozed and now due) onto today's lists or
    into their members' queues: each row holds `action_id`, the new `status` and the new
    values; one executemany for all of them."""
    if not rows:
        return
    names = [k for k in rows[0] if k != "action_id"]
    statement = (
        update(actions)
        .where(actions.c.id == bindparam("action_id"))
        .values({name: bindparam(f"new_{name}") for name in names})
    )
    conn.execute(
        statement,
        [{"action_id": r["action_id"], **{f"new_{n}": r[n] for n in names}} for r in rows],
    )


def internal_ids(conn: Connection, table, column, values: Sequence[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    if not values:
        return {}
    rows = conn.execute(select(column, table.c.id).where(column.in_(list(set(values)))))
    return dict(rows.all())


def open_actions(conn: Connection, staff_name: str | None = None) -> list[Any]:
    """Today's list: every open action, staff by staff, in rank order."""
    return _listing(conn, "open", staff_name)


def _listing_select() -> Any:
    return (
        select(
            actions,
            clients.c.external_id,
            clients.c.name.label("client_name"),
            clients.c.email,
            clients.c.phone,
            staff.c.name.label("staff_name"),
        )
        .join(clients, clients.c.id == actions.c.client_id)
        .outerjoin(staff, staff.c.id == actions.c.staff_id)
    )


def action_listing(conn: Connection, action_id: int) -> Any | None:
    """One action (any status) with what a list shows of it."""
    return conn.execute(_listing_select().where(actions.c.id == action_id)).first()


def _listing(conn: Connection, status: str, staff_name: str | None) -> list[Any]:
    query = (
        _listing_select()
        .where(actions.c.status == status)
        .order_by(staff.c.name, actions.c.rank, actions.c.id)
    )
    if staff_name is not None:
        query = query.where(staff.c.name == staff_name)
    return list(conn.execute(query))


def close_touched_actions(conn: Connection, now: dt.datetime) -> int:
    """Close every open or waiting action whose client has had a personal touch on or after the
    action's day, however that touch was recorded (keepwarm done, keepwarm touch, an import)."""
    touched = (
        select(touches.c.id)
        .where(
            touches.c.client_id == actions.c.client_id,
            touches.c.personal.is_(True),
            touches.c.date >= actions.c.day,
        )
        .exists()
    )
    return conn.execute(
        update(actions)
        .where(actions.c.status.in_(("open", "waiting")), touched)
        .values(status="done", closed_at=now)
    ).rowcount


def get_action(conn: Connection, action_id: int) -> Any | None:
    return conn.execute(
        select(actions, clients.c.external_id, staff.c.name.label("staff_name"))
        .join(clients, clients.c.id == actions.c.client_id)
        .outerjoin(staff, staff.c.id == actions.c.staff_id)
        .where(actions.c.id == action_id)
    ).first()


def set_action(conn: Connection, action_id: int, **values: Any) -> None:
    conn.execute(update(actions).where(actions.c.id == action_id).values(**values))


def plan_completed(conn: Connection, day: dt.date) -> bool:
    return (
        conn.execute(
            select(plans.c.day).where(plans.c.day == day, plans.c.completed_at.is_not(None))
        ).first()
        is not None
    )
