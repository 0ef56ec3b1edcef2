"""Signals: pure rules from client facts + rhythm + calendar + policy + `today`.

Every function here is pure: `today` is always an argument, nothing reads a clock or a
database. `signals_for` returns every reason one client needs attention today, most urgent
first; a do-not-contact client gets none. Public holidays come from the `holidays` package.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import lru_cache

import holidays
import numpy as np
from numpy.typing import NDArray

from keepwarm import explain
from keepwarm.domain.model import ClientStatus, SignalCode
from keepwarm.domain.policy import FollowUpRule, Occasion, Policy
from keepwarm.domain.signals import (
    NO_DAY,
    ClientColumns,
    ClientFacts,
    Days,
    Signal,
    month_day,
    year_of,
)

Rule = Callable[[ClientFacts, Policy, dt.date], Iterator[Signal]]

# Enum members read once: on Python 3.11 reading a member off its class costs about a
# microsecond, and the rules run for every client every morning.
_ACTIVE, _CANCELLED, _PROSPECT = ClientStatus.ACTIVE, ClientStatus.CANCELLED, ClientStatus.PROSPECT
_LAPSING, _USAGE_DOWN = SignalCode.LAPSING, SignalCode.USAGE_DOWN
_CANCELLATION, _CADENCE_OVERDUE = SignalCode.CANCELLATION, SignalCode.CADENCE_OVERDUE


def signals_for(facts: ClientFacts, policy: Policy, today: dt.date) -> tuple[Signal, ...]:
    """All signals for one client on `today`, most urgent first (ties by code): one reason per
    fact (see `one_reason_per_fact`), each marked pressing or not. A do-not-contact client
    gets none."""
    if facts.client.do_not_contact:
        return ()
    found = one_reason_per_fact([s for rule in RULES for s in rule(facts, policy, today)], facts)
    if len(found) < 2:
        return tuple(found)
    # a StrEnum member compares as its value
    return tuple(sorted(found, key=lambda s: (-s.urgency, s.code, s.reason_key)))


SUPERSEDED_BY_CANCELLATION = frozenset(
    {SignalCode.LAPSING, SignalCode.USAGE_DOWN, SignalCode.USAGE_UP, SignalCode.CADENCE_OVERDUE}
)


def one_reason_per_fact(found: list[Signal], facts: ClientFacts) -> list[Signal]:
    """The same fact never gives two reasons:

    - a client who cancelled is the cancellation's (not also lapsing, usage or cadence; the
      `lapsing` rule itself never flags a cancelled client: they did not drift away, they left);
    - a client who has gone quiet is `lapsing`, not also "usage down";
    - a lapse newer than the last personal contact is pressing (it comes through even for a
      client contacted a few days ago); an older one is not.
    """
    codes = {s.code for s in found}
    out = []
    for signal in found:
        if signal.code in SUPERSEDED_BY_CANCELLATION and _CANCELLATION in codes:
            continue
        if signal.code == _USAGE_DOWN and _LAPSING in codes:
            continue
        if signal.code == _LAPSING:
            signal = replace(signal, pressing=_new_lapse(facts))
        out.append(signal)
    return out


def _new_lapse(facts: ClientFacts) -> bool:
    """The client's silence became unusual after the last personal contact (or there is none)."""
    attention = facts.rhythm.attention_after if facts.rhythm else None
    last = facts.last_personal_touch
    return last is None or (attention is not None and attention > last)


# --- sentences and small arithmetic ----------------------------------------------------------


def when(day: dt.date, today: dt.date) -> str:
    """'Mon 30 Nov (in 6 days)', 'Fri 1 Jan 2027 (in 8 days)', 'Tue 10 Nov (14 days ago)'."""
    label = f"{day:%a} {day.day} {day:%b}" + (f" {day.year}" if day.year != today.year else "")
    delta = (day - today).days
    if delta == 0:
        return f"{label} (today)"
    if delta == 1:
        return f"{label} (tomorrow)"
    return (
        f"{label} (in {explain.days(delta)})"
        if delta > 0
        else f"{label} ({explain.days(-delta)} ago)"
    )


