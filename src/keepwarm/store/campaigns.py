"""Campaign rows: the campaign, its waves, its members (treated / held out) and each wave's
sends or skips. Queries only; keepwarm.services.campaigns opens the transactions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from keepwarm.store.tables import (
    campaign_members,
    campaign_sends,
    campaign_waves,
    campaigns,
    clients,
    outbox,
)


def insert_campaign(conn: Connection, **values: Any) -> int:
    """Insert a campaign; its id."""
    key = conn.execute(insert(campaigns).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def update_campaign(conn: Connection, campaign_id: int, **values: Any) -> None:
    conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(**values))


def get_campaign(conn: Connection, name: str) -> Row[Any] | None:
    return conn.execute(select(campaigns).where(campaigns.c.name == name)).first()


def all_campaigns(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(campaigns).order_by(campaigns.c.created_at, campaigns.c.id)))


def waves(conn: Connection, campaign_id: int) -> list[Row[Any]]:
    w = campaign_waves.c
    return list(
        conn.execute(select(campaign_waves).where(w.campaign_id == campaign_id).order_by(w.on))
    )


def all_waves(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(campaign_waves).order_by(campaign_waves.c.on)))


def replace_waves(conn: Connection, campaign_id: int, days: Sequence[dt.date]) -> None:
    """The campaign's waves become `days` (only while none has gone: callers check)."""
    conn.execute(delete(campaign_waves).where(campaign_waves.c.campaign_id == campaign_id))
    if days:
        conn.execute(insert(campaign_waves), [{"campaign_id": campaign_id, "on": d} for d in days])


def mark_wave_sent(conn: Connection, wave_id: int, now: dt.datetime) -> bool:
    """The wave has gone (conditional: False when it already had)."""
    result = conn.execute(
        update(campaign_waves)
        .where(campaign_waves.c.id == wave_id, campaign_waves.c.sent_at.is_(None))
        .values(sent_at=now)
    )
    return result.rowcount == 1


def members(conn: Connection, campaign_id: int) -> list[Row[Any]]:
    """The members with the client's business id (`ref`) and name, in id order."""
    m = campaign_members.c
    return list(
        conn.execute(
            select(
                m.client_id,
                m.arm,
                m.joined_at,
                clients.c.external_id.label("ref"),
                clients.c.name,
            )
            .join(clients, clients.c.id == m.client_id)
            .where(m.campaign_id == campaign_id)
            .order_by(clients.c.external_id)
        )
    )


def add_members(
    conn: Connection, campaign_id: int, arms: Sequence[tuple[int, str]], now: dt.datetime
) -> None:
    if arms:
        conn.execute(
            insert(campaign_members),
            [
                {"campaign_id": campaign_id, "client_id": c, "arm": arm, "joined_at": now}
                for c, arm in arms
            ],
        )


def sent_clients(conn: Connection, wave_id: int) -> set[int]:
    """The clients this wave already has a send (or skip) for."""
    s = campaign_sends.c
    return set(conn.scalars(select(s.client_id).where(s.wave_id == wave_id)))


def add_send(conn: Connection, **values: Any) -> None:
    conn.execute(insert(campaign_sends).values(**values))


def sends(conn: Connection, campaign_id: int) -> list[Row[Any]]:
    """Every send or skip of the campaign's waves: the wave's date, the client's id and name,
    the outbox message's state and channel (None for a letter or a skip)."""
    s, w = campaign_sends.c, campaign_waves.c
    return list(
        conn.execute(
            select(
                w.on.label("wave"),
                clients.c.external_id.label("ref"),
                clients.c.name,
                s.outbox_id,
                s.print_item_id,
                s.skipped_reason,
                outbox.c.state.label("outbox_state"),
                outbox.c.channel.label("outbox_channel"),
            )
            .join(campaign_waves, campaign_waves.c.id == s.wave_id)
            .join(clients, clients.c.id == s.client_id)
            .outerjoin(outbox, outbox.c.id == s.outbox_id)
            .where(w.campaign_id == campaign_id)
            .order_by(w.on, clients.c.external_id)
        )
    )


def member_counts(conn: Connection) -> dict[tuple[int, str], int]:
    """(campaign id, arm): how many members."""
    m = campaign_members.c
    rows = conn.execute(select(m.campaign_id, m.arm, func.count()).group_by(m.campaign_id, m.arm))
    return {(int(c), str(a)): int(n) for c, a, n in rows}


def is_campaign_item(conn: Connection, print_item_id: int) -> bool:
    """Whether a print item is a campaign's letter (a mailing, not a personal touch)."""
    s = campaign_sends.c
    found = conn.execute(select(s.id).where(s.print_item_id == print_item_id).limit(1)).first()
    return found is not None
