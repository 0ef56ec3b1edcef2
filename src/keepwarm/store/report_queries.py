"""Set-based reads behind the Reports page: every query is one GROUP BY (or an indexed top-N),
so they stay fast on 100,000 clients. Dates are grouped by day here and bucketed into weeks or
months by the caller (at most a few hundred rows), which keeps the SQL the same on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select

from keepwarm.domain.policy import Policy
from keepwarm.store.tables import clients, rhythms, staff, touches


def personal_touches_by_staff_day(
    conn: Connection, start: dt.date, end: dt.date
) -> list[tuple[int | None, dt.date, int]]:
    """(staff id or None, date, personal touches) for each day from `start` to `end`."""
    rows = conn.execute(
        select(touches.c.staff_id, touches.c.date, func.count())
        .where(and_(touches.c.personal.is_(True), touches.c.date.between(start, end)))
        .group_by(touches.c.staff_id, touches.c.date)
    )
    return [(r[0], _date(r[1]), int(r[2])) for r in rows]


def staff_quotas(conn: Connection) -> list[tuple[int, str, int, bool]]:
    """(id, name, weekly quota, active) of every member of staff, by name."""
    rows = conn.execute(
        select(staff.c.id, staff.c.name, staff.c.weekly_quota, staff.c.active).order_by(
            staff.c.name
        )
    )
    return [(r[0], r[1], int(r[2]), bool(r[3])) for r in rows]


def clients_by_status(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(clients.c.status, func.count()).group_by(clients.c.status))
    return {r[0]: int(r[1]) for r in rows}


def lapsing_clause(today: dt.date, policy: Policy):  # type: ignore[no-untyped-def]
    """Clients whose silence is unusual for them, exactly as the `lapsing` rule sees it
    (keepwarm.rules.lapsing): attention date passed, not more than `lapsing_max_days` ago,
    enough activities, not cancelled. Over `rhythms` joined with `clients`: Reports counts these
    and the Clients filter "Gone quiet" lists them.

    `coalesce` keeps SQLite from walking the attention_after index: when many clients lapse,
    one sequential pass over the rhythms (a row per client) is several times faster than
    jumping through the index, and it is never slow."""
    return and_(
        func.coalesce(rhythms.c.attention_after, dt.date.max) <= today,
        rhythms.c.attention_after >= today - dt.timedelta(days=policy.lapsing_max_days),
        rhythms.c.last_activity.is_not(None),
        rhythms.c.activities >= policy.lapsing_min_activities,
        clients.c.status != "cancelled",
    )


def at_risk_by_day(
    conn: Connection, today: dt.date, policy: Policy
) -> list[tuple[dt.date, int, int]]:
    """(attention_after, lapsing clients, sum of at_risk_cents) per day lapsing began."""
    rows = conn.execute(
        select(rhythms.c.attention_after, func.count(), func.sum(rhythms.c.at_risk_cents))
        .join(clients, clients.c.id == rhythms.c.client_id)
        .where(lapsing_clause(today, policy))
        .group_by(rhythms.c.attention_after)
    )
    return [(_date(r[0]), int(r[1]), int(r[2] or 0)) for r in rows]


@dataclass(frozen=True)
class AtRiskClient:
    client_id: str
    name: str
    owner: str | None
    at_risk_cents: int
    attention_after: dt.date
    last_activity: dt.date | None


def top_at_risk(
    conn: Connection, today: dt.date, policy: Policy, limit: int = 10
) -> list[AtRiskClient]:
    rows = conn.execute(
        select(
            clients.c.external_id,
            clients.c.name,
            staff.c.name.label("owner"),
            rhythms.c.at_risk_cents,
            rhythms.c.attention_after,
            rhythms.c.last_activity,
        )
        .join(clients, clients.c.id == rhythms.c.client_id)
        .outerjoin(staff, staff.c.id == clients.c.owner_id)
        .where(lapsing_clause(today, policy))
        .order_by(rhythms.c.at_risk_cents.desc(), clients.c.external_id)
        .limit(limit)
    )
    return [
        AtRiskClient(
            r.external_id,
            r.name,
            r.owner,
            int(r.at_risk_cents),
            _date(r.attention_after),
            _date(r.last_activity) if r.last_activity is not None else None,
        )
        for r in rows
    ]


def has_rhythms(conn: Connection) -> bool:
    """Whether rhythms have been learned at all (before that, nobody can be lapsing)."""
    return conn.execute(select(rhythms.c.client_id).limit(1)).first() is not None


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
