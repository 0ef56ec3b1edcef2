"""Per-client aggregates the signal rules need, for every client at once. Never commits.

A few GROUP BY queries over the indexed tables instead of one query per client, so building the
facts of 100,000 clients costs a handful of scans."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, and_, func, select, union

from keepwarm.domain.model import Client, Rhythm
from keepwarm.domain.signals import NO_DAY, Days
from keepwarm.store.queries import client_select, clients_from_result
from keepwarm.store.rhythms import rhythm_from_row, streaming_cursor
from keepwarm.store.tables import (
    actions,
    activities,
    clients,
    consent_events,
    feedback_requests,
    reminders,
    rhythms,
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


class ClientTable(NamedTuple):
    """What the rules' windows read about every client (keepwarm.domain.signals.ClientColumns),
    one entry per client in internal id order. Dates are day numbers (`date.toordinal()`;
    keepwarm.domain.signals.NO_DAY for none), worked out by the database."""

    ids: NDArray[np.int64]
    external_id: tuple[str, ...]
    owner: tuple[str | None, ...]
    status: tuple[str, ...]
    tags: tuple[str | None, ...]
    do_not_contact: NDArray[np.bool_]
    since: Days
    cancelled_on: Days
    next_due: Days
    birthday: Days


_JULIAN_DAY_ZERO = 1721424.5  # SQLite's julianday('0001-01-01') is 1721425.5: the ordinal 1


def _ordinal_sql(conn: Connection, column: str) -> str:
    """SQL for a date column as its proleptic ordinal (`date.toordinal()`), NO_DAY for NULL.
    SQLite keeps dates as ISO text, and its Julian day of a date ends in .5, so the difference
    is exact."""
    if conn.dialect.name == "sqlite":
        day = f"CAST(julianday({column}) - {_JULIAN_DAY_ZERO} AS INTEGER)"
    else:
        day = f"({column} - DATE '0001-01-01' + 1)"
    return f"COALESCE({day}, {NO_DAY})"


def client_table(conn: Connection) -> ClientTable:
    """Every client's `ClientTable` columns: one pass over the clients table, with the dates
    turned into day numbers by the database (reading 100,000 rows' dates as Python dates and
    converting each took as long as the rest of the pass)."""
    names = ("since", "cancelled_on", "next_due", "birthday")
    dates = ", ".join(_ordinal_sql(conn, f"c.{name}") for name in names)
    cursor = streaming_cursor(conn, "client_table")  # plain tuples: no Row objects built
    cursor.execute(
        "SELECT c.id, c.external_id, s.name, c.status, c.tags, c.do_not_contact, "
        f"{dates} FROM clients c LEFT JOIN staff s ON s.id = c.owner_id ORDER BY c.id"
    )
    rows = cursor.fetchall()
    cursor.close()
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) or [()] * 10
    ids, external, owner, status, tags, dnc, since, cancelled, due, birthday = columns
    return ClientTable(
        ids=np.array(ids, np.int64),
        external_id=external,
        owner=owner,
        status=status,
        tags=tags,
        do_not_contact=np.array(dnc, bool),
        since=np.array(since, np.int32),
        cancelled_on=np.array(cancelled, np.int32),
        next_due=np.array(due, np.int32),
        birthday=np.array(birthday, np.int32),
    )


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
