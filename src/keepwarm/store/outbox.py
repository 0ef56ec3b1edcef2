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
