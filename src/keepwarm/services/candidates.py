"""Who the daily job plans today, without running the rules for every client.

Every client's columns (keepwarm.domain.signals.ClientColumns: one read of the clients table,
the packed activities, the day's rhythms, last personal touches and feedback requests) tell
the rules' windows which clients can have a reason today that the columns cannot weigh
(keepwarm.rules.may_have_reason: a cancellation, a recall, a birthday, a trend, a welcome, a
follow-up). Those, and every client with standing business (an open, waiting, snoozed or
dismissed action, a consent record, a reminder due, a personal contact within the last few
days), go through the rules as before. Every other client's reasons can only be the ranked
ones (keepwarm.rules.RANKED: overdue for their cadence, lapsing, an anniversary, a feedback
request), whose urgencies come from the columns: the planner ranks them and builds full facts
only for the few that can reach a list or a queue (keepwarm.planner.PlainClients). The plan
is the one planning every client gives: `everyone=True` (the daily job's `--rebuild`) runs
the rules for all, and the tests compare.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine

from keepwarm.domain import values
from keepwarm.domain.actions import Candidate
from keepwarm.domain.policy import Policy
from keepwarm.domain.rhythm_table import RhythmTable
from keepwarm.domain.signals import NO_DAY, ClientColumns, ClientFacts, day_numbers, month_day
from keepwarm.planner import PlainClients
from keepwarm.rules import may_have_reason, occasions_between, ranked_signals, signals_for
from keepwarm.services.activity_snapshot import ActivityColumns, activity_columns
from keepwarm.services.consent_checks import reachable
from keepwarm.services.signals import client_facts
from keepwarm.store import facts as q
from keepwarm.store import reading
from keepwarm.store.activity_snapshot import Packed
from keepwarm.store.queries import read_tags

log = logging.getLogger(__name__)


@dataclass
class Today:
    """The day's candidates (through the rules), the plain clients (ranked from columns, built
    by `evaluate` when planned), and the facts of every client built so far by client id."""

    candidates: list[Candidate]
    plain: PlainClients | None
    clients: int  # every client who can be reached: those planned and the plain ones
    with_signals: int  # of those, the clients with at least one signal today
    facts: dict[str, ClientFacts] = field(default_factory=dict)
    _build: _Builder | None = None

    def evaluate(self, positions: Sequence[int]) -> list[Candidate]:
        """Candidates of the plain clients at `positions`, their facts kept in `facts`."""
        if self._build is None:
            return []
        built = self._build(positions)
        self.facts.update((c.client_id, c.facts) for c in built)
        log.info(
            "daily job %s: %d of the %d plain client(s) can reach a list or a queue: built",
            self._build.day,
            len(built),
            self._build.at.size,
        )
        return built


@dataclass(frozen=True)
class _Builder:
    engine: Engine
    policy: Policy
    day: dt.date
    rhythms: RhythmTable
    activity: ActivityColumns
    at: NDArray[np.intp]  # the plain clients' positions among everyone

    def __call__(self, positions: Sequence[int]) -> list[Candidate]:
        at = self.at[np.asarray(positions, dtype=np.intp)]
        ids = self.activity.ids[at].tolist()
        facts = client_facts(self.engine, self.day, self.rhythms, self.activity.facts(at), ids)
        return [Candidate(f, signals_for(f, self.policy, self.day)) for f in facts]


def todays_candidates(
    engine: Engine,
    policy: Policy,
    day: dt.date,
    rhythms: RhythmTable,
    packed: Packed,
    *,
    everyone: bool = False,
) -> Today:
    """The day's candidates (see the module); `everyone`: every client through the rules."""
    columns, activity = client_columns(engine, day, rhythms, packed)
    ids = columns.internal_id
    with reading(engine) as conn:
        business = q.clients_with_business(conn, day)
    if everyone:
        through = np.ones(len(columns), dtype=bool)
    else:
        through = through_rules(columns, business, policy, day)
    ruled = np.flatnonzero(through)
    facts = client_facts(engine, day, rhythms, activity.facts(ruled), ids[ruled].tolist())
    candidates = [Candidate(f, signals_for(f, policy, day)) for f in reachable(engine, facts)]
    at = np.flatnonzero(~through)
    plain = plain_clients(columns, at, policy, day)
    flagged = int(np.count_nonzero(plain.real()))
    # a holiday is a note on every plain client's signals (none of them has cancelled)
    noted = bool(occasions_between(policy, day, policy.holiday_lead_days))
    log.info(
        "daily job %s: %d client(s) through the rules; %d ranked from their columns "
        "(%d with a reason today)",
        day,
        ruled.size,
        at.size,
        flagged,
    )
    return Today(
        candidates=candidates,
        plain=plain if at.size else None,
        clients=len(candidates) + at.size,
        with_signals=sum(1 for c in candidates if c.signals) + (at.size if noted else flagged),
        facts={f.client.id: f for f in facts},
        _build=_Builder(engine, policy, day, rhythms, activity, at),
    )