def ramp(value: float, span: float, low: float, high: float) -> float:
    """`low` at value 0 rising linearly to `high` at `span`, clamped to [low, high]."""
    fraction = min(max(value / span, 0.0), 1.0) if span > 0 else 1.0
    return round(low + (high - low) * fraction, 4)


def on_or_after(day: dt.date | None, cutoff: dt.date) -> bool:
    return day is not None and day >= cutoff


def yearly(month: int, day: int, year: int) -> dt.date:
    """The day in `year`; 29 Feb falls on 28 Feb in common years."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return dt.date(year, month, day)


def next_yearly(month: int, day: int, today: dt.date) -> dt.date:
    """The next occurrence of month/day on or after `today` (across the year end)."""
    this_year = yearly(month, day, today.year)
    return this_year if this_year >= today else yearly(month, day, today.year + 1)


# --- rhythm: lapsing, usage_up / usage_down ---------------------------------------------------


def lapsing(facts: ClientFacts, policy: Policy, today: dt.date) -> Iterator[Signal]:
    """Silence long for this client's own rhythm: `rhythm.attention_after <= today`, and not
    longer ago than `policy.lapsing_max_days` (a client gone for years has lapsed: a win-back
    campaign reaches them, not a daily call); never a cancelled client (they left). The more
    likely no visit in the next 90 days (`rhythm.lapse_risk`), the more urgent. The same
    definition in SQL is `keepwarm.store.report_queries.lapsing_clause`."""
    rhythm = facts.rhythm
    if rhythm is None or rhythm.attention_after is None or rhythm.last_activity is None:
        return
    if rhythm.activities < policy.lapsing_min_activities or rhythm.attention_after > today:
        return
    if facts.client.status == _CANCELLED:
        return
    if (today - rhythm.attention_after).days > policy.lapsing_max_days:
        return
    since = (today - rhythm.last_activity).days
    sentence = explain.rhythm_sentence(
        activities=rhythm.activities,
        days_since_last=since,
        usual_gap_days=rhythm.usual_gap_days,
        p_alive=rhythm.p_alive,
        at_risk_cents=rhythm.at_risk_cents,
        symbol=policy.currency_symbol,
    )
    if "at risk" not in sentence and rhythm.at_risk_cents >= 100:
        sentence += f"; about {explain.money(rhythm.at_risk_cents, policy.currency_symbol)}"
        sentence += " a month at risk"
    if rhythm.lapse_risk is not None:
        # Ranked by the lapse score (the chance of no visit in the next 90 days), which beats
        # days-since and recall-interval lists in `keepwarm backtest`: 0.6 at 0, 0.9 at 1.
        urgency = ramp(rhythm.lapse_risk, 1.0, 0.6, 0.9)
    else:
        # Rhythms learned before the lapse score existed: by how long overdue.
        urgency = ramp((today - rhythm.attention_after).days, 90, 0.6, 0.9)
    yield Signal(
        SignalCode.LAPSING,
        sentence,
        urgency,
        f"lapsing:{rhythm.attention_after.isoformat()}",
    )


def usage(facts: ClientFacts, policy: Policy, today: dt.date) -> Iterator[Signal]:
    """A significant trend against the client's own baseline (the rhythm's trend_direction);
    never for a cancelled client, whose usage went down because they left."""
    rhythm = facts.rhythm
    if rhythm is None or not rhythm.trend_direction:
        return
    if facts.client.status == _CANCELLED:
        return
    up = rhythm.trend_direction > 0
    words = explain.trend_words(
        rhythm.trend_direction, rhythm.usage_change, rhythm.visits_change, rhythm.spend_change
    ) or ("usage up lately" if up else "usage down lately")
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    code = SignalCode.USAGE_UP if up else SignalCode.USAGE_DOWN
    yield Signal(code, words, 0.5 if up else 0.6, f"{code.value}:{quarter}")


# --- cancellation ------------------------------------------------------------------------------


def cancellation(facts: ClientFacts, policy: Policy, today: dt.date) -> Iterator[Signal]:
    """Notice given or status cancelled, and no personal touch since: urgency 1, the top.

    "Since" is the cancellation date; for a date still ahead (notice given) a touch within
    `policy.notice_days` before it counts; without a date, since the last activity.
    """
    client = facts.client
    on = client.cancelled_on
    if client.status != _CANCELLED and on is None:
        return
    if on is not None:
        cutoff = on if on <= today else on - dt.timedelta(days=policy.notice_days)
        said = f"cancels on {when(on, today)}" if on > today else f"cancelled on {when(on, today)}"
    else:
        cutoff = facts.last_activity or dt.date.min
        said = "marked cancelled"
    if on_or_after(facts.last_personal_touch, cutoff):
        return
    contact = (
        f"last personal contact {when(facts.last_personal_touch, today)}"
        if facts.last_personal_touch
        else "no personal contact on record"
    )
    yield Signal(
        SignalCode.CANCELLATION,
        f"{said}; {contact}; call before the client is gone",
        1.0,
        f"cancellation:{on.isoformat() if on else 'undated'}",
        channel="call",
        pressing=True,
    )


# --- due: the client's recall date and recurring recalls by kind --------------------------------


def due(facts: ClientFacts, policy: Policy, today: dt.date) -> Iterator[Signal]:
    """The next recall within `due_lead_days` (or overdue): one recall, one reason.

    The client's own `next_due` (the practice's date) is the recall; the policy's recall rules
    by activity kind compute one only without it, or once a visit of that kind on or after
    `next_due` shows the recall was done (the date is then stale)."""
    next_due = facts.client.next_due
    recalls = [
        (kind, last, last + dt.timedelta(days=every_days), every_days)
        for kind, every_days in (sorted(policy.recall_days.items()) if policy.recall_days else ())
        if (last := facts.last_by_kind.get(kind)) is not None
    ]
    if next_due is not None and not any(last >= next_due for _, last, _, _ in recalls):
        if (next_due - today).days <= policy.due_lead_days:
            yield _due_signal(f"recall due {when(next_due, today)}", next_due, today, "due")
        return
    for kind, last, at, every_days in recalls:
        if (at - today).days <= policy.due_lead_days:
            text = (
                f"{kind} {explain.every(every_days)} ({explain.days(every_days)}); last {kind} "
                f"{when(last, today)}; next due {when(at, today)}"
            )
            yield _due_signal(text, at, today, f"due:{kind}")


def _due_signal(text: str, at: dt.date, today: dt.date, key: str) -> Signal:
    urgency = ramp((today - at).days + 14, 44, 0.4, 0.8)  # 0.4 two weeks ahead, 0.8 a month late
    return Signal(SignalCode.DUE, text, urgency, f"{key}:{at.isoformat()}", pressing=at <= today)


# --- occasions: birthday, anniversary, holiday ---------------------------------------------------


def birthday(facts: ClientFacts, policy: Policy, today: dt.date) -> Iterator[Signal]:
    """The birthday within `birthday_lead_days` (29 Feb on 28 Feb in common years)."""
    born = facts.client.birthday
    if born is None:
        return
    at = next_yearly(born.month, born.day, today)
    ahead = (at - today).days
    if ahead > policy.birthday_lead_days:
        return
    age = at.year - born.year
    text = f"birthday on {when(at, today)}" + (f"; turns {age}" if born.year > 1900 else "")
    urgency = ramp(policy.birthday_lead_days - ahead, policy.birthday_lead_days, 0.4, 0.7)
    yield Signal(SignalCode.BIRTHDAY, text, urgency, f"birthday:{at.year}", channel="card")


def anniversary(facts: ClientFacts, policy: Policy, today: dt.date) -> Iterator[Signal]:
    """A whole number of years within the lead time: since `since` (or the first activity),
    and since the last purchase of each of the policy's `key_purchases` kinds."""
    start = facts.client.since or facts.first_activity
    what = "as a client" if facts.client.since else "since the first visit"
    if start is not None:
        yield from _anniversary_of(start, what, "anniversary", policy, today)
    for kind in policy.key_purchases:
        bought = facts.last_by_kind.get(kind)
        if bought is not None:
            key = f"anniversary:{kind}:{bought.isoformat()}"
            yield from _anniversary_of(bought, f"since the {kind}", key, policy, today)


