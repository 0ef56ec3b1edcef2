"""Per-client aggregates the signal rules need, for every client at once. Never commits.

A few GROUP BY queries over the indexed tables instead of one query per client, so building the
facts of 100,000 clients costs a handful of scans."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Connection, and_, func, select

from keepwarm.domain.model import Client, Rhythm
from keepwarm.store.queries import client_from_row, client_select
from keepwarm.store.rhythms import rhythm_from_row
from keepwarm.store.tables import activities, clients, rhythms, touches


def all_clients(conn: Connection) -> dict[int, Client]:
    """Every client by internal id."""
    rows = conn.execute(client_select().order_by(clients.c.id))
    return {row.id: client_from_row(row) for row in rows}


def activity_spans(conn: Connection, as_of: dt.date) -> dict[int, tuple[dt.date, dt.date]]:
    """(first, last) activity date per client, counting only activities up to `as_of`."""
    rows = conn.execute(
        select(activities.c.client_id, func.min(activities.c.date), func.max(activities.c.date))
        .where(activities.c.date <= as_of)
        .group_by(activities.c.client_id)
    )
    return {cid: (first, last) for cid, first, last in rows}


def last_by_kind(conn: Connection, as_of: dt.date) -> dict[int, dict[str, dt.date]]:
    """The date of each client's last activity of each kind, up to `as_of`."""
    rows = conn.execute(
        select(activities.c.client_id, activities.c.kind, func.max(activities.c.date))
        .where(activities.c.date <= as_of, activities.c.kind.is_not(None))
        .group_by(activities.c.client_id, activities.c.kind)
    )
    out: dict[int, dict[str, dt.date]] = defaultdict(dict)
    for cid, kind, last in rows:
        out[cid][kind] = last
    return out


def last_personal_touch(conn: Connection, as_of: dt.date) -> dict[int, dt.date]:
    """The last personal touch per client up to `as_of` (newsletters and invoices excluded)."""
    rows = conn.execute(
        select(touches.c.client_id, func.max(touches.c.date))
        .where(and_(touches.c.personal.is_(True), touches.c.date <= as_of))
        .group_by(touches.c.client_id)
    )
    return dict(rows.all())


def stored_rhythms(conn: Connection) -> dict[int, Rhythm]:
    return {row.client_id: rhythm_from_row(row) for row in conn.execute(select(rhythms))}
