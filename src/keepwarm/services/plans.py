"""The daily job and today's list.

`run_daily` claims the local date, learns rhythms as of that date, turns every client's facts
into signals, plans the day within quotas and writes the actions with their drafts, in one
transaction that completes the day's plan only if no other run completed it first: so running
it twice, or twice at once, gives one plan, and a run killed half-way is simply run again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput, NotAllowed, NotFound
from keepwarm.domain.model import Staff, Touch, User
from keepwarm.domain.plan import Candidate, EarlierAction, Plan, PlannedAction
from keepwarm.domain.policy import Policy
from keepwarm.domain.quotas import Allowance, allowance, week_start
from keepwarm.domain.signals import ClientFacts
from keepwarm.messaging.drafts import render_draft
from keepwarm.planner import plan_day
from keepwarm.rules import signals_for
from keepwarm.services.people import add_touch, list_staff, normalise_channel
from keepwarm.services.policy import get_policy
from keepwarm.services.rhythms import compute_rhythms
from keepwarm.services.signals import client_facts
from keepwarm.store import plans as q
from keepwarm.store import reading, writing
from keepwarm.store.policy import load_policy_data
from keepwarm.store.queries import list_staff as list_staff_rows
from keepwarm.store.tables import clients, staff


class _LostRace(Exception):
    """Another run completed this day's plan first: roll back, change nothing."""


@dataclass(frozen=True)
class DailyRun:
    day: dt.date
    already_planned: bool
    actions: int
    clients_with_signals: int
    waiting: int = 0


def local_today(policy: Policy, now: dt.datetime) -> dt.date:
    """The business's calendar date at `now`, in the policy's time zone."""
    return policy.local_date(now)


def run_daily(engine: Engine, settings: Settings, *, day: dt.date, now: dt.datetime) -> DailyRun:
    with writing(engine) as conn:
        latest = q.latest_planned_day(conn)
        if latest is not None and day < latest:
            raise InvalidInput(
                f"the plan for {latest} is made already; plans go forward in time, so {day} "
                "cannot be planned now (use `keepwarm today --as-of` to look, or "
                "`keepwarm backtest --as-of` to replay a past day)"
            )
        if q.claim_day(conn, day, now):
            return DailyRun(day, True, 0, 0)
    learned = compute_rhythms(engine, settings, as_of=day, now=now)
    policy = get_policy(engine)
    facts = client_facts(engine, day, learned.rhythms)
    candidates = [Candidate(f, signals_for(f, policy, day)) for f in facts]
    plan = _plan(engine, candidates, policy, day)
    try:
        with writing(engine) as conn:
            by_id = {f.client.id: f for f in facts}
            count = _write(conn, plan, by_id, day, now, policy.template_sources())
            if not q.complete_day(conn, day, now, count, dict(plan.overflow)):
                raise _LostRace
    except _LostRace:
        return DailyRun(day, True, 0, 0)
    with_signals = sum(1 for c in candidates if c.signals)
    return DailyRun(day, False, count, with_signals, plan.waiting_count())


def _plan(engine: Engine, candidates: list[Candidate], policy: Policy, day: dt.date) -> Plan:
    monday = week_start(day)
    with reading(engine) as conn:
        earlier = q.earlier_actions(conn)
        done = q.personal_touches_by_staff(conn, monday, day)

    def of(*statuses: str) -> list[EarlierAction]:
        return [
            EarlierAction(
                a.client_id, a.staff, frozenset(a.reason_keys), a.snoozed_until, first_day=a.day
            )
            for a in earlier
            if a.status in statuses
        ]

    return plan_day(
        candidates,
        list_staff(engine),
        policy,
        day,
        week_done=done,
        open_actions=of("open", "waiting"),
        snoozed=of("snoozed"),
        dismissed=of("dismissed"),
    )


def _write(
    conn: Connection,
    plan: Plan,
    facts: dict[str, ClientFacts],
    day: dt.date,
    now: dt.datetime,
    templates: Mapping[str, str],
) -> int:
    """Write today's actions (open) and the queue (waiting), re-reading the earlier actions
    inside this transaction: an action someone closed while the plan was being made is left as
    it is, and so is its client; an earlier waiting action now beyond its member's queue is
    dropped (it is counted in the plan's overflow); other earlier open or waiting actions with
    no reason left today are retired. Returns the number of actions on today's lists."""
    live = ("open", "waiting", "snoozed")
    earlier = {a.client_id: a for a in q.earlier_actions(conn) if a.status in live}
    acted_on = q.clients_closed_since(conn, now)
    planned = [(a, "open") for a in plan.actions] + [(a, "waiting") for a in plan.waiting]
    planned = [(a, status) for a, status in planned if a.client_id not in acted_on]
    client_ids = q.internal_ids(
        conn, clients, clients.c.external_id, [a.client_id for a, _ in planned]
    )
    staff_ids = q.internal_ids(conn, staff, staff.c.name, [a.staff for a, _ in planned])
    new_rows, reopened = [], []
    for action, status in planned:
        values = _values(action, facts[action.client_id], day, templates, waiting=status != "open")
        values["staff_id"] = staff_ids.get(action.staff)
        before = earlier.pop(action.client_id, None)
        if before is not None:
            reopened.append({**values, "action_id": before.id, "status": status})
            continue
        new_rows.append(
            {
                **values,
                "status": status,
                "day": day,
                "client_id": client_ids[action.client_id],
                "created_at": now,
            }
        )
    q.reopen_all(conn, reopened)
    q.insert_actions(conn, new_rows)
    stale = [a for a in earlier.values() if a.status in ("open", "waiting")]
    beyond = {a.id for a in stale if a.status == "waiting" and a.client_id in plan.beyond}
    q.drop(conn, sorted(beyond))
    q.retire(conn, [a.id for a in stale if a.id not in beyond], now)
    return sum(1 for _, status in planned if status == "open")