def _anniversary_of(
    start: dt.date, what: str, key: str, policy: Policy, today: dt.date
) -> Iterator[Signal]:
    at = next_yearly(start.month, start.day, today)
    years = at.year - start.year
    ahead = (at - today).days
    if years < 1 or ahead > policy.anniversary_lead_days:
        return
    text = f"{years} year{'s' if years > 1 else ''} {what} on {when(at, today)}"
    text += f" (since {start:%d %b %Y})"
    urgency = ramp(policy.anniversary_lead_days - ahead, policy.anniversary_lead_days, 0.3, 0.6)
    yield Signal(SignalCode.ANNIVERSARY, text, urgency, f"{key}:{at.year}", channel="card")


def holiday(facts: ClientFacts, policy: Policy, today: dt.date) -> Iterator[Signal]:
    """The country's chosen holidays and the policy's own occasions within the lead time,
    each a reason to send a card. Cancelled clients get the cancellation signal instead."""
    if facts.client.status == _CANCELLED:
        return
    for at, name in occasions_between(policy, today, policy.holiday_lead_days):
        ahead = (at - today).days
        urgency = ramp(policy.holiday_lead_days - ahead, policy.holiday_lead_days, 0.2, 0.5)
        text = f"{name} on {when(at, today)}: time for a card"
        yield Signal(SignalCode.HOLIDAY, text, urgency, f"holiday:{at.isoformat()}", "card")


