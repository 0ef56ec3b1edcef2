"""The planner: signals -> prioritised actions per member of staff, within daily capacity.

Pure: no database, no clock; `today` is always an argument and the same inputs always give the
same plan (ties are broken by client id, then staff name). `plan_day` is the one entry point.

How a day is planned:

1. Every eligible client gets at most one action, merging all its signals. Do-not-contact
   clients and clients snoozed past today never appear; signals whose `reason_key` was
   dismissed for that client are dropped (a new key brings the client back). A public holiday
   is only ever a note on a client who is on the list for another reason. A client personally
   contacted in the last `policy.recent_contact_days` comes back only for a pressing reason
   (a cancellation, a new lapse, a recall due now).
2. priority = value x urgency. Value is a weight from the client's yearly value
   (`1 + log10(1 + dollars a year)`; a client whose value is not known yet, a newcomer or a
   prospect, is weighed at the median of the known values). Urgency is the strongest signal's
   urgency plus a tenth of each other signal's, plus up to 0.2 for a long silence since the
   last personal touch (a year or more gives the full 0.2).
3. Real reasons compete for each member's daily capacity (their own, else the policy's),
   whether or not the week's quota is met: cancellations first and always (even beyond
   capacity); then pressing reasons, then those that can wait; within each, what waited or
   stayed open from earlier days first (oldest first, so nothing starves behind a stream of
   new items), then the rest by priority. An action goes to the
   client's owner; unowned clients (or owners no longer active) go to the member of staff with
   the least load. What does not fit waits in the member's queue, in that order.
4. The weekly quota is a floor for the habit, never a cap: when a member's list is shorter
   than today's share of what the quota still needs (`day_share`), "hugs" fill the difference:
   the clients longest without a personal touch, weighted by value.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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
    values,
)
from keepwarm.domain.model import SIGNAL_LABELS
from keepwarm.domain.quotas import Allowance, allowance

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
    SignalCode.REMINDER: "call",
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
# Enum members read once (reading one off its class is slow on Python 3.11; this runs per client)
_HOLIDAY, _CANCELLATION = SignalCode.HOLIDAY, SignalCode.CANCELLATION
SILENCE_BONUS = 0.2
OTHER_SIGNAL_WEIGHT = 0.1
HUG_URGENCY_MAX = 0.2
HUG_SPAN_DAYS = 730
QUEUE_DAYS = 20
"""Each member's queue holds this many days of their capacity (four working weeks); what
waits beyond it is counted (`Plan.overflow`) and joins the queue as it empties."""


@dataclass(frozen=True)
class PlainClients:
    """Clients whose reasons today can only be those ranked from the columns
    (keepwarm.rules.RANKED: overdue for their cadence, lapsing, an anniversary, a feedback
    request; keepwarm.rules.may_have_reason is false for them; none has an earlier action, a
    recent personal contact or a dismissal), as columns: `plan_day` ranks them without their
    facts and asks `evaluate` for the few that can reach a list or a queue.
    `yearly_value_cents` is -1 when not known (no rhythm); `silent` counts the days since the
    last personal touch (or the client's start; -1 with neither); `urgencies` holds one row
    per client, one column per reason a ranked rule can give, each the signal's urgency (NaN
    when not given: a client with none is a possible hug); `pressing` marks a pressing one
    among them (a new lapse)."""

    client_id: Sequence[str]
    owner: Sequence[str | None]
    yearly_value_cents: NDArray[np.int64]
    silent: NDArray[np.int64]
    urgencies: NDArray[np.float64]
    pressing: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.client_id)

    def real(self) -> NDArray[np.bool_]:
        """The clients with a reason today (not only possible hugs)."""
        return np.asarray(~np.isnan(self.urgencies).all(axis=1), dtype=bool)


Evaluate = Callable[[Sequence[int]], Iterable[Candidate]]
"""Candidates (full facts and signals) of the plain clients at these positions."""


@dataclass(frozen=True, slots=True)
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
    first_day: dt.date | None = None
    pressing: bool = False
    typical_cents: int | None = None  # the value weighed for a client whose own is unknown

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
    plain: PlainClients | None = None,
    evaluate: Evaluate | None = None,
) -> Plan:
    """Today's plan: at most one action per client, per member of staff within capacity.

    `candidates` are clients with their signals for `today` (duplicates by id are merged);
    `staff` the team (inactive members are ignored); `week_done` maps a staff name to personal
    touches already done this week. `open_actions` (open or waiting) carry over, `snoozed` come
    back on their `until` date, and `dismissed` (the dismissals still in force) suppress their
    reason keys; a client with a dismissal is not picked as a hug either.

    `plain` clients (none of them among `candidates`) are planned as if each were a candidate
    with its ranked signals (or none): the plan is the same. Only those that can reach
    a list or a queue are built, by `evaluate`; the others are counted beyond the queues.
    """
    team = sorted((s for s in staff if s.active), key=lambda s: s.name)
    names = {s.name for s in team}
    returning = _returning(open_actions, snoozed, today)
    suppressed = _suppressed(dismissed)
    eligible = _eligible(candidates, snoozed, today)
    known = () if plain is None else plain.yearly_value_cents.tolist()
    typical = typical_yearly_value_cents(eligible, known)
    rest: dict[str | None, list[str]] = {}
    if plain is not None and len(plain):
        if evaluate is None:
            raise ValueError("plain clients need `evaluate` to build the ones that are planned")
        chosen, rest = _shortlist(plain, team, policy, typical)
        eligible = _eligible([*eligible, *evaluate(chosen)], snoozed, today)
    scored = (
        _score(
            c,
            names,
            policy,
            today,
            returning.get(c.client_id),
            suppressed.get(c.client_id, _NONE),
            typical,
        )
        for c in eligible
    )
    items = [item for item in scored if item is not None]
    return _assign(items, team, week_done, policy, today, rest)


def typical_yearly_value_cents(
    candidates: Iterable[Candidate], more: Iterable[int] = ()
) -> int | None:
    """The median yearly value of the clients whose value is known (None without any): what a
    new client or a prospect is weighed at until their own value is known, so a newcomer does
    not rank below every regular's routine reasons. `more`: other clients' values (-1 where
    not known)."""
    known = sorted(
        [v for c in candidates if (v := yearly_value_cents(c))] + [v for v in more if v > 0]
    )
    return known[len(known) // 2] if known else None


# --- plain clients: ranked from their columns, built only when they can be planned -------------


def _shortlist(
    plain: PlainClients, team: list[Staff], policy: Policy, typical: int | None
) -> tuple[list[int], dict[str | None, list[str]]]:
    """(positions of the plain clients to build, the rest of those with a real reason by
    member of staff: None for no one's). A member's list and queue take at most (1 +
    `QUEUE_DAYS`) x their capacity of reasons that are not cancellations, and their hugs at
    most their capacity; a client of no one's goes to any member. A plain client is never
    forced or carried: in `_order` it comes after every pressing reason of its member if its
    own is not pressing, and among its kind by priority. So beyond the first places of each
    kind (fewer for reasons that can wait: the pressing ones come first) a plain client waits
    beyond a full queue."""
    real = plain.real()
    priority = _plain_priorities(plain, real, typical)
    client_ids = np.array(plain.client_id, dtype=str)
    capacity = {s.name: allowance(s, policy).daily_capacity for s in team}
    owners = np.array([o if o in capacity else "" for o in plain.owner], dtype=object)
    chosen: list[NDArray[np.intp]] = []
    rest: dict[str | None, list[str]] = {}
    for name in [*capacity, ""]:
        if name:
            places = (1 + QUEUE_DAYS) * max(capacity[name], 1)
            hugs = capacity[name]
        else:
            places = sum((1 + QUEUE_DAYS) * max(c, 1) for c in capacity.values())
            hugs = sum(capacity.values())
        mine = owners == name
        pressing = np.flatnonzero(mine & real & plain.pressing)
        waits = np.flatnonzero(mine & real & ~plain.pressing)
        first, beyond_first = _top(priority, client_ids, pressing, places)
        then, beyond_then = _top(priority, client_ids, waits, max(places - pressing.size, 0))
        chosen += [first, then, _top(priority, client_ids, np.flatnonzero(mine & ~real), hugs)[0]]
        beyond = np.concatenate([beyond_first, beyond_then])
        if beyond.size and capacity:
            rest[name or None] = [plain.client_id[i] for i in beyond.tolist()]
    return sorted(np.concatenate(chosen).tolist()), rest


def _plain_priorities(
    plain: PlainClients, real: NDArray[np.bool_], typical: int | None
) -> NDArray[np.float64]:
    """Each plain client's priority, exactly the one `_score` gives: the value weight, the
    silence bonus and the hug urgency are this module's own functions, applied to each
    distinct value (a few thousand calls, not one per client); `signal_urgency` (the
    strongest reason, a tenth of each other's in order) is arithmetic in the same order,
    which numpy does to the same bit."""

    def known(value: int) -> int | None:
        return None if value < 0 else value

    weight = _each(lambda c: value_weight(_known_or(known(c), typical)), plain.yearly_value_cents)
    bonus = _each(lambda s: silence_bonus(known(s)), plain.silent)
    hug = _each(lambda s: hug_urgency(known(s)), plain.silent)
    ordered = -np.sort(-plain.urgencies, axis=1)  # strongest first, NaN (none) last
    others = np.zeros(len(plain))
    for column in ordered[:, 1:].T:
        others = np.where(np.isnan(column), others, others + column)
    urgency = ordered[:, 0] + OTHER_SIGNAL_WEIGHT * others + bonus
    return np.asarray(weight * np.where(real, urgency, hug), dtype=np.float64)


def _each(f: Callable[[int], float], values: NDArray[np.int64]) -> NDArray[np.float64]:
    """`f` of every value, computed once per distinct value."""
    distinct, where = np.unique(values, return_inverse=True)
    return np.array([f(v) for v in distinct.tolist()], dtype=np.float64)[where]


def _top(
    priority: NDArray[np.float64],
    client_ids: NDArray[np.str_],
    positions: NDArray[np.intp],
    count: int,
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(the first `count` of `positions` in `_order`'s order for plain clients: by priority,
    then client id; the others)."""
    if positions.size <= count:
        return positions, positions[:0]
    ranked = positions[np.lexsort((client_ids[positions], -priority[positions]))]
    return ranked[:count], ranked[count:]


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


def recently_contacted(candidate: Candidate, policy: Policy, today: dt.date) -> bool:
    """Personally contacted in the last `policy.recent_contact_days` (today included)."""
    last = candidate.facts.last_personal_touch
    return last is not None and 0 <= (today - last).days < policy.recent_contact_days


def reasons(
    signals: tuple[Signal, ...], recent: bool, suppressed: AbstractSet[str]
) -> tuple[tuple[Signal, ...], tuple[Signal, ...]]:
    """(reasons to be on the list, notes that ride along): a holiday is only ever a note;
    after a recent personal contact only pressing reasons count; dismissed keys are dropped."""
    kept = [s for s in signals if s.reason_key not in suppressed] if suppressed else signals
    real = [s for s in kept if s.code != _HOLIDAY and (s.pressing or not recent)]
    notes = [s for s in kept if s.code == _HOLIDAY]
    if len(real) > 1:
        real.sort(key=lambda s: (-s.urgency, s.code, s.reason_key))  # StrEnum: by its value
    return tuple(real), tuple(notes)


# --- scoring ----------------------------------------------------------------------------------


def yearly_value_cents(candidate: Candidate) -> int | None:
    """What the client is worth a year while they keep coming, in cents (see
    `keepwarm.domain.values.yearly_value_cents`); None without a rhythm (e.g. a prospect)."""
    rhythm = candidate.facts.rhythm
    return None if rhythm is None else values.yearly_value_cents(rhythm)


def _known_or(cents: int | None, typical: int | None) -> int | None:
    return typical if cents is None else cents


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
    bonus = silence_bonus(silent)
    return first.urgency + OTHER_SIGNAL_WEIGHT * sum(s.urgency for s in rest) + bonus


def silence_bonus(silent: int | None) -> float:
    """Up to 0.2 for the days since the last personal touch (a year or more: all of it)."""
    return SILENCE_BONUS * (1.0 if silent is None else min(silent, 365) / 365)


def hug_urgency(silent: int | None) -> float:
    """Small (never above any signal's): grows with the days since the last personal touch."""
    span = HUG_SPAN_DAYS if silent is None else min(silent, HUG_SPAN_DAYS)
    return max(HUG_URGENCY_MAX * span / HUG_SPAN_DAYS, 0.001)


_NONE: frozenset[str] = frozenset()


def _score(
    candidate: Candidate,
    names: set[str],
    policy: Policy,
    today: dt.date,
    earlier: EarlierAction | None,
    suppressed: AbstractSet[str],
    typical: int | None = None,
) -> _Item | None:
    """The client's item, assigned to the earlier action's or the owner's member of staff
    when they are on the team (else unassigned); None when the client has no place today.
    A client whose value is not known yet is weighed at the `typical` value."""
    recent = recently_contacted(candidate, policy, today)
    real, notes = reasons(candidate.signals, recent, suppressed)
    if not real and (recent or suppressed):
        # Contacted a few days ago, or dismissed: not hugged instead; a new reason brings the
        # client back.
        return None
    silent = days_silent(candidate, today)
    staff = earlier.staff if earlier and earlier.staff else candidate.facts.client.owner
    hug_key = f"hug:{candidate.facts.last_personal_touch or 'never'}"
    return _Item(
        candidate=candidate,
        signals=(*real, *notes) if real else (),
        staff=staff if staff in names else None,
        value=value_weight(_known_or(yearly_value_cents(candidate), typical)),
        urgency=signal_urgency(real, silent) if real else hug_urgency(silent),
        forced=any(s.code == _CANCELLATION for s in real),
        carried=earlier is not None,
        hug=not real,
        reason_keys=tuple(s.reason_key for s in (*real, *notes)) or (hug_key,),
        first_day=earlier.first_day if earlier else None,
        pressing=any(s.pressing for s in real),
        typical_cents=typical,
    )


# --- assignment -------------------------------------------------------------------------------


def day_share(quota: int, done: int, today: dt.date) -> int:
    """Today's share of what is left of a weekly quota: spread over the working days left
    (Monday to Friday; a weekend day takes all that is left)."""
    remaining = max(quota - done, 0)
    days_left = 5 - today.weekday() if today.weekday() < 5 else 1
    return math.ceil(remaining / days_left)


def _order(item: _Item) -> tuple[bool, bool, bool, dt.date, float, str]:
    """Cancellations; then pressing reasons, then the rest; within each, what carried over
    first (oldest first), then by priority. So a backlog of reasons that can wait never holds
    back a new lapse or a recall due now, and nothing waits behind a stream of newer items of
    its own kind."""
    return (
        not item.forced,
        not item.pressing,
        not item.carried,
        item.first_day or dt.date.max,
        -item.priority,
        item.client_id,
    )


def _assign(
    items: list[_Item],
    team: list[Staff],
    week_done: Mapping[str, int],
    policy: Policy,
    today: dt.date,
    rest: Mapping[str | None, list[str]] | None = None,
) -> Plan:
    allowed = {s.name: allowance(s, policy) for s in team}
    room = {name: a.daily_capacity for name, a in allowed.items()}
    load = {s.name: week_done.get(s.name, 0) for s in team}
    lists: dict[str, list[_Item]] = {s.name: [] for s in team}
    queues: dict[str, list[_Item]] = {s.name: [] for s in team}
    unassigned: list[str] = []
    for item in sorted((i for i in items if not i.hug), key=_order):
        who = _who(item, room, load)
        if who is None:
            if item.forced:
                unassigned.append(item.client_id)
            continue
        if item.forced or room[who] > 0:
            lists[who].append(item)
            room[who] -= 0 if item.forced else 1  # a cancellation takes no one else's place
            load[who] += 1
        else:
            queues[who].append(item)
    beyond = {
        name: [i.client_id for i in queue[_kept(allowed[name]) :]] for name, queue in queues.items()
    }
    for name, ids in (rest or {}).items():
        # plain clients beyond the shortlist: after every item above, in full queues
        if name is None:
            if any(room.values()):
                raise AssertionError("the shortlist left a place on a list")
            name = min(room, key=lambda n: (load[n], n))
        beyond[name] += ids
    need = {
        name: min(
            room[name],
            max(day_share(a.weekly_quota, week_done.get(name, 0), today) - len(lists[name]), 0),
        )
        for name, a in allowed.items()
    }
    for item in sorted((i for i in items if i.hug), key=_order):
        who = _hugger(item, need, load)
        if who is not None:
            lists[who].append(item)
            need[who] -= 1
            load[who] += 1
    kept = {name: queue[: _kept(allowed[name])] for name, queue in queues.items()}
    return Plan(
        as_of=today,
        actions=_actions(lists, policy, today, waiting=False),
        unassigned=tuple(unassigned),
        waiting=_actions(kept, policy, today, waiting=True),
        overflow={n: len(ids) for n, ids in beyond.items() if ids},
        beyond=frozenset(i for ids in beyond.values() for i in ids),
    )


def _kept(allowed: Allowance) -> int:
    """How many a member's queue holds: `QUEUE_DAYS` of their capacity."""
    return QUEUE_DAYS * max(allowed.daily_capacity, 1)


def _actions(
    by_staff: Mapping[str, list[_Item]], policy: Policy, today: dt.date, *, waiting: bool
) -> tuple[PlannedAction, ...]:
    return tuple(
        _action(item, name, rank, policy, today, waiting=waiting)
        for name in sorted(by_staff)
        for rank, item in enumerate(by_staff[name], start=1)
    )


def _who(item: _Item, room: Mapping[str, int], load: Mapping[str, int]) -> str | None:
    """The owner (whether or not they have room: what does not fit waits in their queue);
    for an unowned client, the least-loaded member with room, else the least loaded."""
    if item.staff is not None:
        return item.staff
    if not room:
        return None
    pool = [n for n in room if room[n] > 0] or list(room)
    return min(pool, key=lambda n: (load[n], n))


def _hugger(item: _Item, need: Mapping[str, int], load: Mapping[str, int]) -> str | None:
    """Who hugs the client: their owner if the owner's quota still needs it; an unowned
    client goes to the member who needs the most."""
    if item.staff is not None:
        return item.staff if need[item.staff] > 0 else None
    pool = [n for n in need if need[n] > 0]
    return min(pool, key=lambda n: (-need[n], load[n], n)) if pool else None


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


def _action(
    item: _Item, staff: str, rank: int, policy: Policy, today: dt.date, *, waiting: bool = False
) -> PlannedAction:
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
        why=explain_rank(item, staff, rank, policy, today, waiting=waiting),
        forced=item.forced,
        carried_over=item.carried,
        hug=item.hug,
        waiting=waiting,
    )


def reminder_action(client: Client, staff: str, reminder: Signal) -> PlannedAction:
    """A reminder a member of staff set, on their list on its day: first on the list, beyond
    their daily capacity and whatever the quota (they asked for it), so it takes no one
    else's place; the rest of the plan is as it would be without it."""
    return PlannedAction(
        client_id=client.id,
        client_name=client.name,
        staff=staff,
        rank=0,
        priority=0.0,
        value=0.0,
        urgency=reminder.urgency,
        signals=(reminder,),
        reason_keys=(reminder.reason_key,),
        channel=suggest_channel(client, (reminder,)),
        why=f"{reminder.explanation}; on {staff}'s list as they asked, beyond the daily capacity",
        forced=True,
    )


def explain_rank(
    item: _Item, staff: str, rank: int, policy: Policy, today: dt.date, *, waiting: bool = False
) -> str:
    """'#1 on Bo's list: cancelled on ...; and 1 more reason (lapsing); not contacted for 40
    days; worth about $1,240 a year; priority 4.41 = value 4.09 x urgency 1.08'."""
    where = f"#{rank} waiting for {staff}" if waiting else f"#{rank} on {staff}'s list"
    parts = [f"{where}: {_reasons(item)}"]
    silent = days_silent(item.candidate, today)
    if item.candidate.facts.last_personal_touch is not None and silent is not None:
        parts.append(f"last personal contact {explain.days(silent)} ago")
    else:
        parts.append("no personal contact on record")
    cents = yearly_value_cents(item.candidate)
    if cents:
        parts.append(explain.worth(cents, policy.currency_symbol))
    elif cents is None and item.typical_cents:
        parts.append(
            "value not yet known: weighed as a typical client, "
            f"{explain.worth(item.typical_cents, policy.currency_symbol)}"
        )
    else:
        parts.append("value not yet known")
    parts.append(
        f"priority {item.priority:.2f} = value {item.value:.2f} x urgency {item.urgency:.2f}"
    )
    if item.forced:
        parts.append("a cancellation is on the list even beyond the daily capacity")
    if item.carried and item.first_day is not None:
        parts.append(f"waiting since {item.first_day:%a} {item.first_day.day} {item.first_day:%b}")
    elif item.carried:
        parts.append("carried over from an earlier day")
    if waiting:
        parts.append(f"{staff}'s places today went to higher priorities; it comes first later")
    return "; ".join(parts)


def _reasons(item: _Item) -> str:
    if not item.signals:
        return "no signal today; picked to keep the weekly habit of personal contact going"
    first, *rest = item.signals
    if not rest:
        return first.explanation
    codes = ", ".join(dict.fromkeys(SIGNAL_LABELS[s.code].lower() for s in rest))
    if all(s.code == SignalCode.HOLIDAY for s in rest):
        return f"{first.explanation}; also {rest[0].explanation}"
    more = f"{len(rest)} more reason{'s' if len(rest) > 1 else ''}"
    return f"{first.explanation}; and {more} ({codes})"
