"""Today's list: the open actions, the queues waiting for a place, and each member's week
against their quota, read for the CLI, the Today page and the API.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.model import Staff
from keepwarm.domain.policy import Policy
from keepwarm.domain.quotas import Allowance, allowance, week_start
from keepwarm.services.daily_job import local_today
from keepwarm.store import actions as q
from keepwarm.store import reading, writing
from keepwarm.store.policy import load_policy_data
from keepwarm.store.queries import list_staff as list_staff_rows


@dataclass(frozen=True)
class ListedAction:
    id: int
    client_id: str
    client_name: str
    staff: str | None
    rank: int
    priority: float
    signals: tuple[dict[str, str], ...]
    channel: str
    why: str
    draft: str
    email: str | None
    phone: str | None
    day: dt.date  # the day the action was first planned (earlier ones carried over)


def todays_list(engine: Engine, staff_name: str | None = None) -> list[ListedAction]:
    """Every open action (today's and any carried over), staff by staff, in rank order."""
    with reading(engine) as conn:
        rows = q.open_actions(conn, staff_name)
    return _listed(rows)


@dataclass(frozen=True)
class Listing:
    """What `keepwarm today` shows: the open list, the queue sizes, and which plan it is."""

    day: dt.date
    planned: bool  # whether `day`'s plan is made
    latest: dt.date | None  # the latest day planned
    actions: list[ListedAction]
    waiting: dict[str, int]


def listing(engine: Engine, day: dt.date, staff_name: str | None = None) -> Listing:
    """The open list and queue sizes as they stand, read-only, in one transaction."""
    with reading(engine) as conn:
        rows = q.open_actions(conn, staff_name)
        waiting = q.waiting_counts(conn)
        planned = q.plan_completed(conn, day)
        latest = q.latest_planned_day(conn)
    counts = {name or "Unassigned": n for name, n in waiting.items()}
    if staff_name is not None:
        counts = {k: v for k, v in counts.items() if k == staff_name}
    return Listing(day, planned, latest, _listed(rows), counts)


def waiting_list(engine: Engine, staff_name: str | None = None) -> list[ListedAction]:
    """The actions waiting for a place, staff by staff, first to come first."""
    with reading(engine) as conn:
        rows = q.waiting_actions(conn, staff_name)
    return _listed(rows)


def waiting_beyond(engine: Engine, staff_name: str | None = None) -> dict[str, int]:
    """Per member, how many real reasons wait beyond their queue (counted by the latest plan)."""
    with reading(engine) as conn:
        counts = q.overflow(conn)
    return {k: v for k, v in counts.items() if staff_name is None or k == staff_name}


def move_waiting(
    engine: Engine, *, from_staff: str, to_staff: str, count: int | None = None
) -> int:
    """Give `from_staff`'s waiting actions (the first `count` in their queue, or all) to
    `to_staff`, an active member; they come first on `to_staff`'s next lists. Returns how
    many moved."""
    if from_staff == to_staff:
        raise InvalidInput("choose two different members of staff")
    if count is not None and count < 1:
        raise InvalidInput("--count must be at least 1")
    with writing(engine) as conn:
        members = {m.name: m for m in list_staff_rows(conn)}
        for name in (from_staff, to_staff):
            if name not in members:
                raise NotFound(f"no member of staff called {name!r} (see `keepwarm staff list`)")
        if not members[to_staff].active:
            raise InvalidInput(f"{to_staff} is not active")
        queue = q.waiting_actions(conn, from_staff)
        chosen = [r.id for r in (queue if count is None else queue[:count])]
        return q.move_waiting(conn, chosen, members[to_staff].id)


@dataclass(frozen=True)
class QuotaLine:
    """One member's week: their quota and capacity (and where each comes from), personal
    touches done, and how many actions wait for a place on their list."""

    staff: str
    allowance: Allowance
    done: int
    waiting: int = 0

    @property
    def weekly_quota(self) -> int:
        return self.allowance.weekly_quota

    @property
    def met(self) -> bool:
        return self.done >= self.weekly_quota


@dataclass(frozen=True)
class TodayView:
    """Everything the Today page shows, read in one transaction (one consistent view)."""

    day: dt.date
    team: list[str]
    chosen: str | None
    actions: list[ListedAction]
    monday: dt.date
    quota: list[QuotaLine]
    planned: bool


def _quota_lines(
    members: list[Staff], policy: Policy, done: Mapping[str, int], waiting: Mapping[Any, int]
) -> list[QuotaLine]:
    return [
        QuotaLine(m.name, allowance(m, policy), done.get(m.name, 0), waiting.get(m.name, 0))
        for m in members
    ]


def today_view(engine: Engine, *, now: dt.datetime, staff: str | None, show_all: bool) -> TodayView:
    """The day's list of `staff` (a member of the active team), else everyone's when
    `show_all` (the owner), else nothing; with the week's quota lines and whether the day's
    plan is made yet."""
    with reading(engine) as conn:
        data = load_policy_data(conn)
        policy = Policy() if data is None else Policy.from_dict(data)
        day = local_today(policy, now)
        members = [m for m in list_staff_rows(conn) if m.active]
        team = [m.name for m in members]
        chosen = staff if staff in team else None
        rows = q.open_actions(conn, chosen) if (chosen or show_all) else []
        monday = week_start(day)
        done = q.personal_touches_by_staff(conn, monday, monday + dt.timedelta(days=6))
        planned = q.plan_completed(conn, day)
        waiting = q.waiting_counts(conn)
    quota = _quota_lines(members, policy, done, waiting)
    return TodayView(day, team, chosen, _listed(rows), monday, quota, planned)


def week_quota(engine: Engine, day: dt.date) -> tuple[dt.date, list[QuotaLine]]:
    """Each active member of staff's personal touches in the week (Monday to Sunday) that
    holds `day`, against the quota that applies to them. Newsletters and invoices never count."""
    monday = week_start(day)
    with reading(engine) as conn:
        done = q.personal_touches_by_staff(conn, monday, monday + dt.timedelta(days=6))
        waiting = q.waiting_counts(conn)
        data = load_policy_data(conn)
        members = [m for m in list_staff_rows(conn) if m.active]
    policy = Policy() if data is None else Policy.from_dict(data)
    return monday, _quota_lines(members, policy, done, waiting)


def _listed(rows: list[Any]) -> list[ListedAction]:
    return [
        ListedAction(
            r.id,
            r.external_id,
            r.client_name,
            r.staff_name,
            r.rank,
            r.priority,
            tuple(json.loads(r.signals)),
            r.channel,
            r.why,
            r.draft,
            r.email,
            r.phone,
            r.day,
        )
        for r in rows
    ]