def occasions_between(policy: Policy, today: dt.date, lead: int) -> list[tuple[dt.date, str]]:
    """(date, name) of card-worthy days from `today` to `today + lead`, in date order."""
    return list(_occasions(policy.country, policy.holiday_names, policy.occasions, today, lead))


# The calendar depends on the day and the policy, not the client: computed once per day, not
# once per client (it was most of the rules' time for 100,000 clients).
@lru_cache(maxsize=16)
def _occasions(
    country: str,
    holiday_names: tuple[str, ...],
    occasions: tuple[Occasion, ...],
    today: dt.date,
    lead: int,
) -> tuple[tuple[dt.date, str], ...]:
    end = today + dt.timedelta(days=lead)
    wanted_words = [word.lower() for word in holiday_names]
    found: dict[dt.date, str] = {}
    for year in range(today.year, end.year + 1):
        for at, name in public_holidays(country, year):
            lowered = name.lower()
            wanted = not wanted_words or any(word in lowered for word in wanted_words)
            if today <= at <= end and wanted and "observed" not in lowered:
                found.setdefault(at, name)
        for occasion in occasions:
            at = yearly(occasion.month, occasion.day, year)
            if today <= at <= end:
                found[at] = f"{found[at]} and {occasion.name}" if at in found else occasion.name
    return tuple(sorted(found.items()))


@lru_cache(maxsize=64)
def public_holidays(country: str, year: int) -> tuple[tuple[dt.date, str], ...]:
    """The country's public holidays in `year` from the `holidays` package ("" for none)."""
    if not country:
        return ()
    return tuple(sorted(holidays.country_holidays(country, years=year).items()))


# --- welcome, follow_up, feedback --------------------------------------------------------------


