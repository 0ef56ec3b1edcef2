"""Today's list: the open actions with their drafts, the queues waiting for a place, and each
member's week against their quota, read for the CLI, the Today page and the API; and "give me
more", which brings a member whose list is done the next best clients from their queue.

Ranks are per member's list and counted from what is still open, so they stay right after
actions. Drafts are written when the list is read (`messaging.drafts.draft_for`), from the
client's stored facts and the owner's templates in force, for the suggested channel and for
an email when the client has an address.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from keepwarm import explain, planner
from keepwarm.domain.actions import Candidate
from keepwarm.domain.errors import InvalidInput, NotAllowed, NotFound
from keepwarm.domain.model import SIGNAL_LABELS, SignalCode, Staff, User
from keepwarm.domain.policy import Policy
from keepwarm.domain.quotas import Allowance, allowance, week_start
from keepwarm.domain.signals import ClientFacts, Signal
from keepwarm.messaging.drafts import Draft, draft_for
from keepwarm.services.daily_job import local_today
from keepwarm.services.signals import client_facts
from keepwarm.store import actions as q
from keepwarm.store import reading, writing
from keepwarm.store.policy import load_policy_data
from keepwarm.store.queries import client_select, clients_from_result
from keepwarm.store.queries import list_staff as list_staff_rows
from keepwarm.store.tables import actions, activities, clients, touches

log = logging.getLogger(__name__)

_CODES = {c.value: c for c in SignalCode}
_LABELS = {code.value: label for code, label in SIGNAL_LABELS.items()}


@dataclass(frozen=True)
class ListedAction:
    id: int
    client_id: str
    client_name: str
    staff: str | None
    rank: int  # on the member's list, counted from what is open now
    priority: float
    signals: tuple[dict[str, str], ...]
    channel: str
    why: str  # the planner's account, with its numbers
    draft: str  # the draft for `channel` (see `drafts`)
    email: str | None
    phone: str | None
    day: dt.date  # the day the action was first planned (earlier ones carried over)
    drafts: Mapping[str, Draft] = field(default_factory=dict, hash=False, compare=False)

    @property
    def reason(self) -> str:
        """The strongest reason in one plain sentence (see `reason_in_words`)."""
        return reason_in_words(self.signals, self.why)

    @property
    def numbers(self) -> str:
        """The planner's account without its list position (which is counted anew)."""
        return re.sub(r"^#\d+ [^:]*: ", "", self.why)


_INTERNAL = ("%", "chance", "risk", "worth", "a month", "a year", "cadence", "call before")
_WHEN_NOTHING_PLAIN = {
    "usage_up": "Coming more often lately",
    "usage_down": "Coming less often lately",
}


_DAYS = re.compile(r"(?:(?<=for )|(?<=in ))([\d,]+) days\b|\b([\d,]+) days(?= ago)")
"""A number of days after "for" or "in" or before "ago": said in months or years when long."""


def reason_in_words(signals: Sequence[Mapping[str, str]], why: str = "") -> str:
    """The strongest reason as a receptionist would say it ("Usually comes every 3 weeks; last
    visit 7 months ago", "Birthday on Fri 27 Nov (in 3 days)"): the first signal's explanation,
    long silences in months or years, without the internal numbers (chances, values, the
    usual-gap ratio); a reason no rule knows (a reminder) in its own stored words; a hug as
    "Time to say hello"."""
    if not signals:
        last = re.search(r"(last personal contact [^;]+ ago|no personal contact on record)", why)
        return "Time to say hello" + (f": {last.group(1)}" if last else "")
    top = signals[0]
    code, text = top.get("code", ""), top.get("explanation", "")
    if code not in _CODES:
        return _capital(text) or _LABELS.get(code, code.replace("_", " ").capitalize())
    parts = [
        re.sub(r"\s*\(\d+x the usual gap\)", "", part.strip())
        for part in text.split(";")
        if part.strip() and not any(word in part for word in _INTERNAL)
    ]
    due = [p for p in parts[1:] if p.startswith("next due")]
    parts = [parts[0], due[0]] if code == "due" and due else parts[:2]
    plain = "; ".join(parts).replace("usually every", "usually comes every")
    plain = _DAYS.sub(lambda m: explain.span(int((m[1] or m[2]).replace(",", ""))), plain)
    return _capital(plain) or _WHEN_NOTHING_PLAIN.get(code) or _LABELS[_CODES[code]]


