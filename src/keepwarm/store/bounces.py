"""The bounces table's queries. Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, func, insert, select

from keepwarm.store.tables import bounces, clients, outbox


def seen(conn: Connection, message_key: str) -> bool:
    """Whether a bounce message with this key was handled already."""
    query = select(bounces.c.id).where(bounces.c.message_key == message_key).limit(1)
    return conn.execute(query).first() is not None


def add(
    conn: Connection,
    *,
    message_key: str,
    address: str,
    kind: str,
    status: str,
    diagnostic: str | None,
    outbox_id: int | None,
    client_id: int | None,
    at: dt.datetime,
) -> None:
    conn.execute(
        insert(bounces).values(
            message_key=message_key,
            address=address,
            kind=kind,
            status=status,
            diagnostic=diagnostic,
            outbox_id=outbox_id,
            client_id=client_id,
            at=at,
        )
    )


def outbox_by_message_id(conn: Connection, message_id: str) -> tuple[int, int | None] | None:
    """(outbox id, client id) of the message with this Message-ID."""
    row = conn.execute(
        select(outbox.c.id, outbox.c.client_id).where(outbox.c.message_id == message_id)
    ).first()
    return (int(row.id), row.client_id) if row is not None else None


def clients_with_email(conn: Connection, address: str) -> list[int]:
    """The clients whose email is `address` (compared without case)."""
    query = select(clients.c.id).where(func.lower(clients.c.email) == address.lower())
    return [int(i) for i in conn.execute(query).scalars()]


def hard_bounced_outbox_ids(conn: Connection, among: Iterable[int] | None = None) -> set[int]:
    query = select(bounces.c.outbox_id).where(
        bounces.c.kind == "hard", bounces.c.outbox_id.is_not(None)
    )
    if among is not None:
        query = query.where(bounces.c.outbox_id.in_(list(among)))
    return {int(i) for i in conn.execute(query).scalars()}
