"""The SQL behind audiences: the clients a `Filters` picks (all but value tiers and segments,
which keepwarm.services.segments computes), and the latest consent events of a batch of clients.
Queries here never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from keepwarm.domain.audience import Filters
from keepwarm.domain.model import SignalCode
from keepwarm.domain.policy import Policy
from keepwarm.store.consent import ConsentEvent, event_of
from keepwarm.store.report_queries import lapsing_clause
from keepwarm.store.tables import (
    actions,
    activities,
    clients,
    consent_events,
    rhythms,
    saved_filters,
    staff,
)

# Actions still in front of staff: what Today says about a client now.
_LIVE_ACTIONS = ("open", "waiting", "snoozed")


@dataclass(frozen=True)
class AudienceRow:
    """One client as an audience lists them (`id` is the internal id, `ref` the business's)."""

    id: int
    ref: str
    name: str
    email: str | None
    phone: str | None
    address: str | None
    owner: str | None
    do_not_contact: bool


def _visits() -> Select[tuple[int, dt.date, dt.date]]:
    """Each client's first and last activity dates."""
    a = activities.c
    return select(
        a.client_id, func.min(a.date).label("first"), func.max(a.date).label("last")
    ).group_by(a.client_id)


def _signal_condition(code: str, today: dt.date, policy: Policy) -> ColumnElement[bool]:
    r, c = rhythms.c, clients.c
    if code == SignalCode.LAPSING.value:
        # keepwarm.rules.lapsing on the stored rhythm, the clause Reports counts with: the same
        # clients Today calls gone quiet (its list shows only those within quota; an audience
        # wants them all).
        return exists().where(r.client_id == c.id, lapsing_clause(today, policy))
    if code == SignalCode.WIN_BACK.value:
        # Past clients: came before, not once in the last `lapsing_max_days` (a year). No daily
        # rule raises this (a lapse that old is past, not a call: keepwarm.rules.lapsing); it
        # is what a win-back campaign is for.
        a = activities.c
        cutoff = today - dt.timedelta(days=policy.lapsing_max_days)
        return and_(
            exists().where(a.client_id == c.id),
            ~exists().where(a.client_id == c.id, a.date >= cutoff),
        )
    # Other signals: an action still in front of staff carrying the code (actions.signals is
    # JSON written by json.dumps, so the code appears as "code": "<code>").
    ac = actions.c
    return exists().where(
        ac.client_id == c.id,
        ac.status.in_(_LIVE_ACTIONS),
        ac.signals.like(f'%"code": "{code}"%'),
    )


def select_clients(
    conn: Connection, filters: Filters, *, today: dt.date, policy: Policy
) -> list[AudienceRow]:
    """Clients matching every filter but `value_tiers` and `segments`, by name then id."""
    c = clients.c
    last = _visits().subquery()
    q = (
        select(
            c.id,
            c.external_id,
            c.name,
            c.email,
            c.phone,
            c.address,
            staff.c.name.label("owner"),
            c.do_not_contact,
        )
        .select_from(clients.outerjoin(staff, staff.c.id == c.owner_id))
        .outerjoin(last, last.c.client_id == c.id)
    )
    conds: list[ColumnElement[bool]] = []
    if filters.statuses:
        conds.append(c.status.in_(filters.statuses))
    if filters.tags:
        # tags are stored sorted, ";"-separated: match a whole tag, case folded
        wrapped = literal(";") + func.lower(c.tags) + literal(";")
        conds.append(or_(*(wrapped.like(f"%;{t};%") for t in filters.tags)))
    if filters.owners:
        folded = [o.lower() for o in filters.owners]
        conds.append(func.lower(staff.c.name).in_(folded))
    if filters.signals:
        conds.append(or_(*(_signal_condition(s, today, policy) for s in filters.signals)))
    if filters.last_visit_before:
        conds.append(last.c.last < filters.last_visit_before)
    if filters.last_visit_after:
        conds.append(last.c.last > filters.last_visit_after)
    if filters.not_seen_since:
        conds.append(or_(last.c.last.is_(None), last.c.last < filters.not_seen_since))
    if filters.first_visit_after:
        conds.append(last.c.first > filters.first_visit_after)
    if conds:
        q = q.where(and_(*conds))
    q = q.order_by(func.lower(c.name), c.id)
    return [
        AudienceRow(
            r.id,
            r.external_id,
            r.name,
            r.email,
            r.phone,
            r.address,
            r.owner,
            bool(r.do_not_contact),
        )
        for r in conn.execute(q)
    ]


def latest_consent(
    conn: Connection, client_ids: Sequence[int]
) -> dict[int, dict[str, ConsentEvent]]:
    """The latest consent event per channel of each client of the batch, in one query."""
    ce = consent_events.c
    newest = (
        select(func.max(ce.id))
        .where(ce.client_id.in_(client_ids))
        .group_by(ce.client_id, ce.channel)
        .scalar_subquery()
    )
    out: dict[int, dict[str, ConsentEvent]] = {}
    for r in conn.execute(select(consent_events).where(ce.id.in_(newest))):
        out.setdefault(r.client_id, {})[r.channel] = event_of(r)
    return out


@dataclass(frozen=True)
class RhythmNumbers:
    """What tiers and segments read from a client's stored rhythm."""

    client_id: int
    clv_cents: int
    days_since_last: int | None
    activities: int
    monthly_value_cents: int


def rhythm_numbers(conn: Connection, client_id: int | None = None) -> list[RhythmNumbers]:
    """Every stored rhythm's numbers (or one client's)."""
    r = rhythms.c
    q = select(r.client_id, r.clv_cents, r.days_since_last, r.activities, r.monthly_value_cents)
    if client_id is not None:
        q = q.where(r.client_id == client_id)
    return [
        RhythmNumbers(
            x.client_id, x.clv_cents, x.days_since_last, x.activities, x.monthly_value_cents
        )
        for x in conn.execute(q)
    ]


def saved_filter(conn: Connection, name: str) -> tuple[str, str, str, dt.datetime] | None:
    """(name, filters JSON, created_by, created_at) of the saved filter `name`, or None."""
    s = saved_filters.c
    row = conn.execute(
        select(s.name, s.filters, s.created_by, s.created_at).where(s.name == name)
    ).one_or_none()
    return None if row is None else (row.name, row.filters, row.created_by, row.created_at)


def saved_filter_list(conn: Connection) -> list[tuple[str, str, str, dt.datetime]]:
    s = saved_filters.c
    rows = conn.execute(
        select(s.name, s.filters, s.created_by, s.created_at).order_by(func.lower(s.name))
    )
    return [(r.name, r.filters, r.created_by, r.created_at) for r in rows]


def save_filter(
    conn: Connection, name: str, filters_json: str, created_by: str, now: dt.datetime
) -> None:
    """Insert or replace the saved filter `name`."""
    s = saved_filters.c
    changed = conn.execute(
        update(saved_filters)
        .where(s.name == name)
        .values(filters=filters_json, created_by=created_by, created_at=now)
    ).rowcount
    if not changed:
        conn.execute(
            insert(saved_filters).values(
                name=name, filters=filters_json, created_by=created_by, created_at=now
            )
        )


def delete_filter(conn: Connection, name: str) -> bool:
    return bool(conn.execute(delete(saved_filters).where(saved_filters.c.name == name)).rowcount)