def welcome(facts: ClientFacts, policy: Policy, today: dt.date) -> Iterator[Signal]:
    """A new client (earliest of `since` and the first activity within `welcome_days`) with
    no personal touch since that day. Prospects and cancelled clients are not welcomed."""
    if facts.client.status != _ACTIVE:
        return
    starts = [d for d in (facts.client.since, facts.first_activity) if d is not None]
    if not starts:
        return
    start = min(starts)
    age = (today - start).days
    if not 0 <= age <= policy.welcome_days or on_or_after(facts.last_personal_touch, start):
        return
    text = f"new client since {when(start, today)}; no personal contact yet; say welcome"
    urgency = ramp(age, policy.welcome_days, 0.5, 0.75)
    yield Signal(SignalCode.WELCOME, text, urgency, f"welcome:{start.isoformat()}")


def follow_up(facts: ClientFacts, policy: Policy, today: dt.date) -> Iterator[Signal]:
    """After the last activity of each configured kind: a thank-you while it is fresh, then a
    check-in once `check_in_after_days` have passed; each only without a personal touch since."""
    if not policy.follow_ups:
        return
    for kind, rule in sorted(policy.follow_ups.items()):
        last = facts.last_by_kind.get(kind)
        if last is not None:
            yield from _follow_up_one(facts, rule, kind, last, today)


def _follow_up_one(
    facts: ClientFacts, rule: FollowUpRule, kind: str, last: dt.date, today: dt.date
) -> Iterator[Signal]:
    age = (today - last).days
    if 0 <= age <= rule.thank_you_within_days and not on_or_after(facts.last_personal_touch, last):
        within = explain.days(rule.thank_you_within_days)
        text = f"{kind} on {when(last, today)}; say thank you within {within}"
        key = f"follow_up:thank_you:{kind}:{last.isoformat()}"
        yield Signal(SignalCode.FOLLOW_UP, text, 0.65, key)
        return
    check_in = last + dt.timedelta(days=rule.check_in_after_days)
    late = (today - check_in).days
    if 0 <= late <= rule.check_in_window_days and not on_or_after(
        facts.last_personal_touch, check_in
    ):
        text = f"{kind} on {when(last, today)}; check in on how it went"
        key = f"follow_up:check_in:{kind}:{last.isoformat()}"
        yield Signal(SignalCode.FOLLOW_UP, text, 0.45, key)


def feedback(facts: ClientFacts, policy: Policy, today: dt.date) -> Iterator[Signal]:
    """Ask about the last visit `feedback_after_days` after it (open for `feedback_window_days`),
    at most once per `feedback_period_days`, and never twice about the same visit."""
    last = facts.last_activity
    if last is None:
        return
    age = (today - last).days
    if (
        not policy.feedback_after_days
        <= age
        <= policy.feedback_after_days + policy.feedback_window_days
    ):
        return
    asked = facts.last_feedback_asked
    if asked is not None and (asked >= last or (today - asked).days < policy.feedback_period_days):
        return
    what = facts.last_activity_kind or "visit"
    text = f"last {what} {when(last, today)}; ask how it went"
    if asked is not None:
        text += f" (last asked {explain.days((today - asked).days)} ago)"
    yield Signal(SignalCode.FEEDBACK, text, 0.3, f"feedback:{last.isoformat()}")


# --- cadence_overdue ---------------------------------------------------------------------------


def cadence(facts: ClientFacts, policy: Policy) -> tuple[int, str]:
    """(days, segment words): the smallest cadence among the client's tags (and "prospect"
    for prospects), else the policy's default."""
    return cadence_of(facts.client.tags, facts.client.status, policy)


def cadence_of(tags: tuple[str, ...], status: str, policy: Policy) -> tuple[int, str]:
    """`cadence` of a client with these tags and status."""
    segments = list(tags)
    if status == _PROSPECT:
        segments.append("prospect")
    matched = [(policy.cadence_days[s], s) for s in segments if s in policy.cadence_days]
    if not matched:
        return policy.default_cadence_days, "the default cadence"
    days, segment = min(matched)
    words = "prospects" if segment == "prospect" else f"{segment} clients"
    return days, f"the cadence for {words}"


