"""Per-client aggregates the signal rules need, for every client at once. Never commits.

A few GROUP BY queries over the indexed tables instead of one query per client, so building the
facts of 100,000 clients costs a handful of scans."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Connection, and_, func, select, union

from keepwarm.domain.model import Client, Rhythm
from keepwarm.store.queries import client_select, clients_from_result
from keepwarm.store.rhythms import rhythm_from_row
from keepwarm.store.tables import (
    actions,
    activities,
    clients,
    consent_events,
    feedback_requests,
    reminders,
    rhythms,
    staff,
    touches,
)


def all_clients(conn: Connection, only: Sequence[int] | None = None) -> dict[int, Client]:
    """Every client by internal id (`only`: those internal ids, read in batches)."""
    if only is None:
        return dict(clients_from_result(conn.execute(client_select().order_by(clients.c.id))))
    out: dict[int, Client] = {}
    wanted = sorted(only)
    for start in range(0, len(wanted), _BATCH):
        batch = wanted[start : start + _BATCH]
        query = client_select().where(clients.c.id.in_(batch)).order_by(clients.c.id)
        out.update(clients_from_result(conn.execute(query)))
    return out


_BATCH = 10_000


class ClientRow(NamedTuple):
    """What the rules' windows read about one client (keepwarm.domain.signals.ClientColumns)."""

    id: int
    external_id: str
    owner: str | None
    status: str
    tags: str | None
    do_not_contact: bool
    since: dt.date | None
    cancelled_on: dt.date | None
    next_due: dt.date | None
    birthday: dt.date | None


def client_rows(conn: Connection) -> list[ClientRow]:
    """Every client's `ClientRow`, in internal id order: one pass over the clients table."""
    owner = staff.alias("owner")
    query = (
        select(
            clients.c.id,
            clients.c.external_id,
            owner.c.name,
            clients.c.status,
            clients.c.tags,
            clients.c.do_not_contact,
            clients.c.since,
            clients.c.cancelled_on,
            clients.c.next_due,
            clients.c.birthday,
        )
        .select_from(clients.outerjoin(owner, owner.c.id == clients.c.owner_id))
        .order_by(clients.c.id)
    )
    return [ClientRow._make(row) for row in conn.execute(query).all()]


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


def clients_with_business(conn: Connection, day: dt.date) -> set[int]:
    """Internal ids of the clients the daily job always puts through the rules: with an open,
    waiting, snoozed or dismissed action, a consent record (a refused channel changes how they
    can be reached), or a reminder due by `day` not yet on a list."""
    found = select(actions.c.client_id).where(
        actions.c.status.in_(("open", "waiting", "snoozed", "dismissed"))
    )
    consented = select(consent_events.c.client_id)
    due = select(reminders.c.client_id).where(
        reminders.c.on <= day, reminders.c.action_id.is_(None), reminders.c.deleted_at.is_(None)
    )
    return set(conn.execute(union(found, consented, due)).scalars())
