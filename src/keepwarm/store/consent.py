"""Consent as append-only events: each row says who allowed or refused contact by one channel,
when and from where; the latest row per client and channel is the current state. Queries here
never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select

from keepwarm.store.tables import consent_events


@dataclass(frozen=True)
class ConsentEvent:
    channel: str
    allowed: bool
    source: str  # import, staff, unsubscribe, bounce, request
    address: str | None
    actor: str
    note: str | None
    at: dt.datetime


def add_event(
    conn: Connection,
    *,
    client_id: int,
    channel: str,
    allowed: bool,
    source: str,
    actor: str,
    at: dt.datetime,
    address: str | None = None,
    note: str | None = None,
) -> int:
    row = conn.execute(
        insert(consent_events)
        .values(
            client_id=client_id,
            channel=channel,
            allowed=allowed,
            source=source,
            address=address,
            actor=actor,
            note=note,
            at=at,
        )
        .returning(consent_events.c.id)
    ).one()
    return int(row.id)


def event_of(r: object) -> ConsentEvent:
    return ConsentEvent(
        r.channel,  # type: ignore[attr-defined]
        bool(r.allowed),  # type: ignore[attr-defined]
        r.source,  # type: ignore[attr-defined]
        r.address,  # type: ignore[attr-defined]
        r.actor,  # type: ignore[attr-defined]
        r.note,  # type: ignore[attr-defined]
        r.at,  # type: ignore[attr-defined]
    )


def latest(conn: Connection, client_id: int) -> dict[str, ConsentEvent]:
    """The current state per channel: the latest event of each channel the client has."""
    c = consent_events.c
    newest = (
        select(func.max(c.id)).where(c.client_id == client_id).group_by(c.channel).scalar_subquery()
    )
    rows = conn.execute(select(consent_events).where(c.id.in_(newest))).all()
    return {r.channel: event_of(r) for r in rows}


def history(conn: Connection, client_id: int) -> list[ConsentEvent]:
    """Every event of the client, newest first."""
    c = consent_events.c
    rows = conn.execute(
        select(consent_events).where(c.client_id == client_id).order_by(c.id.desc())
    ).all()
    return [event_of(r) for r in rows]