def cadence_overdue(facts: ClientFacts, policy: Policy, today: dt.date) -> Iterator[Signal]:
    """No personal touch for longer than the client's cadence. Without any touch, silence is
    counted from `since` or the first activity; with neither, the client is overdue."""
    days, words = cadence(facts, policy)
    last = facts.last_personal_touch
    start = last or facts.client.since or facts.first_activity
    silent = (today - start).days if start else None
    if silent is not None and silent <= days:
        return
    if last is not None:
        text = f"no personal contact for {explain.days(silent or 0)}"
    elif silent is not None:
        text = f"no personal contact on record in {explain.days(silent)}"
    else:
        text = "no personal contact on record"
    text += f"; {words} is {explain.days(days)}"
    urgency = ramp((silent or 2 * days) - days, 2 * days, 0.3, 0.6)
    key = f"cadence_overdue:{last.isoformat() if last else 'never'}"
    yield Signal(_CADENCE_OVERDUE, text, urgency, key)


RULES: tuple[Rule, ...] = (
    cancellation,
    lapsing,
    usage,
    due,
    birthday,
    anniversary,
    holiday,
    welcome,
    follow_up,
    feedback,
    cadence_overdue,
)


# --- who can have a reason today: the rules' windows over every client's columns ---------------
#
# The daily job does not run the rules for every client. `RANKED` rules (the cadence's, a
# lapse, an anniversary, a feedback request) give each client's urgency and pressing mark
# from `ClientColumns`, to the bit (`ranked_signals`); `may_have_reason` marks, from the same
# columns, each client for whom one of the other rules can fire today (a superset: each
# window is the rule's own date conditions, loosened where a condition needs more than the
# columns hold). The rules run for those. Every other client's reasons are only the ranked
# ones (a holiday is only ever a note on a reason): the planner ranks them from the columns
# and builds full facts only for the few that can reach a list or a queue
# (keepwarm.planner.PlainClients).

Window = Callable[[ClientColumns, Policy, dt.date], NDArray[np.bool_]]


def _present(days: Days) -> NDArray[np.bool_]:
    return np.asarray(days != NO_DAY)


def _ago(days: Days, today: dt.date) -> NDArray[np.int64]:
    """Days from each date to `today` (meaningless where the date is missing: mask it)."""
    return today.toordinal() - days.astype(np.int64)


def _aged(days: Days, today: dt.date, low: int, high: int) -> NDArray[np.bool_]:
    """The date is there and `low` to `high` days before `today` (both included)."""
    ago = _ago(days, today)
    return _present(days) & (ago >= low) & (ago <= high)


def yearly_window(lead: int, today: dt.date) -> frozenset[int]:
    """Month * 100 + day of every yearly date whose next occurrence (`next_yearly`: 29 Feb on
    28 Feb in common years) is at most `lead` days from `today`."""
    return frozenset(_yearly_ahead(lead, today))


@lru_cache(maxsize=16)
def _yearly_ahead(lead: int, today: dt.date) -> dict[int, tuple[int, int]]:
    """Month * 100 + day -> (days ahead, year) of its next occurrence, for those at most
    `lead` days from `today`."""
    found = {}
    for month in range(1, 13):
        for day in range(1, calendar.monthrange(2000, month)[1] + 1):
            at = next_yearly(month, day, today)
            if (at - today).days <= lead:
                found[month * 100 + day] = ((at - today).days, at.year)
    return found


def _cancellation_window(c: ClientColumns, policy: Policy, today: dt.date) -> NDArray[np.bool_]:
    return c.status_is(_CANCELLED) | _present(c.cancelled_on)


def _usage_window(c: ClientColumns, policy: Policy, today: dt.date) -> NDArray[np.bool_]:
    return np.asarray(c.trend != 0) & ~c.status_is(_CANCELLED)


def _due_window(c: ClientColumns, policy: Policy, today: dt.date) -> NDArray[np.bool_]:
    end = today.toordinal() + policy.due_lead_days
    found = _present(c.next_due) & (c.next_due.astype(np.int64) <= end)
    for kind, every_days in (policy.recall_days or {}).items():
        last = c.last_by_kind.get(kind)
        if last is not None:
            found |= _present(last) & (last.astype(np.int64) + every_days <= end)
    return found


