"""What finding duplicates reads, and the owner's "not the same person" answers. Never commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, insert, select

from keepwarm.domain.duplicates import Person
from keepwarm.store.tables import clients, duplicate_decisions


def people(conn: Connection) -> list[Person]:
    """Every client, as finding compares them, in internal id order."""
    c = clients.c
    rows = conn.execute(
        select(
            c.id,
            c.external_id,
            c.name,
            c.first_name,
            c.last_name,
            c.email,
            c.phone,
            c.address,
            c.birthday,
        ).order_by(c.id)
    )
    return [Person(*row) for row in rows]


def people_by_id(conn: Connection, ids: list[int]) -> dict[int, Person]:
    c = clients.c
    rows = conn.execute(
        select(
            c.id,
            c.external_id,
            c.name,
            c.first_name,
            c.last_name,
            c.email,
            c.phone,
            c.address,
            c.birthday,
        ).where(c.id.in_(ids))
    )
    return {row.id: Person(*row) for row in rows}


def decided_pairs(conn: Connection) -> set[tuple[int, int]]:
    """Pairs the owner said are two people (smaller internal id first)."""
    d = duplicate_decisions.c
    return {(a, b) for a, b in conn.execute(select(d.client_a, d.client_b))}


def add_decision(conn: Connection, a: int, b: int, *, by: str, now: dt.datetime) -> bool:
    """Record that clients `a` and `b` are two people; False if it was already recorded."""
    low, high = min(a, b), max(a, b)
    d = duplicate_decisions.c
    if conn.execute(select(d.id).where(d.client_a == low, d.client_b == high)).first() is not None:
        return False
    conn.execute(
        insert(duplicate_decisions).values(
            client_a=low, client_b=high, decided_by=by, decided_at=now
        )
    )
    return True


__all__ = ["add_decision", "decided_pairs", "people", "people_by_id"]
