"""The daily job.

`run_daily` claims the local date, learns rhythms as of that date, turns the facts of every
client who can have a reason today into signals (keepwarm.services.candidates: the others can
only be overdue for their cadence, and are ranked from their columns), plans the day within
quotas and writes the actions with their drafts (and places the day's reminders, first on
their members' lists: keepwarm.services.reminders), in one transaction that completes the
day's plan only if no other run completed it first: so running it twice, or twice at once,
gives one plan, and a run killed half-way is simply run again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from keepwarm.config import Settings
from keepwarm.domain.actions import EarlierAction, Plan, PlannedAction
from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.policy import Policy
from keepwarm.domain.quotas import week_start
from keepwarm.domain.signals import ClientFacts
from keepwarm.messaging.drafts import render_draft
from keepwarm.planner import plan_day
from keepwarm.services import activity_snapshot
from keepwarm.services.candidates import Today, todays_candidates
from keepwarm.services.erasure import daily_retention as erase_inactive
from keepwarm.services.feedback import place_detractors, send_requests
from keepwarm.services.policy import get_policy
from keepwarm.services.reminders import place_due
from keepwarm.services.rhythms import compute_rhythms
from keepwarm.services.staff import list_staff
from keepwarm.store import actions as q
from keepwarm.store import reading, writing
from keepwarm.store.tables import clients, staff

log = logging.getLogger(__name__)


class _LostRace(Exception):
    """Another run completed this day's plan first: roll back, change nothing."""


@dataclass(frozen=True)
class DailyRun:
    day: dt.date
    already_planned: bool
    actions: int
    clients_with_signals: int
    waiting: int = 0
    # what went wrong beside the plan, which stands (a campaign's wave not sent), in words
    notes: tuple[str, ...] = ()


def local_today(policy: Policy, now: dt.datetime) -> dt.date:
    """The business's calendar date at `now`, in the policy's time zone."""
    return policy.local_date(now)


def run_daily(
    engine: Engine,
    settings: Settings,
    *,
    day: dt.date,
    now: dt.datetime,
    rebuild: bool = False,
    refit: bool | None = None,
) -> DailyRun:
    """Plan `day` (see the module). The job follows what changed: the activities come from
    the packed snapshot brought up to date from the change log (`rebuild`: read every one,
    replacing it), and the population model is refitted when it is a week old or the business
    changed by 5% (`refit`: True fits it today; keepwarm.services.rhythms.reusable_fit). The
    rules run for the clients who can have a reason beside their cadence; the others are
    ranked from their columns (keepwarm.services.candidates; `rebuild`: the rules for all)."""
    started = time.perf_counter()
    with writing(engine) as conn:
        latest = q.latest_planned_day(conn)
        if latest is not None and day < latest:
            raise InvalidInput(
                f"the plan for {latest} is made already; plans go forward in time, so {day} "
                "cannot be planned now (use `keepwarm today --as-of` to look, or "
                "`keepwarm backtest --as-of` to replay a past day)"
            )
        if q.claim_day(conn, day, now):
            log.info("daily job %s: already planned", day, extra={"day": str(day)})
            return DailyRun(day, True, 0, 0)
    erase_inactive(engine, day=day, now=now)  # the retention policy, before anyone is planned
    # Feedback requests go before the signals: a client asked by email or text today is not
    # also on a list to be asked in person (rules.feedback sees the request).
    _feedback_requests(engine, settings, day, now)
    step = time.perf_counter()
    ids, packed = activity_snapshot.current(engine, now, rebuild=rebuild)
    learned = compute_rhythms(engine, as_of=day, now=now, refit=refit, activities=(ids, packed))
    _step(day, "rhythms learned", step, clients=learned.clients, activities=learned.activities)
    step = time.perf_counter()
    policy = get_policy(engine)
    # the rules run for who can have a reason beside a cadence (every client with `rebuild`)
    found = todays_candidates(engine, policy, day, learned.rhythms, packed, everyone=rebuild)
    del ids, packed  # every activity: not needed past here (a million clients' are 500 MB)
    _step(day, "signals", step, clients=found.clients, clients_with_signals=found.with_signals)
    step = time.perf_counter()
    plan = _plan(engine, found, policy, day)
    _step(day, "plan", step, actions=len(plan.actions), waiting=plan.waiting_count())
    step = time.perf_counter()
    try:
        with writing(engine) as conn:
            by_id = found.facts
            count = _write(conn, plan, by_id, day, now, policy.template_sources())
            # the reminders of the day, after the plan: first on their lists, taking no place
            count += place_due(conn, day, now, by_id, policy.template_sources())
            # unhappy answers given before now: first on the owner's list, once
            count += place_detractors(conn, day, now)
            if not q.complete_day(conn, day, now, count, dict(plan.overflow)):
                raise _LostRace
    except _LostRace:
        log.info("daily job %s: already planned by another run; nothing written", day)
        return DailyRun(day, True, 0, 0)
    _step(day, "write", step, actions=count)
    result = DailyRun(day, False, count, found.with_signals, plan.waiting_count())
    _step(
        day,
        "done",
        started,
        actions=result.actions,
        waiting=result.waiting,
        clients_with_signals=result.clients_with_signals,
    )
    _morning_emails(engine, settings, day, now)
    notes = _campaign_waves(engine, settings, day, now)
    return dataclasses.replace(result, notes=notes)


