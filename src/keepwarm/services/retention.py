"""Retention by member of staff over a period: staff are rewarded for keeping clients, not only
for winning them. One function, `retention`, feeds the Reports page, its CSV and
`keepwarm report retention`, so the three always agree.

For a period from `start` to `end` (both included), per member, over the clients they look
after (the client's owner today):

- active at the start: a visit (any activity) in the 365 days before `start`;
- still active at the end: of those, a visit in the period, or the end still within their
  usual gap (the rhythm's) of their last visit before the period;
- retention: still active / active at the start;
- won back: clients (anyone's) the member touched personally in the period while the client
  was lapsed (no visit in the `LAPSED_DAYS` before the touch, or never), who then came back
  (a visit) within `RETURN_DAYS` after the touch and by the end of the period;
- quota: whole weeks (Monday to Sunday) inside the period, judged after they joined, with at
  least the weekly quota in force then of personal touches, out of those weeks;
- NPS: feedback answered in the period about the member's visits: % of 9-10 minus % of 0-6.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import defaultdict
from dataclasses import asdict, dataclass

from sqlalchemy import Engine

from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.quotas import allowance, judged, quota_in_force, week_start
from keepwarm.services.policy import get_policy
from keepwarm.stats.nps import net_promoter_score
from keepwarm.store import queries as q
from keepwarm.store import reading
from keepwarm.store import retention as store

LAPSED_DAYS = 180
RETURN_DAYS = 60


@dataclass(frozen=True)
class RetentionRow:
    staff: str
    active_at_start: int
    still_active: int
    retention_pct: float | None
    won_back: int
    quota_weeks_met: int
    quota_weeks: int
    nps: int | None
    nps_answers: int

    @property
    def quota_pct(self) -> float | None:
        return _pct(self.quota_weeks_met, self.quota_weeks)


@dataclass(frozen=True)
class Retention:
    start: dt.date
    end: dt.date
    rows: tuple[RetentionRow, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "lapsed_days": LAPSED_DAYS,
            "return_days": RETURN_DAYS,
            "staff": [{**asdict(r), "quota_pct": r.quota_pct} for r in self.rows],
        }

    def csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for r in self.rows:
            w.writerow(
                [
                    self.start.isoformat(),
                    self.end.isoformat(),
                    r.staff,
                    r.active_at_start,
                    r.still_active,
                    _text(r.retention_pct),
                    r.won_back,
                    r.quota_weeks_met,
                    r.quota_weeks,
                    "" if r.nps is None else r.nps,
                    r.nps_answers,
                ]
            )
        return out.getvalue()


CSV_COLUMNS = (
    "from",
    "to",
    "staff",
    "active_at_start",
    "still_active",
    "retention_pct",
    "won_back",
    "quota_weeks_met",
    "quota_weeks",
    "nps",
    "nps_answers",
)


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


def nps(scores: list[int]) -> int | None:
    """Net promoter score (keepwarm.stats.nps: the Feedback report's definition)."""
    return net_promoter_score(scores)


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last 90 days up to today."""
    return today - dt.timedelta(days=89), today


def retention(
    engine: Engine, start: dt.date, end: dt.date, *, staff_name: str | None = None
) -> Retention:
    """Retention per member from `start` to `end` (see the module docstring); with
    `staff_name`, that member's row only."""
    if end < start:
        raise InvalidInput("to: the period ends before it starts")
    policy = get_policy(engine)
    begin = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    finish = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    with reading(engine) as conn:
        members = q.list_staff(conn)
        history = q.quota_history(conn)
        owned = store.owned_clients(conn, start, end)
        touched = store.personal_touches(conn, start, end)
        visits = store.activity_dates(conn, [cid for _, cid, _ in touched])
        answers = store.feedback_scores(conn, begin, finish)

    active: dict[int, int] = defaultdict(int)
    kept: dict[int, int] = defaultdict(int)
    for c in owned:
        if c.last_before is None:
            continue
        active[c.owner_id] += 1
        gap = math.ceil(c.usual_gap_days) if c.usual_gap_days else None
        if c.visited_in_period or (gap is not None and (end - c.last_before).days <= gap):
            kept[c.owner_id] += 1

    won: dict[int, set[int]] = defaultdict(set)
    per_week: dict[tuple[int, dt.date], int] = defaultdict(int)
    for staff_id, client_id, day in touched:
        per_week[staff_id, week_start(day)] += 1
        if _won_back(visits.get(client_id, []), day, end):
            won[staff_id].add(client_id)

    scores: dict[int, list[int]] = defaultdict(list)
    for staff_id, score in answers:
        scores[staff_id].append(score)

    mondays = []
    monday = week_start(start)
    if monday < start:
        monday += dt.timedelta(weeks=1)
    while monday + dt.timedelta(days=6) <= end:
        mondays.append(monday)
        monday += dt.timedelta(weeks=1)

    rows = []
    for m in members:
        if staff_name is not None and m.name != staff_name:
            continue
        if staff_name is None and not m.active and not active[m.id]:
            continue
        current = allowance(m, policy).weekly_quota
        weeks = [w for w in mondays if judged(m.joined_on, w)]
        met = sum(
            1
            for w in weeks
            if per_week[m.id, w] >= quota_in_force(history.get(m.id, []), w, current)
        )
        rows.append(
            RetentionRow(
                m.name,
                active[m.id],
                kept[m.id],
                _pct(kept[m.id], active[m.id]),
                len(won[m.id]),
                met,
                len(weeks),
                nps(scores[m.id]),
                len(scores[m.id]),
            )
        )
    return Retention(start, end, tuple(rows))


def _won_back(dates: list[dt.date], touch: dt.date, end: dt.date) -> bool:
    before = [d for d in dates if d < touch]
    if before and (touch - before[-1]).days < LAPSED_DAYS:
        return False
    limit = min(touch + dt.timedelta(days=RETURN_DAYS), end)
    return any(touch <= d <= limit for d in dates)
