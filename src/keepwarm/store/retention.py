"""Set-based reads behind retention per member of staff (keepwarm.services.retention): one
GROUP BY over activities for every owned client, the period's personal touches, and the
answered feedback. Queries here never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, case, func, select

from keepwarm.store.tables import activities, clients, feedback_requests, rhythms, touches


@dataclass(frozen=True)
class OwnedClient:
    """An owned client's visits around the period: the last before `start` within the year,
    whether any fell in the period, and their usual gap (from the rhythm)."""

    client_id: int
    owner_id: int
    last_before: dt.date | None
    visited_in_period: bool
    usual_gap_days: float | None


def owned_clients(conn: Connection, start: dt.date, end: dt.date) -> list[OwnedClient]:
    """Every client with an owner and a visit in the year before `start` or in the period."""
    a, c = activities.c, clients.c
    year_before = start - dt.timedelta(days=365)
    before = func.max(case((a.date < start, a.date)))
    during = func.count(case((a.date >= start, a.id)))
    q = (
        select(
            c.id,
            c.owner_id,
            before.label("before"),
            during.label("during"),
            rhythms.c.usual_gap_days,
        )
        .select_from(
            clients.join(activities, a.client_id == c.id).outerjoin(
                rhythms, rhythms.c.client_id == c.id
            )
        )
        .where(c.owner_id.is_not(None), a.date >= year_before, a.date <= end)
        .group_by(c.id, c.owner_id, rhythms.c.usual_gap_days)
    )
    return [
        OwnedClient(r.id, r.owner_id, _date(r.before), int(r.during) > 0, r.usual_gap_days)
        for r in conn.execute(q)
    ]


def personal_touches(
    conn: Connection, start: dt.date, end: dt.date
) -> list[tuple[int, int, dt.date]]:
    """(staff id, client id, date) of every personal touch by a member in the period."""
    t = touches.c
    rows = conn.execute(
        select(t.staff_id, t.client_id, t.date).where(
            and_(t.personal.is_(True), t.staff_id.is_not(None), t.date.between(start, end))
        )
    )
    return [(r[0], r[1], _date(r[2]) or start) for r in rows]


def activity_dates(conn: Connection, client_ids: Sequence[int]) -> dict[int, list[dt.date]]:
    """Each client's activity dates, in order (for the few clients touched in a period)."""
    out: dict[int, list[dt.date]] = {}
    ids = list(dict.fromkeys(client_ids))
    for i in range(0, len(ids), 500):
        rows = conn.execute(
            select(activities.c.client_id, activities.c.date)
            .where(activities.c.client_id.in_(ids[i : i + 500]))
            .order_by(activities.c.client_id, activities.c.date)
        )
        for cid, day in rows:
            out.setdefault(cid, []).append(_date(day) or dt.date.min)
    return out


def feedback_scores(
    conn: Connection, start: dt.datetime, end: dt.datetime
) -> list[tuple[int, int]]:
    """(staff id, score) of every answer recorded from `start` to before `end`."""
    f = feedback_requests.c
    rows = conn.execute(
        select(f.staff_id, f.score).where(
            f.answered_at >= start,
            f.answered_at < end,
            f.score.is_not(None),
            f.staff_id.is_not(None),
        )
    )
    return [(int(r[0]), int(r[1])) for r in rows]


def _date(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
