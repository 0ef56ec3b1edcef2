"""The outbox table's queries: insert, claim, move between states, list. Never commits.

Every change of state is a conditional UPDATE on the state the caller saw (`expect`), whose row
count says whether this process won: two senders can never both claim a message, and a person
cannot mark sent a message a sender just claimed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from keepwarm.store.tables import clients, outbox, staff


def insert_message(conn: Connection, **values: Any) -> int:
    row = conn.execute(insert(outbox).values(**values).returning(outbox.c.id)).one()
    return int(row.id)


def move(
    conn: Connection, outbox_id: int, expect: Sequence[str], now: dt.datetime, **values: Any
) -> bool:
    """Set `values` on the message if its state is one of `expect`; True when it was."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.state.in_(list(expect)))
        .values(updated_at=now, **values)
    )
    return result.rowcount == 1


def get(conn: Connection, outbox_id: int) -> Any | None:
    return conn.execute(_select().where(outbox.c.id == outbox_id)).first()


def by_token(conn: Connection, token: str) -> Any | None:
    return conn.execute(_select().where(outbox.c.token == token)).first()


def for_action(conn: Connection, action_id: int) -> list[Any]:
    return list(
        conn.execute(_select().where(outbox.c.action_id == action_id).order_by(outbox.c.id))
    )


def count_for_action(conn: Connection, action_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.action_id == action_id)
        ).scalar_one()
    )


def _select() -> Any:
    return (
        select(
            outbox,
            clients.c.external_id.label("client_ref"),
            clients.c.name.label("client_name"),
            staff.c.name.label("staff_name"),
        )
        .outerjoin(clients, clients.c.id == outbox.c.client_id)
        .outerjoin(staff, staff.c.id == outbox.c.staff_id)
    )


def listing(
    conn: Connection,
    *,
    staff_name: str | None = None,
    states: Sequence[str] = (),
    client_id: int | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Any]:
    """Messages newest first, optionally only one member's, some states or one client's."""
    query = _select()
    if staff_name is not None:
        query = query.where(staff.c.name == staff_name)
    if states:
        query = query.where(outbox.c.state.in_(list(states)))
    if client_id is not None:
        query = query.where(outbox.c.client_id == client_id)
    query = query.order_by(outbox.c.id.desc()).limit(limit).offset(offset)
    return list(conn.execute(query))


def state_counts(conn: Connection, staff_name: str | None = None) -> dict[str, int]:
    query = select(outbox.c.state, func.count()).group_by(outbox.c.state)
    if staff_name is not None:
        query = query.outerjoin(staff, staff.c.id == outbox.c.staff_id).where(
            staff.c.name == staff_name
        )
    return {state: int(n) for state, n in conn.execute(query)}


def due(conn: Connection, now: dt.datetime, limit: int | None = None) -> list[Any]:
    """Messages to send now, oldest first: queued ones (not deferred past `now`) and retries
    whose time has come."""
    c = outbox.c
    waiting = (c.next_attempt_at.is_(None)) | (c.next_attempt_at <= now)
    query = (
        _select()
        .where(
            ((c.state == "queued") & waiting) | ((c.state == "retry") & (c.next_attempt_at <= now))
        )
        .order_by(c.created_at, c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query))


def stale_sending(conn: Connection, claimed_before: dt.datetime) -> list[int]:
    """Messages claimed for sending before `claimed_before` and never settled."""
    c = outbox.c
    query = select(c.id).where(c.state == "sending", c.claimed_at < claimed_before)
    return [int(i) for i in conn.execute(query).scalars()]


def left_since(conn: Connection, since: dt.datetime) -> int:
    """Messages that left (or may have: sending, unknown) at or after `since`, by their send
    time or, before it is known, their claim time."""
    c = outbox.c
    at = func.coalesce(c.sent_at, c.claimed_at)
    query = (
        select(func.count())
        .select_from(outbox)
        .where(c.state.in_(["sent", "sending", "unknown"]), at >= since)
    )
    return int(conn.execute(query).scalar_one())