def _values(
    action: PlannedAction,
    facts: ClientFacts,
    day: dt.date,
    templates: Mapping[str, str],
    *,
    waiting: bool = False,
) -> dict[str, object]:
    """The stored columns of a planned action. A waiting action gets its draft when it comes
    onto a list (writing drafts for a long queue every day would be most of the job's time)."""
    signals = [
        {"code": s.code.value, "explanation": s.explanation, "reason_key": s.reason_key}
        for s in action.signals
    ]
    if waiting:
        draft = ""
    elif action.signals:
        draft = _draft(facts, action, day, templates)
    else:
        draft = _hug_draft(facts, action.staff)
    return {
        "priority": action.priority,
        "rank": action.rank,
        "channel": action.channel,
        "signals": json.dumps(signals),
        "reason_keys": json.dumps(list(action.reason_keys)),
        "why": action.why,
        "draft": draft,
        "snoozed_until": None,
    }


def _draft(
    facts: ClientFacts, action: PlannedAction, day: dt.date, templates: Mapping[str, str]
) -> str:
    """The owner's template for the action, or keepwarm's own when the owner's cannot render
    for this client (templates are checked when saved, so that is a safety net, not a path)."""
    signals, channel, staff = action.signals, action.channel, action.staff
    try:
        return render_draft(facts, signals, channel, staff=staff, today=day, templates=templates)
    except InvalidInput:
        return render_draft(facts, signals, channel, staff=staff, today=day)


def _hug_draft(facts: ClientFacts, staff_name: str) -> str:
    first = facts.client.first_name or facts.client.name.split()[0]
    return (
        f"Dear {first},\n\nWe were just thinking of you and wanted to say hello. How are you "
        f"doing? It would be lovely to hear from you.\n\nWarm regards,\n{staff_name}"
    )


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


def _open_action(conn: Connection, action_id: int) -> Any:
    row = q.get_action(conn, action_id)
    if row is None:
        raise NotFound(f"no action {action_id} (see `keepwarm today`)")
    if row.status not in ("open", "snoozed"):
        raise InvalidInput(f"action {action_id} is already {row.status}")
    return row


def complete_action(
    engine: Engine,
    action_id: int,
    *,
    channel: str | None,
    outcome: str | None,
    note: str | None,
    day: dt.date,
    now: dt.datetime,
) -> Touch:
    """Record the touch that did the action (by its member of staff) and close the action,
    in one transaction."""
    with writing(engine) as conn:
        row = _open_action(conn, action_id)
        touch = Touch(
            row.external_id,
            day,
            normalise_channel(channel or row.channel),
            row.staff_name,
            (note or "").strip() or None,
            (outcome or "").strip() or None,
        )
        touch_id = add_touch(conn, touch, now)
        q.set_action(conn, action_id, status="done", touch_id=touch_id, closed_at=now)
        q.close_touched_actions(conn, now)
    return touch


def snooze_action(
    engine: Engine, action_id: int, *, until: dt.date, today: dt.date, now: dt.datetime
) -> None:
    """Put the action away until `until`, when the daily plan brings it back."""
    if until <= today:
        raise InvalidInput(f"snooze until a day after today ({today}), not {until}")
    with writing(engine) as conn:
        _open_action(conn, action_id)
        q.set_action(conn, action_id, status="snoozed", snoozed_until=until, closed_at=now)


def dismiss_action(engine: Engine, action_id: int, *, reason: str, now: dt.datetime) -> None:
    """Drop the action: it does not come back for the same reasons until they change."""
    if not reason.strip():
        raise InvalidInput("say why the action is dismissed (--reason)")
    with writing(engine) as conn:
        _open_action(conn, action_id)
        q.set_action(
            conn, action_id, status="dismissed", dismissed_reason=reason.strip(), closed_at=now
        )


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


def check_may_act(engine: Engine, user: User, action_id: int) -> None:
    """The owner may act on any action; staff only on those on their own list. Raises
    NotFound for no such action, NotAllowed for someone else's."""
    with reading(engine) as conn:
        row = q.get_action(conn, action_id)
    if row is None:
        raise NotFound(f"no action {action_id}")
    if not user.is_owner and row.staff_name != user.staff:
        raise NotAllowed("this action is on someone else's list")


def plan_made(engine: Engine, day: dt.date) -> bool:
    """Whether the day's plan is complete (`run-daily` or the server's own daily job)."""
    with reading(engine) as conn:
        return q.plan_completed(conn, day)
