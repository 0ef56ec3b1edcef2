"""The Reports page's numbers: quota adherence, clients by status, revenue at risk, touches.

Each figure comes from one set-based query (see keepwarm.store.report_queries); weeks run
Monday to Sunday, like the weekly quota on the Today page. Bulk touches (newsletters,
invoices) never count.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Engine

from keepwarm.domain.model import Staff
from keepwarm.domain.policy import Policy
from keepwarm.domain.quotas import allowance, judged, quota_in_force
from keepwarm.services.policy import get_policy
from keepwarm.store import queries as q
from keepwarm.store import reading
from keepwarm.store import report_queries as rq
from keepwarm.store.report_queries import AtRiskClient

QUOTA_WEEKS = 8
TOUCH_WEEKS = 12
RISK_MONTHS = 12


@dataclass(frozen=True)
class QuotaRow:
    """One member of staff's personal touches in each week (oldest first), each against the
    quota in force that week; a week before the member joined has no quota (None) and is not
    judged."""

    staff: str
    weekly_quota: int  # the quota that applies now (keepwarm.domain.quotas.allowance)
    done: tuple[int, ...]
    quotas: tuple[int | None, ...] = ()

    def quota(self, week: int) -> int | None:
        """The quota week `week` is judged against; None when it is not judged."""
        return self.quotas[week] if self.quotas else self.weekly_quota

    def met(self, week: int) -> bool:
        quota = self.quota(week)
        return quota is not None and self.done[week] >= quota

    @property
    def weeks_met(self) -> int:
        return sum(1 for i in range(len(self.done)) if self.met(i))

    @property
    def weeks_counted(self) -> int:
        """The weeks judged: those after the member joined, the current week (the last) only
        once its quota is met, since it is still going."""
        judged = [i for i in range(len(self.done)) if self.quota(i) is not None]
        last = len(self.done) - 1
        if judged and judged[-1] == last and not self.met(last):
            return len(judged) - 1
        return len(judged)

    def share(self, week: int) -> float:
        """Done as a share of the week's quota (a quota of 0 is always met; 0 if not judged)."""
        quota = self.quota(week)
        if quota is None:
            return 0.0
        if quota == 0:
            return 1.0
        return self.done[week] / quota


@dataclass(frozen=True)
class RiskMonth:
    month: dt.date | None  # first of the month lapsing began; None: earlier than the chart
    clients: int
    at_risk_cents: int


@dataclass(frozen=True)
class Reports:
    today: dt.date
    quota_weeks: tuple[dt.date, ...]  # Mondays, oldest first
    quota: tuple[QuotaRow, ...]
    status: dict[str, int]  # active, prospect, cancelled
    lapsing: int
    at_risk_cents: int  # a month, summed over lapsing clients
    risk_months: tuple[RiskMonth, ...]  # oldest first; an "earlier" bucket first if any
    top_at_risk: tuple[AtRiskClient, ...]
    touch_weeks: tuple[tuple[dt.date, int], ...]  # (Monday, personal touches), oldest first
    rhythms_known: bool


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def build_reports(engine: Engine, today: dt.date, *, staff_name: str | None = None) -> Reports:
    """Every report as of `today`. With `staff_name`, the quota report holds that member only."""
    policy = get_policy(engine)
    this_monday = monday_of(today)
    weeks = max(QUOTA_WEEKS, TOUCH_WEEKS)
    mondays = [this_monday - dt.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    first = mondays[0]
    with reading(engine) as conn:
        per_day = rq.personal_touches_by_staff_day(conn, first, this_monday + dt.timedelta(6))
        members = q.list_staff(conn)
        history = q.quota_history(conn)
        status = rq.clients_by_status(conn)
        risk_days = rq.at_risk_by_day(conn, today, policy)
        top = rq.top_at_risk(conn, today, policy)
        rhythms_known = bool(risk_days) or rq.has_rhythms(conn)

    by_staff_week: dict[tuple[int | None, dt.date], int] = defaultdict(int)
    by_week: dict[dt.date, int] = defaultdict(int)
    for staff_id, day, count in per_day:
        by_staff_week[staff_id, monday_of(day)] += count
        by_week[monday_of(day)] += count

    quota_weeks = mondays[-QUOTA_WEEKS:]
    quota = tuple(
        _quota_row(m, policy, history.get(m.id, []), quota_weeks, by_staff_week)
        for m in members
        if (m.active and staff_name is None) or m.name == staff_name
    )
    touch_weeks = tuple((m, by_week[m]) for m in mondays[-TOUCH_WEEKS:])
    return Reports(
        today=today,
        quota_weeks=tuple(quota_weeks),
        quota=quota,
        status={s: status.get(s, 0) for s in ("active", "prospect", "cancelled")},
        lapsing=sum(c for _, c, _ in risk_days),
        at_risk_cents=sum(cents for _, _, cents in risk_days),
        risk_months=_by_month(risk_days, today),
        top_at_risk=tuple(top),
        touch_weeks=touch_weeks,
        rhythms_known=rhythms_known,
    )


def _quota_row(
    member: Staff,
    policy: Policy,
    history: list[tuple[dt.date, int]],
    mondays: list[dt.date],
    done: dict[tuple[int | None, dt.date], int],
) -> QuotaRow:
    """A member's weeks, each judged against the quota in force then, none before they joined."""
    current = allowance(member, policy).weekly_quota
    return QuotaRow(
        member.name,
        current,
        tuple(done[member.id, m] for m in mondays),
        tuple(
            quota_in_force(history, m, current) if judged(member.joined_on, m) else None
            for m in mondays
        ),
    )


def _by_month(risk_days: list[tuple[dt.date, int, int]], today: dt.date) -> tuple[RiskMonth, ...]:
    """The last RISK_MONTHS months (by the month lapsing began), earlier ones in one bucket."""
    months: list[dt.date] = []
    year, month = today.year, today.month
    for _ in range(RISK_MONTHS):
        months.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    clients: dict[dt.date | None, int] = defaultdict(int)
    cents: dict[dt.date | None, int] = defaultdict(int)
    for day, count, amount in risk_days:
        began = day.replace(day=1)
        key = None if began < months[0] else began
        clients[key] += count
        cents[key] += amount
    out = [RiskMonth(None, clients[None], cents[None])] if None in clients else []
    return tuple(out + [RiskMonth(m, clients[m], cents[m]) for m in months])