def _capital(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


def todays_list(
    engine: Engine, staff_name: str | None = None, day: dt.date | None = None
) -> list[ListedAction]:
    """Every open action (today's and any carried over), staff by staff, in rank order, with
    its draft written as of `day` (default: the business's date now)."""
    with reading(engine) as conn:
        rows = q.open_actions(conn, staff_name)
        policy = _policy(conn)
        when = day or local_today(policy, dt.datetime.now(dt.UTC))
        return _listed(rows, conn, policy, when)


def _policy(conn: Connection) -> Policy:
    data = load_policy_data(conn)
    return Policy() if data is None else Policy.from_dict(data)


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
        listed = _listed(rows, conn, _policy(conn), day)
    counts = {name or "Unassigned": n for name, n in waiting.items()}
    if staff_name is not None:
        counts = {k: v for k, v in counts.items() if k == staff_name}
    return Listing(day, planned, latest, listed, counts)


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
        listed = _listed(rows, conn, policy, day)
    quota = _quota_lines(members, policy, done, waiting)
    return TodayView(day, team, chosen, listed, monday, quota, planned)


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


def _listed(
    rows: list[Any],
    conn: Connection | None = None,
    policy: Policy | None = None,
    day: dt.date | None = None,
) -> list[ListedAction]:
    """The rows as listed actions, ranked 1..n within each member's list in their stored
    order; with their drafts when `conn`, `policy` and `day` are given."""
    ranks: dict[str | None, int] = {}
    listed = []
    for r in rows:
        ranks[r.staff_name] = ranks.get(r.staff_name, 0) + 1
        listed.append(
            ListedAction(
                r.id,
                r.external_id,
                r.client_name,
                r.staff_name,
                ranks[r.staff_name],
                r.priority,
                tuple(json.loads(r.signals)),
                r.channel,
                r.why,
                r.draft,
                r.email,
                r.phone,
                r.day,
            )
        )
    if conn is None or policy is None or day is None or not listed:
        return listed
    facts = drafting_facts(conn, sorted({r.client_id for r in rows}), day)
    return [
        with_drafts(a, facts[r.client_id], policy, day) if r.client_id in facts else a
        for a, r in zip(listed, rows, strict=True)
    ]


def with_drafts(
    action: ListedAction, facts: ClientFacts, policy: Policy, day: dt.date
) -> ListedAction:
    """The action with its drafts for the suggested channel and, when the client has an
    email address or a phone, for an email and a text (`draft` is the suggested channel's)."""
    others = (*(("email",) if action.email else ()), *(("sms",) if action.phone else ()))
    channels = dict.fromkeys((action.channel, *others))
    drafts = {ch: action_draft(action, facts, ch, policy, day) for ch in channels}
    return dataclasses.replace(action, draft=drafts[action.channel].text, drafts=drafts)


def action_draft(
    action: ListedAction, facts: ClientFacts, channel: str, policy: Policy, day: dt.date
) -> Draft:
    """The draft of a listed action for `channel`, from its stored signals (a code no template
    knows, such as a reminder, rides along as a note for the talking points). The talking
    points' "Why" lines are the other reasons in plain words: the strongest one is the card's
    sentence and the talking point itself, and the numbers stay one click away."""
    known, notes = [], []
    for s in action.signals:
        code = _CODES.get(s.get("code", ""))
        if code is None:
            notes.append(s.get("explanation", ""))
        else:
            known.append(Signal(code, s.get("explanation", ""), 0.5, s.get("reason_key", "")))
    return draft_for(
        facts,
        known,
        channel,
        staff=action.staff,
        today=day,
        templates=policy.template_sources(),
        notes=notes,
        reasons=[reason_in_words([s]) for s in action.signals[1:] if s.get("code") in _CODES],
    )


def drafting_facts(
    conn: Connection, client_ids: Sequence[int], as_of: dt.date
) -> dict[int, ClientFacts]:
    """What a draft uses about each client (by internal id), in two queries: the client, and
    their first and last activity (with its kind) up to `as_of`."""
    if not client_ids:
        return {}
    found = clients_from_result(
        conn.execute(client_select().where(clients.c.id.in_(list(client_ids))))
    )
    spans = conn.execute(
        select(
            activities.c.client_id,
            activities.c.kind,
            func.min(activities.c.date),
            func.max(activities.c.date),
        )
        .where(activities.c.client_id.in_(list(client_ids)), activities.c.date <= as_of)
        .group_by(activities.c.client_id, activities.c.kind)
    ).all()
    by_client: dict[int, list[Any]] = {}
    for row in spans:
        by_client.setdefault(row[0], []).append(row)
    out = {}
    for internal, client in found:
        mine = by_client.get(internal, [])
        last = max((r[3] for r in mine), default=None)
        kinds = {r[1]: r[3] for r in mine if r[1] is not None}
        out[internal] = ClientFacts(
            client=client,
            first_activity=min((r[2] for r in mine), default=None),
            last_activity=last,
            last_activity_kind=min((k for k, d in kinds.items() if d == last), default=None),
            last_by_kind=kinds,
        )
    return out


# --- a printable letter -------------------------------------------------------------------------


def printable(
    engine: Engine, action_id: int, *, by: User | None, day: dt.date, channel: str = "card"
) -> tuple[ListedAction, Draft]:
    """An action and its letter to the client (`channel` "card" or "letter"), for printing.
    The owner may print any action, staff their own list's (None: the business's own rights).
    Raises NotFound and NotAllowed."""
    with reading(engine) as conn:
        row = q.action_listing(conn, action_id)
        if row is None:
            raise NotFound(f"no action {action_id}")
        if by is not None and not by.is_owner and row.staff_name != by.staff:
            raise NotAllowed("this action is on someone else's list")
        policy = _policy(conn)
        [action] = _listed([row])
        facts = drafting_facts(conn, [row.client_id], day)[row.client_id]
    return action, action_draft(action, facts, channel, policy, day)


# --- give me more ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class More:
    """What "give me more" did for one member: the clients added to their list (ids, in
    order), the outcome ("added", "quota_met" or "none_waiting") and a sentence saying so."""

    staff: str
    added: tuple[str, ...]
    outcome: str
    message: str


def more_wanted(line: QuotaLine) -> int:
    """How many more a member may ask for once their list is done: what the week's quota still
    needs, at most a day's capacity."""
    return max(min(line.weekly_quota - line.done, line.allowance.daily_capacity), 0)


def give_more(engine: Engine, *, staff_name: str, by: User | None, now: dt.datetime) -> More:
    """When `staff_name`'s list is done and their week's quota is not met, bring onto it the
    next best clients: the first of their waiting queue (the planner's order), passing over a
    client contacted personally in the last `recent_contact_days`, snoozed, or whose reasons
    were dismissed since; then, while more are wanted and today is planned, hugs as the planner
    picks them (`hugs_for`). Staff ask for themselves, the owner for anyone (`by` None: the
    business's own rights). Raises NotFound, NotAllowed, and InvalidInput while the list still
    has open actions; nothing is added when the quota is met (the message says so)."""
    with writing(engine) as conn:
        members = {m.name: m for m in list_staff_rows(conn) if m.active}
        member = members.get(staff_name)
        if member is None:
            raise NotFound(f"staff: no active member of staff called {staff_name!r}")
        if by is not None and not by.is_owner and by.staff != staff_name:
            raise NotAllowed("staff ask for more for their own list only")
        policy = _policy(conn)
        day = local_today(policy, now)
        still = len(q.open_actions(conn, staff_name))
        if still:
            raise InvalidInput(
                f"{staff_name}'s list still has {still} open: finish those before asking for more"
            )
        monday = week_start(day)
        done = q.personal_touches_by_staff(conn, monday, monday + dt.timedelta(days=6))
        line = QuotaLine(staff_name, allowance(member, policy), done.get(staff_name, 0))
        want = more_wanted(line)
        if want == 0:
            said = f"{staff_name}'s quota for the week is met ({line.done} of {line.weekly_quota})"
            return More(staff_name, (), "quota_met", said + ": nothing added.")
        chosen: list[Any] = []
        for row in q.waiting_actions(conn, staff_name):
            if len(chosen) == want:
                break
            if not _passed_over(conn, row, policy, day):
                chosen.append(row)
        for rank, row in enumerate(chosen, start=1):
            q.set_action(conn, row.id, status="open", rank=rank)
        planned = q.plan_completed(conn, day)
    added = tuple(r.external_id for r in chosen)
    if len(added) < want and planned:
        added += _add_hugs(engine, member, want - len(added), policy, day, now, len(added))
    log.info("give more: %s added %d of %d wanted", staff_name, len(added), want)
    if not added:
        said = f"Nobody else to contact for {staff_name} right now: nothing added."
        return More(staff_name, (), "none_waiting", said)
    said = f"{len(added)} more on {staff_name}'s list: {', '.join(added)}."
    return More(staff_name, added, "added", said)


def _passed_over(conn: Connection, row: Any, policy: Policy, day: dt.date) -> bool:
    """Contacted personally in the last `recent_contact_days`, snoozed past `day`, or with a
    dismissal of one of the waiting action's reasons."""
    last = conn.execute(
        select(func.max(touches.c.date)).where(
            touches.c.client_id == row.client_id,
            touches.c.personal.is_(True),
            touches.c.date <= day,
        )
    ).scalar()
    if last is not None and (day - last).days < policy.recent_contact_days:
        return True
    others = conn.execute(
        select(actions.c.status, actions.c.snoozed_until, actions.c.reason_keys).where(
            actions.c.client_id == row.client_id,
            actions.c.id != row.id,
            actions.c.status.in_(("snoozed", "dismissed")),
        )
    ).all()
    keys = set(json.loads(row.reason_keys or "[]"))
    return any(
        (status == "snoozed" and (until is None or until > day))
        or (status == "dismissed" and keys & set(json.loads(reason_keys or "[]")))
        for status, until, reason_keys in others
    )


def hugs_for(
    facts: Sequence[ClientFacts],
    member: str,
    busy: AbstractSet[str],
    policy: Policy,
    day: dt.date,
    count: int,
) -> list[tuple[Candidate, float, float]]:
    """The planner's next hugs for `member`: their clients and unowned ones (never
    do-not-contact, on a list or in a queue (`busy`, by client id), nor contacted personally
    in the last `recent_contact_days`), longest without a personal touch weighted by value
    (`planner.hug_urgency` x `planner.value_weight`), best first: (candidate, value, urgency)."""
    pool = [Candidate(f) for f in facts]
    typical = planner.typical_yearly_value_cents(pool)
    scored = []
    for c in pool:
        client = c.facts.client
        if client.do_not_contact or c.client_id in busy or client.owner not in (member, None):
            continue
        if planner.recently_contacted(c, policy, day):
            continue
        cents = planner.yearly_value_cents(c)
        value = planner.value_weight(typical if cents is None else cents)
        urgency = planner.hug_urgency(planner.days_silent(c, day))
        scored.append((c, value, urgency))
    scored.sort(key=lambda x: (-x[1] * x[2], x[0].client_id))
    return scored[:count]


def _add_hugs(
    engine: Engine,
    member: Staff,
    count: int,
    policy: Policy,
    day: dt.date,
    now: dt.datetime,
    after: int,
) -> tuple[str, ...]:
    """Hugs for `member` onto today's list after the `after` already added: chosen on a read
    of every client's facts, written in a transaction that re-checks each client is still on
    nobody's list, in no queue and not dismissed."""
    facts = client_facts(engine, day)
    with reading(engine) as conn:
        busy, dismissed = _busy_and_dismissed(conn, day)
    chosen = hugs_for(facts, member.name, busy | dismissed, policy, day, count)
    added: list[str] = []
    with writing(engine) as conn:
        busy, dismissed = _busy_and_dismissed(conn, day)
        ids = q.internal_ids(
            conn, clients, clients.c.external_id, [c.client_id for c, _, _ in chosen]
        )
        rows = []
        for cand, value, urgency in chosen:
            if cand.client_id in busy or cand.client_id in dismissed:
                continue
            added.append(cand.client_id)
            rows.append(
                _hug_row(
                    cand,
                    ids[cand.client_id],
                    member,
                    value,
                    urgency,
                    policy,
                    day,
                    now,
                    after + len(added),
                )
            )
        q.insert_actions(conn, rows)
    return tuple(added)


def _busy_and_dismissed(conn: Connection, day: dt.date) -> tuple[set[str], set[str]]:
    """Clients (by id) with an open, waiting or still-snoozed action; clients with a dismissal
    still in force (its reasons kept): neither is hugged."""
    rows = conn.execute(
        select(
            clients.c.external_id, actions.c.status, actions.c.snoozed_until, actions.c.reason_keys
        )
        .join(clients, clients.c.id == actions.c.client_id)
        .where(actions.c.status.in_(("open", "waiting", "snoozed", "dismissed")))
    ).all()
    busy = {
        r[0]
        for r in rows
        if r[1] in ("open", "waiting") or (r[1] == "snoozed" and (r[2] is None or r[2] > day))
    }
    dismissed = {r[0] for r in rows if r[1] == "dismissed" and json.loads(r[3] or "[]")}
    return busy, dismissed


def _hug_row(
    cand: Candidate,
    client_id: int,
    member: Staff,
    value: float,
    urgency: float,
    policy: Policy,
    day: dt.date,
    now: dt.datetime,
    rank: int,
) -> dict[str, object]:
    facts = cand.facts
    silent = planner.days_silent(cand, day)
    last = (
        f"last personal contact {explain.days(silent)} ago"
        if facts.last_personal_touch is not None and silent is not None
        else "no personal contact on record"
    )
    why = (
        f"#{rank} on {member.name}'s list: no signal today; asked for more to meet the week's "
        f"quota; {last}; priority {value * urgency:.2f} = value {value:.2f} x urgency "
        f"{urgency:.2f}"
    )
    return {
        "day": day,
        "client_id": client_id,
        "staff_id": member.id,
        "status": "open",
        "priority": round(value * urgency, 4),
        "rank": rank,
        "channel": planner.suggest_channel(facts.client, ()),
        "signals": "[]",
        "reason_keys": json.dumps([f"hug:{facts.last_personal_touch or 'never'}"]),
        "why": why,
        "draft": "",
        "snoozed_until": None,
        "created_at": now,
    }
