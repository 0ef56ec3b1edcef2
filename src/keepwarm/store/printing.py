"""Print batches and their items: the queries of keepwarm.services.printing. Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from keepwarm.store.tables import actions, clients, print_batches, print_items, staff


def insert_batch(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(print_batches).values(**values).returning(print_batches.c.id))
    return int(result.scalar_one())


def insert_item(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(print_items).values(**values).returning(print_items.c.id))
    return int(result.scalar_one())


def open_batch(conn: Connection, kind: str, staff_id: int | None) -> Any | None:
    """The open batch of `kind` for a member of staff (None: the practice's own), if any."""
    b = print_batches.c
    who = b.staff_id.is_(None) if staff_id is None else b.staff_id == staff_id
    return conn.execute(
        select(print_batches)
        .where(b.kind == kind, b.state == "open", who)
        .order_by(b.id.desc())
        .limit(1)
    ).first()


def next_sheet(conn: Connection, batch_id: int) -> int:
    last = conn.execute(
        select(func.max(print_items.c.sheet)).where(print_items.c.batch_id == batch_id)
    ).scalar_one()
    return int(last or 0) + 1


def in_open_batch(conn: Connection, action_id: int) -> bool:
    """Whether the action already has an item in an open batch (it is there once)."""
    found = conn.execute(
        select(print_items.c.id)
        .join(print_batches, print_batches.c.id == print_items.c.batch_id)
        .where(
            print_items.c.action_id == action_id,
            print_batches.c.state == "open",
            print_items.c.state.in_(("pending", "no_address")),
        )
        .limit(1)
    ).first()
    return found is not None


def batch(conn: Connection, batch_id: int) -> Any | None:
    """A batch with its member of staff's name (`staff_name`)."""
    return conn.execute(
        select(print_batches, staff.c.name.label("staff_name"))
        .outerjoin(staff, staff.c.id == print_batches.c.staff_id)
        .where(print_batches.c.id == batch_id)
    ).first()


def batches(
    conn: Connection, *, staff_name: str | None, states: Sequence[str], limit: int = 50
) -> list[Any]:
    """Batches newest first, in `states`, one member's (`staff_name`) or all (None)."""
    b = print_batches.c
    query = (
        select(print_batches, staff.c.name.label("staff_name"))
        .outerjoin(staff, staff.c.id == b.staff_id)
        .order_by(b.id.desc())
        .limit(limit)
    )
    if states:
        query = query.where(b.state.in_(states))
    if staff_name is not None:
        query = query.where(staff.c.name == staff_name)
    return list(conn.execute(query))


def items(conn: Connection, batch_ids: Sequence[int]) -> list[Any]:
    """The items of batches in print order, with the client's id (`client_ref`) and name and
    the action's member of staff (`staff_name`)."""
    i = print_items.c
    return list(
        conn.execute(
            select(
                print_items,
                clients.c.external_id.label("client_ref"),
                clients.c.name.label("client_name"),
                staff.c.name.label("staff_name"),
            )
            .join(clients, clients.c.id == i.client_id)
            .outerjoin(actions, actions.c.id == i.action_id)
            .outerjoin(staff, staff.c.id == actions.c.staff_id)
            .where(i.batch_id.in_(batch_ids))
            .order_by(i.batch_id, i.sheet, i.position, i.id)
        )
    )


def client_addresses(conn: Connection, client_ids: Sequence[int]) -> dict[int, Any]:
    """Name and address of clients by internal id."""
    c = clients.c
    rows = conn.execute(
        select(c.id, c.external_id, c.name, c.address, c.do_not_contact).where(c.id.in_(client_ids))
    )
    return {r.id: r for r in rows}


def move_item(conn: Connection, item_id: int, expect: Sequence[str], **values: Any) -> bool:
    """A conditional move of one item from the `expect` states: False when it was not in
    them (someone else moved it first)."""
    result = conn.execute(
        update(print_items)
        .where(and_(print_items.c.id == item_id, print_items.c.state.in_(expect)))
        .values(**values)
    )
    return result.rowcount == 1


def claim_action(conn: Connection, action_id: int, now: dt.datetime) -> bool:
    """Mark an open (or snoozed) action done, conditionally: False when someone closed it
    first (a concurrent batch, a Done click), so it is never printed twice."""
    result = conn.execute(
        update(actions)
        .where(actions.c.id == action_id, actions.c.status.in_(("open", "snoozed")))
        .values(status="done", closed_at=now)
    )
    return result.rowcount == 1


def move_batch(conn: Connection, batch_id: int, expect: Sequence[str], **values: Any) -> bool:
    result = conn.execute(
        update(print_batches)
        .where(print_batches.c.id == batch_id, print_batches.c.state.in_(expect))
        .values(**values)
    )
    return result.rowcount == 1


def pending_left(conn: Connection, batch_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(print_items)
            .where(print_items.c.batch_id == batch_id, print_items.c.state == "pending")
        ).scalar_one()
    )


def confirmed_now(conn: Connection, batch_id: int, now: dt.datetime) -> bool:
    """Close an open batch that has nothing pending left."""
    if pending_left(conn, batch_id):
        return False
    return move_batch(conn, batch_id, ("open",), state="confirmed", confirmed_at=now)