def _birthday_window(c: ClientColumns, policy: Policy, today: dt.date) -> NDArray[np.bool_]:
    return np.isin(c.birthday, list(yearly_window(policy.birthday_lead_days, today)))


def _welcome_window(c: ClientColumns, policy: Policy, today: dt.date) -> NDArray[np.bool_]:
    since, first = c.since, c.first_activity
    start = np.where(
        ~_present(since), first, np.where(~_present(first), since, np.minimum(since, first))
    )
    return c.status_is(_ACTIVE) & _aged(start, today, 0, policy.welcome_days)


def _follow_up_window(c: ClientColumns, policy: Policy, today: dt.date) -> NDArray[np.bool_]:
    found = np.zeros(len(c), dtype=bool)
    for kind, rule in (policy.follow_ups or {}).items():
        last = c.last_by_kind.get(kind)
        if last is not None:
            longest = max(rule.thank_you_within_days, rule.check_in_after_days)
            found |= _aged(last, today, 0, longest + rule.check_in_window_days)
    return found


WINDOWS: dict[Rule, Window] = {
    cancellation: _cancellation_window,
    usage: _usage_window,
    due: _due_window,
    birthday: _birthday_window,
    welcome: _welcome_window,
    follow_up: _follow_up_window,
}
"""Where each rule can fire today, for the rules not `RANKED` (nor the holiday's: a note, never
a reason of its own)."""


def may_have_reason(c: ClientColumns, policy: Policy, today: dt.date) -> NDArray[np.bool_]:
    """The clients for whom a rule not `RANKED` can fire today, and every do-not-contact
    client (whom `signals_for` gives nothing): they go through the rules."""
    found = c.do_not_contact.copy()
    for window in WINDOWS.values():
        found |= window(c, policy, today)
    return found


# --- the ranked rules: each client's urgency from the columns, to the bit ----------------------

Ranked = list[tuple[NDArray[np.float64], NDArray[np.bool_]]]
"""One (urgency, pressing) pair of columns per signal a rule can give a client: the urgency
NaN where the signal is not given today."""


def _ramped(
    values: NDArray[np.int64] | NDArray[np.float64],
    fires: NDArray[np.bool_],
    ramped: Callable[[float], float],
) -> NDArray[np.float64]:
    """`ramped(value)` where `fires` (computed once per distinct value), NaN elsewhere."""
    out = np.full(values.shape, np.nan)
    if fires.any():
        distinct, where = np.unique(values[fires], return_inverse=True)
        out[fires] = np.array([ramped(v) for v in distinct.tolist()])[where.reshape(-1)]
    return out


def _lapsing_ranked(c: ClientColumns, policy: Policy, today: dt.date) -> Ranked:
    """`lapsing`: its conditions, its urgency (by the lapse score, else by how long overdue)
    and its pressing mark (`one_reason_per_fact`: a lapse newer than the last personal
    contact)."""
    attention = c.attention_after
    fires = (
        _aged(attention, today, 0, policy.lapsing_max_days)
        & (c.activities >= policy.lapsing_min_activities)
        & ~c.status_is(_CANCELLED)
    )
    scored = ~np.isnan(c.lapse_risk)
    by_risk = _ramped(c.lapse_risk, fires & scored, lambda r: ramp(r, 1.0, 0.6, 0.9))
    by_days = _ramped(_ago(attention, today), fires & ~scored, lambda d: ramp(d, 90, 0.6, 0.9))
    touch = c.last_personal_touch
    pressing = fires & (~_present(touch) | (attention.astype(np.int64) > touch))
    return [(np.where(scored, by_risk, by_days), pressing)]


