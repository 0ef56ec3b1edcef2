"""Per-client aggregates the signal rules need, for every client at once. Never commits.

A few GROUP BY queries over the indexed tables instead of one query per client, so building the
facts of 100,000 clients costs a handful of scans."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select

from keepwarm.domain.model import Client, Rhythm
from keepwarm.store.queries import client_select, clients_from_result
from keepwarm.store.rhythms import rhythm_from_row
from keepwarm.store.tables import (
    actions,
    activities,
    clients,
    feedback_requests,
    rhythms,
    touches,
)


def all_clients(conn: Connection) -> dict[int, Client]:
    """Every client by internal id."""
    return dict(clients_from_result(conn.execute(client_select().order_by(clients.c.id))))


@dataclass(frozen=True)
class ActivityFacts:
    """Per client: (first, last) activity date, and the last date of each activity kind."""

    spans: dict[int, tuple[dt.date, dt.date]]
    last_by_kind: dict[int, dict[str, dt.date]]


def activity_facts(conn: Connection, as_of: dt.date) -> ActivityFacts:
    """First and last activity per client and the last of each kind, counting only activities
    up to `as_of`: one GROUP BY over the (client, kind, date) index."""
    rows = conn.execute(
        select(
            activities.c.client_id,
            activities.c.kind,
            func.min(activities.c.date),
            func.max(activities.c.date),
        )
        .where(activities.c.date <= as_of)
        .group_by(activities.c.client_id, activities.c.kind)
    ).all()
    spans: dict[int, tuple[dt.date, dt.date]] = {}
    by_kind: dict[int, dict[str, dt.date]] = defaultdict(dict)
    for cid, kind, first, last in rows:
        if kind is not None:
            by_kind[cid][kind] = last
        seen = spans.get(cid)
        spans[cid] = (first, last) if seen is None else (min(seen[0], first), max(seen[1], last))
    return ActivityFacts(spans, by_kind)


def last_personal_touch(conn: Connection, as_of: dt.date) -> dict[int, dt.date]:
    """The last personal touch per client up to `as_of` (newsletters and invoices excluded)."""
    rows = conn.execute(
        select(touches.c.client_id, func.max(touches.c.date))
        .where(and_(touches.c.personal.is_(True), touches.c.date <= as_of))
        .group_by(touches.c.client_id)
    )
    return dict(rows.all())


def last_feedback_asked(conn: Connection, as_of: dt.date) -> dict[int, dt.date]:
    """When each client was last asked for feedback up to `as_of`: the day of the touch that
    did an action carrying a feedback signal (or the action's own day, when the action was
    closed by a touch logged some other way), or the day keepwarm sent a feedback request."""
    asked = func.coalesce(touches.c.date, actions.c.day)
    rows = conn.execute(
        select(actions.c.client_id, func.max(asked))
        .select_from(actions.outerjoin(touches, touches.c.id == actions.c.touch_id))
        .where(
            actions.c.status == "done",
            actions.c.reason_keys.like('%"feedback:%'),
            asked <= as_of,
        )
        .group_by(actions.c.client_id)
    )
    asked_at: dict[int, dt.date] = dict(rows.all())
    # a request keepwarm sent (services.feedback) is asking too: staff need not ask again
    for client_id, at in conn.execute(
        select(feedback_requests.c.client_id, feedback_requests.c.created_at)
    ).all():
        day = at.date()
        if day <= as_of and day > asked_at.get(client_id, dt.date.min):
            asked_at[client_id] = day
    return asked_at


def stored_rhythms(conn: Connection) -> dict[int, Rhythm]:
    return {row.client_id: rhythm_from_row(row) for row in conn.execute(select(rhythms)).all()}