def _morning_emails(engine: Engine, settings: Settings, day: dt.date, now: dt.datetime) -> None:
    """Queue the day's morning emails (their own transaction, once per user and day); the plan
    stands whatever happens here."""
    from keepwarm.services.morning import queue_morning  # it reads today's list (imports us)

    try:
        queue_morning(engine, settings, day=day, now=now)
    except Exception:
        log.exception("daily job %s: the morning emails were not queued", day)


def _campaign_waves(
    engine: Engine, settings: Settings, day: dt.date, now: dt.datetime
) -> tuple[str, ...]:
    """Send the campaigns' waves due today (each campaign in its own transaction, at most once
    per client; one campaign's failure leaves the others to go); the plan stands whatever
    happens here. Returns what could not be sent, in words."""
    from keepwarm.services.campaigns import send_due  # campaigns read policy and printing

    try:
        reports = send_due(engine, settings, day=day, now=now)
    except Exception:
        log.exception("daily job %s: the campaigns' due waves were not sent", day)
        return ("The campaigns' due waves were not sent (see the log).",)
    return tuple(r.summary() for r in reports if r.failed is not None)


def _feedback_requests(engine: Engine, settings: Settings, day: dt.date, now: dt.datetime) -> None:
    """Queue the day's feedback requests (their own transaction, idempotent); the plan is made
    whatever happens here."""
    try:
        send_requests(engine, settings, day=day, now=now)
    except Exception:
        log.exception("daily job %s: the feedback requests were not queued", day)


def _step(day: dt.date, name: str, started: float, **counts: int) -> None:
    """One line per step of the daily job: its counts and how long it took."""
    seconds = round(time.perf_counter() - started, 3)
    shown = "".join(f", {key.replace('_', ' ')} {value}" for key, value in counts.items())
    log.info(
        "daily job %s: %s in %.2f s%s",
        day,
        name,
        seconds,
        shown,
        extra={"day": str(day), "step": name, "seconds": seconds, **counts},
    )


def _plan(engine: Engine, found: Today, policy: Policy, day: dt.date) -> Plan:
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
        found.candidates,
        list_staff(engine),
        policy,
        day,
        week_done=done,
        open_actions=of("open", "waiting"),
        snoozed=of("snoozed"),
        dismissed=of("dismissed"),
        plain=found.plain,
        evaluate=found.evaluate,
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


def plan_made(engine: Engine, day: dt.date) -> bool:
    """Whether the day's plan is complete (`run-daily` or the server's own daily job)."""
    with reading(engine) as conn:
        return q.plan_completed(conn, day)
