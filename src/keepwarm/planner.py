"""The planner: signals -> prioritised actions per member of staff, within quotas.

Pure: no database, no clock; `today` is always an argument and the same inputs always give the
same plan (ties are broken by client id, then staff name). `plan_day` is the one entry point.

How a day is planned:

1. Every eligible client gets at most one action, merging all its signals. Do-not-contact
   clients and clients snoozed past today never appear; signals whose `reason_key` was
   dismissed for that client are dropped (a new key brings the client back).
2. priority = value x urgency. Value is a weight from the rhythm's yearly worth
   (`1 + log10(1 + dollars a year)`, 1 when unknown). Urgency is the strongest signal's
   urgency plus a tenth of each other signal's, plus up to 0.2 for a long silence since the
   last personal touch (a year or more gives the full 0.2).
3. Each active member of staff may take today's share of what is left of their weekly quota
   (`ceil(remaining / working days left in the week)`, at most `policy.daily_max`).
   Cancellations come first and are always on the list, even beyond the share; open actions
   from earlier days (and snoozed ones whose day has come) come next, then the rest by priority.
   An action goes to the client's owner; unowned clients (or owners no longer active) go to the
   member of staff with the least load this week (touches done plus actions planned).
4. When signals run dry, what is left of the share is filled with "hugs": the clients longest
   without a personal touch, weighted by value, so the weekly habit never stops.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from keepwarm import explain
from keepwarm.domain import (
    Candidate,
    Client,
    EarlierAction,
    Plan,
    PlannedAction,
    Policy,
    Signal,
    SignalCode,
    Staff,
)
from keepwarm.domain.model import SIGNAL_LABELS

CHANNEL_FOR: Mapping[SignalCode, str] = {
    SignalCode.CANCELLATION: "call",
    SignalCode.LAPSING: "call",
    SignalCode.USAGE_UP: "call",
    SignalCode.USAGE_DOWN: "call",
    SignalCode.DUE: "email",
    SignalCode.BIRTHDAY: "card",
    SignalCode.ANNIVERSARY: "card",
    SignalCode.HOLIDAY: "card",
    SignalCode.WELCOME: "call",
    SignalCode.FOLLOW_UP: "call",
    SignalCode.FEEDBACK: "email",
    SignalCode.CADENCE_OVERDUE: "call",
    SignalCode.WIN_BACK: "card",
}
"""The channel each signal suggests when the signal itself names none."""

FALLBACKS: Mapping[str, tuple[str, ...]] = {
    "call": ("call", "email", "card", "visit"),
    "card": ("card", "email", "call", "visit"),
    "email": ("email", "call", "card", "visit"),
    "visit": ("visit", "call", "email", "card"),
}
"""For each wanted channel, the order in which to fall back when the client's data lacks it."""

HUG_CHANNEL = "card"
SILENCE_BONUS = 0.2
OTHER_SIGNAL_WEIGHT = 0.1
HUG_URGENCY_MAX = 0.2
HUG_SPAN_DAYS = 730


@dataclass(frozen=True)
class _Item:
    """A scored client before assignment (internal)."""

    candidate: Candidate
    signals: tuple[Signal, ...]
    staff: str | None
    value: float
    urgency: float
    forced: bool
    carried: bool
    hug: bool
    reason_keys: tuple[str, ...]

    @property
    def priority(self) -> float:
        return self.value * self.urgency

    @property
    def client_id(self) -> str:
        return self.candidate.client_id


def plan_day(
    candidates: Iterable[Candidate],
    staff: Iterable[Staff],
    policy: Policy,
    today: dt.date,
    *,
    week_done: Mapping[str, int],
    open_actions: Iterable[EarlierAction] = (),
    snoozed: Iterable[EarlierAction] = (),
    dismissed: Iterable[EarlierAction] = (),
) -> Plan:
    """Today's plan: at most one action per client, per member of staff within quotas.

    `candidates` are clients with their signals for `today` (duplicates by id are merged);
    `staff` the team (inactive members are ignored) with their weekly quotas; `week_done` maps a
    staff name to personal touches already done this week. `open_actions` carry over,
    `snoozed` come back on their `until` date, and `dismissed` (the dismissals still in force)
    suppress their reason keys; a client with a dismissal is not picked as a hug either.
    """
    team = sorted((s for s in staff if s.active), key=lambda s: s.name)
    names = {s.name for s in team}
    returning = _returning(open_actions, snoozed, today)
    suppressed = _suppressed(dismissed)
    scored = (
        _score(c, names, today, returning.get(c.client_id), suppressed.get(c.client_id, _NONE))
        for c in _eligible(candidates, snoozed, today)
    )
    items = [item for item in scored if item is not None]
    return _assign(items, team, week_done, policy, today)