def _anniversary_ranked(c: ClientColumns, policy: Policy, today: dt.date) -> Ranked:
    """`anniversary`: one signal for the years since `since` (or the first activity) and one
    for each key purchase, each when a whole number of years falls within the lead time."""
    lead = policy.anniversary_lead_days
    table = _yearly_ahead(lead, today)
    ahead = np.full(1232, -1, dtype=np.int64)  # by month * 100 + day: -1 beyond the lead
    year = np.zeros(1232, dtype=np.int64)
    for md, (days, at_year) in table.items():
        ahead[md], year[md] = days, at_year
    starts = [np.where(_present(c.since), c.since, c.first_activity)]
    starts += [
        bought for kind in policy.key_purchases if (bought := c.last_by_kind.get(kind)) is not None
    ]
    out: Ranked = []
    never = np.zeros(len(c), dtype=bool)
    for start in starts:
        on = month_day(start)
        fires = _present(start) & (ahead[on] >= 0) & (year[on] - year_of(start) >= 1)
        urgency = _ramped(ahead[on], fires, lambda a: ramp(lead - a, lead, 0.3, 0.6))
        out.append((urgency, never))
    return out


def _feedback_ranked(c: ClientColumns, policy: Policy, today: dt.date) -> Ranked:
    """`feedback`: the last visit `feedback_after_days` to that plus the window ago, not
    asked about, and not asked within `feedback_period_days`."""
    after = policy.feedback_after_days
    last, asked = c.last_activity, c.last_feedback_asked
    fires = _aged(last, today, after, after + policy.feedback_window_days) & (
        ~_present(asked) | ((asked < last) & (_ago(asked, today) >= policy.feedback_period_days))
    )
    return [(np.where(fires, 0.3, np.nan), np.zeros(len(c), dtype=bool))]


def _cadence_ranked(c: ClientColumns, policy: Policy, today: dt.date) -> Ranked:
    return [(cadence_urgencies(c, policy, today), np.zeros(len(c), dtype=bool))]


RANKED: dict[Rule, Callable[[ClientColumns, Policy, dt.date], Ranked]] = {
    lapsing: _lapsing_ranked,
    anniversary: _anniversary_ranked,
    feedback: _feedback_ranked,
    cadence_overdue: _cadence_ranked,
}
"""The rules whose signals' urgencies and pressing marks come from the columns, exactly as
the rule (and `one_reason_per_fact`) gives them. None of them supersedes another."""


def ranked_signals(
    c: ClientColumns, policy: Policy, today: dt.date
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """(urgencies: one row per client, one column per signal a `RANKED` rule can give, NaN
    where not given today; pressing: whether any of them is pressing)."""
    pairs = [pair for ranked in RANKED.values() for pair in ranked(c, policy, today)]
    urgencies = np.stack([u for u, _ in pairs], axis=1)
    pressing = np.logical_or.reduce([p for _, p in pairs])
    return urgencies, np.asarray(pressing, dtype=bool)


def cadence_urgencies(c: ClientColumns, policy: Policy, today: dt.date) -> NDArray[np.float64]:
    """Each client's cadence_overdue urgency today (NaN when not overdue): exactly what
    `cadence_overdue` gives, its `ramp` applied to each distinct (days over, span) pair."""
    found: dict[tuple[tuple[str, ...], str], int] = {}
    every = np.empty(len(c), dtype=np.int64)
    for i, key in enumerate(zip(c.tags, c.status.tolist(), strict=True)):
        days = found.get(key)
        if days is None:
            days = found[key] = cadence_of(key[0], key[1], policy)[0]
        every[i] = days
    start = c.days_silent_from()
    unknown = ~_present(start)
    silent = _ago(start, today)
    overdue = unknown | (silent > every)
    over = np.where(unknown | (silent == 0), 2 * every, silent) - every
    pairs, where = np.unique(np.stack([over, 2 * every], axis=1), axis=0, return_inverse=True)
    ramped = np.array([ramp(v, span, 0.3, 0.6) for v, span in pairs.tolist()], dtype=np.float64)
    return np.where(overdue, ramped[where.reshape(-1)], np.nan)