def through_rules(
    columns: ClientColumns, business: Collection[int], policy: Policy, day: dt.date
) -> NDArray[np.bool_]:
    """The clients the rules run for: those a rule not ranked from the columns can flag
    today (keepwarm.rules.may_have_reason), those with standing `business` (internal ids: earlier
    actions, consent records, reminders due) and those personally contacted within
    `policy.recent_contact_days` (the planner weighs their reasons differently)."""
    through = may_have_reason(columns, policy, day)
    through |= np.isin(columns.internal_id, np.fromiter(business, np.int64, len(business)))
    contact = columns.last_personal_touch.astype(np.int64)
    through |= (contact != NO_DAY) & (day.toordinal() - contact < policy.recent_contact_days)
    return through


def plain_clients(
    columns: ClientColumns, at: NDArray[np.intp], policy: Policy, day: dt.date
) -> PlainClients:
    """The clients at positions `at` (none through the rules) as the planner ranks them."""
    start = columns.days_silent_from()[at].astype(np.int64)
    urgencies, pressing = ranked_signals(columns, policy, day)
    return PlainClients(
        client_id=[columns.client_id[i] for i in at.tolist()],
        owner=[columns.owner[i] for i in at.tolist()],
        yearly_value_cents=columns.yearly_value_cents[at],
        silent=np.where(start != NO_DAY, np.maximum(day.toordinal() - start, 0), -1),
        urgencies=urgencies[at],
        pressing=pressing[at],
    )


def client_columns(
    engine: Engine, day: dt.date, rhythms: RhythmTable, packed: Packed
) -> tuple[ClientColumns, ActivityColumns]:
    """Every client's columns as of `day` (and their activity dates, for building facts): one
    pass over the clients, the day's touches and feedback requests, the packed activities and
    the rhythms."""
    with reading(engine) as conn:
        table = q.client_table(conn)
        touched = q.last_personal_touch(conn, day)
        asked = q.last_feedback_asked(conn, day)
    activity = activity_columns(packed, day, table.ids)
    return _columns(table, activity, touched, asked, rhythms), activity


def _days_of(ids: NDArray[np.int64], dates: Mapping[int, dt.date]) -> NDArray[np.int32]:
    """The day number of each of `ids` (ascending) in `dates`, NO_DAY for those not in it."""
    out = np.full(ids.size, NO_DAY, np.int32)
    if dates and ids.size:
        keys = np.fromiter(dates, np.int64, len(dates))
        at = np.minimum(np.searchsorted(ids, keys), ids.size - 1)
        known = ids[at] == keys
        out[at[known]] = day_numbers(dates.values())[known]
    return out


def _columns(
    table: q.ClientTable,
    activity: ActivityColumns,
    touched: Mapping[int, dt.date],
    asked: Mapping[int, dt.date],
    rhythms: RhythmTable,
) -> ClientColumns:
    at = rhythms.positions(activity.ids)
    learned = at >= 0
    monthly = np.array(rhythms.values_at("monthly_value_cents", at, 0), dtype=np.int64)
    attention = rhythms.values_at("attention_after", at)
    last = rhythms.values_at("last_activity", at)
    risk = rhythms.values_at("lapse_risk", at)
    tags = {text: read_tags(text) for text in set(table.tags)}  # few distinct texts
    return ClientColumns(
        internal_id=activity.ids,
        client_id=table.external_id,
        owner=table.owner,
        status=np.array(table.status, dtype=str),
        tags=tuple(map(tags.__getitem__, table.tags)),
        do_not_contact=table.do_not_contact,
        since=table.since,
        cancelled_on=table.cancelled_on,
        next_due=table.next_due,
        birthday=month_day(table.birthday),
        first_activity=activity.first,
        last_activity=activity.last,
        last_by_kind=activity.last_by_kind,
        last_personal_touch=_days_of(activity.ids, touched),
        last_feedback_asked=_days_of(activity.ids, asked),
        attention_after=day_numbers(a if d else None for a, d in zip(attention, last, strict=True)),
        lapse_risk=np.array([np.nan if r is None else r for r in risk], dtype=np.float64),
        trend=np.array(rhythms.values_at("trend_direction", at, 0), dtype=np.int8),
        activities=np.array(rhythms.values_at("activities", at, 0), dtype=np.int64),
        yearly_value_cents=np.where(learned, values.yearly_values_cents(monthly), -1),
    )