# --- eligibility ----------------------------------------------------------------------------


def _eligible(
    candidates: Iterable[Candidate], snoozed: Iterable[EarlierAction], today: dt.date
) -> list[Candidate]:
    """Candidates merged by client id, without do-not-contact and still-snoozed clients."""
    sleeping = {s.client_id for s in snoozed if s.until is None or s.until > today}
    merged: dict[str, Candidate] = {}
    for cand in candidates:
        if cand.facts.client.do_not_contact or cand.client_id in sleeping:
            continue
        seen = merged.get(cand.client_id)
        signals = (*seen.signals, *cand.signals) if seen else cand.signals
        merged[cand.client_id] = Candidate(seen.facts if seen else cand.facts, signals)
    return [merged[k] for k in sorted(merged)]


def _returning(
    open_actions: Iterable[EarlierAction], snoozed: Iterable[EarlierAction], today: dt.date
) -> dict[str, EarlierAction]:
    awake = [s for s in snoozed if s.until is not None and s.until <= today]
    return {a.client_id: a for a in (*open_actions, *awake)}


def _suppressed(dismissed: Iterable[EarlierAction]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for action in dismissed:
        out.setdefault(action.client_id, set()).update(action.reason_keys)
    return out


# --- scoring ----------------------------------------------------------------------------------


def yearly_value_cents(candidate: Candidate) -> int | None:
    """What the client is worth a year, in cents: the larger of twelve months of the rhythm's
    monthly value and its CLV; None without a rhythm (e.g. a prospect)."""
    rhythm = candidate.facts.rhythm
    if rhythm is None:
        return None
    return max(rhythm.monthly_value_cents * 12, rhythm.clv_cents, 0)


def value_weight(cents: int | None) -> float:
    """1 + log10(1 + dollars a year): $0 or unknown -> 1, $100 -> 3, $10,000 -> 5."""
    return 1.0 + math.log10(1.0 + max(cents or 0, 0) / 100)


def days_silent(candidate: Candidate, today: dt.date) -> int | None:
    """Days since the last personal touch (or since the client started, without one)."""
    facts = candidate.facts
    start = facts.last_personal_touch or facts.client.since or facts.first_activity
    return max((today - start).days, 0) if start else None


def signal_urgency(signals: tuple[Signal, ...], silent: int | None) -> float:
    """The strongest signal's urgency, a tenth of each other's, and up to 0.2 for silence."""
    if not signals:
        return 0.0
    first, *rest = signals
    bonus = SILENCE_BONUS * (1.0 if silent is None else min(silent, 365) / 365)
    return first.urgency + OTHER_SIGNAL_WEIGHT * sum(s.urgency for s in rest) + bonus


def hug_urgency(silent: int | None) -> float:
    """Small (never above any signal's): grows with the days since the last personal touch."""
    span = HUG_SPAN_DAYS if silent is None else min(silent, HUG_SPAN_DAYS)
    return max(HUG_URGENCY_MAX * span / HUG_SPAN_DAYS, 0.001)


_NONE: frozenset[str] = frozenset()


def _score(
    candidate: Candidate,
    names: set[str],
    today: dt.date,
    earlier: EarlierAction | None,
    suppressed: AbstractSet[str],
) -> _Item | None:
    """The client's item, assigned to the earlier action's or the owner's member of staff
    when they are on the team (else unassigned)."""
    signals = candidate.signals
    if suppressed:
        signals = tuple(s for s in signals if s.reason_key not in suppressed)
    if len(signals) > 1:
        signals = tuple(sorted(signals, key=lambda s: (-s.urgency, s.code.value, s.reason_key)))
    silent = days_silent(candidate, today)
    staff = earlier.staff if earlier and earlier.staff else candidate.facts.client.owner
    hug_key = f"hug:{candidate.facts.last_personal_touch or 'never'}"
    if not signals and suppressed:
        return None  # a dismissed client is not hugged instead; a new signal brings it back
    return _Item(
        candidate=candidate,
        signals=signals,
        staff=staff if staff in names else None,
        value=value_weight(yearly_value_cents(candidate)),
        urgency=signal_urgency(signals, silent) if signals else hug_urgency(silent),
        forced=any(s.code == SignalCode.CANCELLATION for s in signals),
        carried=earlier is not None,
        hug=not signals,
        reason_keys=tuple(s.reason_key for s in signals) or (hug_key,),
    )


# --- assignment -------------------------------------------------------------------------------


def day_share(quota: int, done: int, daily_max: int, today: dt.date) -> int:
    """Today's share of what is left of a weekly quota: spread over the working days left
    (Monday to Friday; a weekend day takes all that is left), at most `daily_max`."""
    remaining = max(quota - done, 0)
    days_left = 5 - today.weekday() if today.weekday() < 5 else 1
    return min(daily_max, math.ceil(remaining / days_left))


def _order(item: _Item) -> tuple[bool, bool, bool, float, str]:
    return (not item.forced, not item.carried, item.hug, -item.priority, item.client_id)


def _assign(
    items: list[_Item],
    team: list[Staff],
    week_done: Mapping[str, int],
    policy: Policy,
    today: dt.date,
) -> Plan:
    room = {
        s.name: day_share(s.weekly_quota, week_done.get(s.name, 0), policy.daily_max, today)
        for s in team
    }
    load = {s.name: week_done.get(s.name, 0) for s in team}
    lists: dict[str, list[_Item]] = {s.name: [] for s in team}
    unassigned: list[str] = []
    for item in sorted(items, key=_order):
        who = _who(item, room, load)
        if who is None:
            if item.forced:
                unassigned.append(item.client_id)
            continue
        lists[who].append(item)
        room[who] = max(room[who] - 1, 0)
        load[who] += 1
    actions = [
        _action(item, name, rank, policy, today)
        for name in sorted(lists)
        for rank, item in enumerate(lists[name], start=1)
    ]
    return Plan(as_of=today, actions=tuple(actions), unassigned=tuple(unassigned))


def _who(item: _Item, room: Mapping[str, int], load: Mapping[str, int]) -> str | None:
    """The owner if they have room (always for a cancellation), else, for an unowned client,
    the least-loaded member of staff with room."""
    if item.staff is not None:
        return item.staff if item.forced or room[item.staff] > 0 else None
    pool = [n for n in room if item.forced or room[n] > 0]
    return min(pool, key=lambda n: (load[n], n)) if pool else None


# --- the action and its words -----------------------------------------------------------------


def suggest_channel(client: Client, signals: tuple[Signal, ...]) -> str:
    """The strongest signal's channel (a hug gets a card), falling back to what the client's
    data allows: no phone -> no call, no email address -> no email, no address -> no card.
    "visit" (in person) is the last resort."""
    wanted = HUG_CHANNEL
    if signals:
        wanted = signals[0].channel or CHANNEL_FOR.get(signals[0].code, "call")
    usable = {
        "call": bool(client.phone),
        "email": bool(client.email),
        "card": bool(client.address),
        "visit": True,
    }
    return next(ch for ch in FALLBACKS.get(wanted, FALLBACKS["call"]) if usable[ch])


def _action(item: _Item, staff: str, rank: int, policy: Policy, today: dt.date) -> PlannedAction:
    client = item.candidate.facts.client
    return PlannedAction(
        client_id=client.id,
        client_name=client.name,
        staff=staff,
        rank=rank,
        priority=round(item.priority, 4),
        value=round(item.value, 4),
        urgency=round(item.urgency, 4),
        signals=item.signals,
        reason_keys=item.reason_keys,
        channel=suggest_channel(client, item.signals),
        why=explain_rank(item, staff, rank, policy, today),
        forced=item.forced,
        carried_over=item.carried,
        hug=item.hug,
    )


def explain_rank(item: _Item, staff: str, rank: int, policy: Policy, today: dt.date) -> str:
    """'#1 on Bo's list: cancelled on ...; and 1 more reason (lapsing); not contacted for 40
    days; worth about $1,240 a year; priority 4.41 = value 4.09 x urgency 1.08'."""
    parts = [f"#{rank} on {staff}'s list: {_reasons(item)}"]
    silent = days_silent(item.candidate, today)
    if item.candidate.facts.last_personal_touch is not None and silent is not None:
        parts.append(f"last personal contact {explain.days(silent)} ago")
    else:
        parts.append("no personal contact on record")
    cents = yearly_value_cents(item.candidate)
    parts.append(
        f"worth about {explain.money(cents, policy.currency_symbol)} a year"
        if cents
        else "value not yet known"
    )
    parts.append(
        f"priority {item.priority:.2f} = value {item.value:.2f} x urgency {item.urgency:.2f}"
    )
    if item.forced:
        parts.append("a cancellation is on the list even beyond the quota")
    if item.carried:
        parts.append("carried over from an earlier day")
    return "; ".join(parts)


def _reasons(item: _Item) -> str:
    if not item.signals:
        return "no signal today; picked to keep the weekly habit of personal contact going"
    first, *rest = item.signals
    if not rest:
        return first.explanation
    codes = ", ".join(dict.fromkeys(SIGNAL_LABELS[s.code].lower() for s in rest))
    more = f"{len(rest)} more reason{'s' if len(rest) > 1 else ''}"
    return f"{first.explanation}; and {more} ({codes})"
