"""The daily job runs the rules only for clients who can have a reason beside their cadence,
and plans exactly what running them for everyone plans.

Random practices (statuses, tags with their own cadences, birthdays on 29 February, recalls,
follow-ups, key purchases, holidays, owners active and not, clients of no one's, ties of
unknown value) are checked on many days: each rule's window holds every client the rule flags;
the cadence urgency from the columns is the rule's own; and the plan made from the shortlist
equals the plan made from every client's signals, also when most clients wait beyond every
queue. Then a practice in a real database is planned day after day both ways.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

import builders
from conftest import database_in
from keepwarm import planner, rules
from keepwarm.config import Settings
from keepwarm.domain import Candidate, Client, EarlierAction, Plan, Policy, Staff
from keepwarm.domain.model import ClientStatus, ImportKind, SignalCode
from keepwarm.domain.policy import FollowUpRule, Occasion
from keepwarm.domain.signals import NO_DAY, ClientColumns, ClientFacts
from keepwarm.services import activity_snapshot
from keepwarm.services.actions import complete_action, dismiss_action, snooze_action
from keepwarm.services.candidates import (
    client_columns,
    plain_clients,
    through_rules,
    todays_candidates,
)
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.policy import save_policy
from keepwarm.services.rhythms import compute_rhythms
from keepwarm.services.signals import client_facts
from keepwarm.services.staff import add_staff
from keepwarm.store import connect, migrate, reading, writing
from keepwarm.store.facts import client_table
from keepwarm.store.tables import actions, clients, staff

POLICY = Policy(
    country="US",
    recall_days={"checkup": 180},
    follow_ups={"glasses": FollowUpRule(thank_you_within_days=3, check_in_after_days=30)},
    key_purchases=("glasses",),
    cadence_days={"vip": 45, "family": 120, "prospect": 30, "weekly": 4},
    default_cadence_days=180,
    occasions=(Occasion(name="Our birthday", month=6, day=15),),
)
DAYS = (
    dt.date(2026, 3, 2),
    dt.date(2027, 2, 24),  # 29 Feb birthdays fall on 28 Feb in a common year
    dt.date(2028, 2, 27),  # ... and on the 29th in a leap year
    dt.date(2026, 12, 18),  # Christmas within the holiday lead: a note on everyone
    dt.date(2026, 12, 28),  # the year's end: occasions and birthdays across it
    dt.date(2026, 6, 10),
)
KINDS = ("visit", "checkup", "glasses")


def _day(rng: random.Random, around: dt.date, span: int) -> dt.date:
    return around + dt.timedelta(days=rng.randint(-span, span))


def _maybe(rng: random.Random, share: float, value: Any) -> Any:
    return value if rng.random() < share else None


def _facts(rng: random.Random, count: int, today: dt.date, busy: float = 1.0) -> list[ClientFacts]:
    """`count` random clients as of `today`; `busy` scales how many have something happening
    (a birthday known, a recall date, a cancellation, a trend, recent purchases)."""
    out = []
    for i in range(count):
        status = rng.choices(list(ClientStatus), weights=(85, 8, 7 * busy))[0]
        born = _maybe(rng, 0.5 * busy, _day(rng, dt.date(1970, 6, 1), 9000))
        if born is not None and rng.random() < 0.05:
            born = dt.date(1988, 2, 29)
        client = Client(
            id=f"C{i:05d}",
            name=f"Client {i}",
            phone=_maybe(rng, 0.8, "555-0100"),
            email=_maybe(rng, 0.7, f"c{i}@example.com"),
            address=_maybe(rng, 0.6, "1 Main St"),
            birthday=born,
            since=_maybe(rng, 0.4, _day(rng, today - dt.timedelta(days=900), 900)),
            owner=rng.choice(["Ann", "Ann", "Bo", "Cy", None]),  # Cy is not active
            tags=tuple(t for t in ("vip", "family", "weekly") if rng.random() < 0.12),
            status=status,
            cancelled_on=_maybe(rng, 0.04 * busy, _day(rng, today, 60)),
            next_due=_maybe(rng, 0.3 * busy, _day(rng, today, 150)),
            do_not_contact=rng.random() < 0.03,
        )
        first = _maybe(rng, 0.85, _day(rng, today - dt.timedelta(days=1100), 1000))
        last = None if first is None else first + dt.timedelta(days=rng.randint(0, 900))
        if last is not None and last > today:
            last = today - dt.timedelta(days=rng.randint(0, 40))
            first = min(first or last, last)
        by_kind = {}
        if first is not None and last is not None:
            for kind in KINDS:
                if rng.random() < 0.4 * busy:
                    by_kind[kind] = _day(rng, last - dt.timedelta(days=200), 200)
                    by_kind[kind] = min(max(by_kind[kind], first), last)
            by_kind[rng.choice(KINDS) if rng.random() < busy else "visit"] = last
        rhythm = None
        if first is not None and rng.random() < 0.9:
            rhythm = builders.rhythm(
                as_of=today,
                activities=rng.randint(1, 30),
                last_activity=last if rng.random() < 0.97 else None,
                monthly_value_cents=rng.choice([0, 0, rng.randint(0, 90_000)]),
                attention_after=_maybe(rng, 0.7 * busy, _day(rng, today, 400)),
                trend_direction=rng.choices([-1, 0, 1], weights=(4 * busy, 92, 4 * busy))[0],
                lapse_risk=_maybe(rng, 0.8, rng.random()),
            )
        out.append(
            ClientFacts(
                client=client,
                rhythm=rhythm,
                first_activity=first,
                last_activity=last,
                last_activity_kind=None if last is None else rng.choice(KINDS),
                last_by_kind=by_kind,
                last_personal_touch=_maybe(
                    rng, 0.6, today - dt.timedelta(days=rng.randint(0, 800))
                ),
                last_feedback_asked=_maybe(  # sometimes on the day of the last visit
                    rng, 0.2, rng.choice([last, today - dt.timedelta(days=rng.randint(0, 400))])
                ),
            )
        )
    return out


def _columns(facts: list[ClientFacts]) -> ClientColumns:
    return ClientColumns.of(facts, list(range(1, len(facts) + 1)))


def test_every_rule_is_ranked_from_the_columns_or_has_a_window() -> None:
    """A rule added without either would never run for a client it alone could flag."""
    assert set(rules.WINDOWS) | set(rules.RANKED) | {rules.holiday} == set(rules.RULES)
    assert not set(rules.WINDOWS) & set(rules.RANKED)


@pytest.mark.parametrize("today", DAYS)
def test_each_rules_window_holds_every_client_the_rule_flags(today: dt.date) -> None:
    facts = _facts(random.Random(today.toordinal()), 3000, today)
    columns = _columns(facts)
    for rule, window in rules.WINDOWS.items():
        inside = window(columns, POLICY, today)
        flagged = [i for i, f in enumerate(facts) if any(rule(f, POLICY, today))]
        assert all(inside[i] for i in flagged), rule.__name__
        assert not inside.all(), rule.__name__  # and each window leaves clients out
    may = rules.may_have_reason(columns, POLICY, today)
    quiet = RANKED_CODES | {SignalCode.HOLIDAY}
    for i, f in enumerate(facts):
        if any(s.code not in quiet for s in rules.signals_for(f, POLICY, today)):
            assert may[i], f.client.id
        if f.client.do_not_contact:
            assert may[i]
    assert 0.1 < np.count_nonzero(~may) / len(facts) < 0.95  # some clients are plain


def test_the_random_practices_exercise_every_rule() -> None:
    """Each rule flags some client of the practices above on some day (else its window was
    not checked)."""
    silent = set(rules.WINDOWS) | set(rules.RANKED)
    for today in DAYS:
        facts = _facts(random.Random(today.toordinal()), 3000, today)
        silent -= {r for r in silent if any(any(r(f, POLICY, today)) for f in facts)}
    assert not silent


RANKED_CODES = {
    SignalCode.CADENCE_OVERDUE,
    SignalCode.LAPSING,
    SignalCode.ANNIVERSARY,
    SignalCode.FEEDBACK,
}


@pytest.mark.parametrize("today", DAYS)
def test_each_ranked_rules_urgencies_from_the_columns_are_the_rules_own_to_the_bit(
    today: dt.date,
) -> None:
    """For every client, each ranked rule's urgencies from the columns are those of the
    signals the rule gives (as many, to the bit), and pressing exactly when one of them is
    (a lapse newer than the last personal contact)."""
    facts = _facts(random.Random(today.toordinal() + 2), 3000, today)
    columns = _columns(facts)
    assert {s for r in rules.RANKED for f in facts[:300] for s in r(f, POLICY, today)}
    for rule, ranked in rules.RANKED.items():
        pairs = ranked(columns, POLICY, today)
        urgencies = np.stack([u for u, _ in pairs], axis=1)
        pressing = np.logical_or.reduce([p for _, p in pairs])
        given = 0
        for i, f in enumerate(facts):
            signals = rules.one_reason_per_fact(list(rule(f, POLICY, today)), f)
            mine = urgencies[i][~np.isnan(urgencies[i])]
            assert sorted(mine.tolist()) == sorted(s.urgency for s in signals), (rule, i)
            assert pressing[i] == any(s.pressing for s in signals), (rule, i)
            given += bool(signals)
        assert 0 < given < len(facts), rule.__name__
        if rule is rules.lapsing:
            assert 0 < np.count_nonzero(pressing) < given  # both kinds of lapse


@pytest.mark.parametrize("today", DAYS)
def test_the_cadence_urgency_from_the_columns_is_the_rules_own_to_the_bit(today: dt.date) -> None:
    facts = _facts(random.Random(today.toordinal() + 1), 2000, today)
    urgency = rules.cadence_urgencies(_columns(facts), POLICY, today)
    overdue = 0
    for i, f in enumerate(facts):
        found = list(rules.cadence_overdue(f, POLICY, today))
        if found:
            overdue += 1
            assert urgency[i] == found[0].urgency, f.client.id  # to the bit
        else:
            assert np.isnan(urgency[i]), f.client.id
    assert 0 < overdue < len(facts)


TEAM = (
    Staff(1, "Ann", None, weekly_quota=10, daily_capacity=2),
    Staff(2, "Bo", None, weekly_quota=3, daily_capacity=1),
    Staff(3, "Cy", None, weekly_quota=5, daily_capacity=3, active=False),
    Staff(4, "Di", None, weekly_quota=20, daily_capacity=0),
)


@pytest.mark.parametrize("seed", range(24))
def test_the_shortlist_plans_what_planning_every_client_plans(seed: int) -> None:
    """Both plans are equal to the last field, whether most clients wait beyond every queue
    (2,000 clients, a capacity of a few a day) or all fit (a handful), whoever the team is."""
    rng = random.Random(seed)
    today = DAYS[seed % len(DAYS)]
    count = rng.choice([2000, 2000, 300, 40, 5])
    facts = _facts(rng, count, today, busy=rng.choice([1.0, 0.05, 0.0]))
    team = [s for s in TEAM if rng.random() < 0.8] if seed % 4 else []
    full, short, asked, plain = _both_ways(facts, team, today, rng)
    assert short == full
    if count == 2000 and any(s.active for s in team):
        assert full.overflow  # most clients wait beyond the queues ...
        assert asked < plain / 2  # ... and most plain clients were never built


def _plain_practice(
    seed: int,
) -> tuple[list[ClientFacts], list[Staff], dt.date, random.Random]:
    """Clients with nothing but their cadence, overdue or not (no activity dates, occasions,
    recalls or trends), touched at most 60, 170 or 400 days ago: from none due to many."""
    rng = random.Random(1000 + seed)
    today = DAYS[seed % len(DAYS)]
    latest = rng.choice([60, 170, 400])
    vip = rng.choice([0.0, 0.1])  # a shorter cadence, 45 days
    touched = rng.choice([0.9, 1.0])  # the others were never contacted: overdue
    facts = [
        ClientFacts(
            client=Client(
                id=f"Q{i:05d}",
                name=f"Quiet {i}",
                owner=rng.choice(["Ann", "Bo", "Cy", None]),
                tags=("vip",) if rng.random() < vip else ("weekly",) if rng.random() < 0.02 else (),
                status=ClientStatus.ACTIVE,
                phone=_maybe(rng, 0.8, "555-0100"),
            ),
            rhythm=_maybe(
                rng,
                0.9,
                builders.rhythm(
                    as_of=today,
                    attention_after=None,
                    trend_direction=0,
                    monthly_value_cents=rng.choice([0, 2500, rng.randint(0, 50_000)]),
                ),
            ),
            last_personal_touch=_maybe(
                rng,
                touched,
                today - dt.timedelta(days=rng.randint(0, latest)),
            ),
        )
        for i in range(rng.choice([2000, 500, 50]))
    ]
    return facts, [s for s in TEAM if rng.random() < 0.85], today, rng


PLAIN_SEEDS = range(16)


@pytest.mark.parametrize("seed", PLAIN_SEEDS)
def test_a_practice_of_plain_clients_is_planned_the_same_hugs_and_all(seed: int) -> None:
    """Who reaches a list, a queue or a hug, and how many wait beyond, come from the columns
    alone, and equal the plan made from every client's signals."""
    facts, team, today, rng = _plain_practice(seed)
    full, short, asked, plain = _both_ways(facts, team, today, rng, earlier=False)
    recent = sum(planner.recently_contacted(Candidate(f), POLICY, today) for f in facts)
    assert plain == len(facts) - recent  # only the recently contacted went through the rules
    assert short == full
    if any(s.active for s in team) and plain > 200:
        assert asked < plain / 2


@pytest.mark.parametrize("seed", PLAIN_SEEDS[:6])
def test_each_plain_clients_priority_is_the_planners_own_to_the_bit(seed: int) -> None:
    """Ranked from the columns, every plain client weighs exactly what `_score` gives them,
    hugs included: a shift that keeps the order among plain clients (a hug weighed a month
    more silent) still changes how they rank against the clients through the rules."""
    facts, team, today, _ = _plain_practice(seed)
    hugs = _same_priorities(facts, team, today)
    assert hugs[True] and hugs[False]  # both kinds are weighed


@pytest.mark.parametrize("today", DAYS)
def test_each_plain_clients_priority_and_pressing_are_the_planners_own_with_every_reason(
    today: dt.date,
) -> None:
    """The same with lapses (new and older than the last contact), anniversaries, feedback
    requests and cadences, alone and together: the strongest reason and a tenth of each
    other's, to the bit."""
    facts = _facts(random.Random(today.toordinal() + 3), 3000, today)
    team = [s for s in TEAM if s.active]
    counts = _same_priorities(facts, team, today)
    assert counts[SignalCode.LAPSING] and counts["pressing"] and counts["together"]
    assert counts[SignalCode.ANNIVERSARY] and counts[SignalCode.FEEDBACK]
    assert counts[SignalCode.CADENCE_OVERDUE] and counts[True]


def _same_priorities(facts: list[ClientFacts], team: list[Staff], today: dt.date) -> Counter:
    """Check every plain client's priority, hug and pressing marks against `_score`'s;
    (how many were hugs (True) or not (False), had each reason, a pressing one, several)."""
    everyone = [Candidate(f, rules.signals_for(f, POLICY, today)) for f in facts]
    columns = _columns(facts)
    at = np.flatnonzero(~through_rules(columns, set(), POLICY, today))
    plain = plain_clients(columns, at, POLICY, today)
    typical = planner.typical_yearly_value_cents([], plain.yearly_value_cents.tolist())
    real = plain.real()
    priority = planner._plain_priorities(plain, real, typical)
    names = {s.name for s in team}
    counts: Counter = Counter()
    for position, index in enumerate(at.tolist()):
        item = planner._score(everyone[index], names, POLICY, today, None, frozenset(), typical)
        assert item is not None
        assert item.hug == (not real[position])
        assert item.pressing == plain.pressing[position]
        assert item.priority == priority[position], everyone[index].client_id
        counts[item.hug] += 1
        codes = {s.code for s in item.signals} - {SignalCode.HOLIDAY}
        assert codes <= RANKED_CODES
        counts.update(codes)
        counts["pressing"] += item.pressing
        counts["together"] += len(codes) > 1
    return counts


def test_the_plain_practices_reach_hugs_and_overflow() -> None:
    """The plain practices above are not all alike: some days hugs fill the quota from
    them, some days more are due than every queue holds."""
    hugs = overflow = 0
    for seed in PLAIN_SEEDS:
        facts, team, today, _ = _plain_practice(seed)
        everyone = [Candidate(f, rules.signals_for(f, POLICY, today)) for f in facts]
        plan = planner.plan_day(everyone, team, POLICY, today, week_done={})
        hugs += sum(a.hug for a in plan.actions)
        overflow += bool(plan.overflow)
    assert hugs and overflow


def _both_ways(
    facts: list[ClientFacts],
    team: list[Staff],
    today: dt.date,
    rng: random.Random,
    earlier: bool = True,
) -> tuple[Plan, Plan, int, int]:
    """(the plan from every client's signals, the plan from the shortlist, how many plain
    clients were built, how many there were)."""
    everyone = [Candidate(f, rules.signals_for(f, POLICY, today)) for f in facts]
    count = len(facts)
    picked = rng.sample(range(count), k=min(count, 30)) if earlier else []
    kwargs: dict[str, Any] = {
        "week_done": {"Ann": rng.randint(0, 12), "Bo": rng.randint(0, 2)},
        "open_actions": [_earlier(facts[i], rng, today) for i in picked[:10]],
        "snoozed": [_earlier(facts[i], rng, today, rng.randint(-3, 5)) for i in picked[10:20]],
        "dismissed": [_earlier(facts[i], rng, today) for i in picked[20:]],
    }
    full = planner.plan_day(everyone, team, POLICY, today, **kwargs)
    columns = _columns(facts)
    business = {int(columns.internal_id[i]) for i in picked}
    through = through_rules(columns, business, POLICY, today)
    at = np.flatnonzero(~through)
    asked: list[int] = []

    def evaluate(positions: list[int]) -> list[Candidate]:
        asked.extend(positions)
        return [everyone[at[p]] for p in positions]

    ruled = [c for c, inside in zip(everyone, through, strict=True) if inside]
    plain = plain_clients(columns, at, POLICY, today)
    short = planner.plan_day(ruled, team, POLICY, today, plain=plain, evaluate=evaluate, **kwargs)
    return full, short, len(asked), at.size


def _earlier(
    facts: ClientFacts, rng: random.Random, today: dt.date, until: int | None = None
) -> EarlierAction:
    staff_name = rng.choice(["Ann", "Bo", "Cy", None])
    keys = frozenset({rng.choice(["cadence_overdue:never", "birthday:2026", "hug:never"])})
    wake = None if until is None else today + dt.timedelta(days=until)
    return EarlierAction(facts.client.id, staff_name, keys, wake, first_day=today)


# --- a practice in a real database, planned both ways day after day ----------------------------

START = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)


def _practice_files(folder: Path, count: int) -> tuple[Path, Path]:
    rng = random.Random(77)
    head = "id,name,email,phone,address,birthday,since,owner,tags,status,cancelled_on,next_due"
    lines, acts = [head], ["id,client_id,date,amount,kind"]
    for i in range(count):
        born = _maybe(rng, 0.5, _day(rng, dt.date(1970, 6, 1), 9000))
        values = [
            f"P{i:05d}",
            f"Person {i}",
            f"p{i}@example.com" if rng.random() < 0.7 else "",
            "555-0100" if rng.random() < 0.8 else "",
            "1 Main St" if rng.random() < 0.6 else "",
            born.isoformat() if born else "",
            _day(rng, START - dt.timedelta(days=900), 800).isoformat()
            if rng.random() < 0.3
            else "",
            rng.choice(["Ann", "Ann", "Bo", ""]),
            rng.choice(["", "", "", "vip", "family"]),
            rng.choices(["active", "prospect", "cancelled"], weights=(90, 6, 4))[0],
            "",
            _day(rng, START, 150).isoformat() if rng.random() < 0.2 else "",
        ]
        lines.append(",".join(values))
        day = _day(rng, START - dt.timedelta(days=700), 300)
        gap = rng.choice([20, 60, 150])  # the client's own rhythm, gaps drawn around it
        while day < START and rng.random() < 0.9:
            amount = f"{rng.randint(20, 300)}.00"
            acts.append(f"A{len(acts)},P{i:05d},{day},{amount},{rng.choice(KINDS)}")
            day += dt.timedelta(days=max(1, round(rng.expovariate(1 / gap))))
    (folder / "clients.csv").write_text("\n".join(lines) + "\n")
    (folder / "activities.csv").write_text("\n".join(acts) + "\n")
    return folder / "clients.csv", folder / "activities.csv"


def _work_the_list(engine: sa.Engine, day: dt.date, now: dt.datetime) -> None:
    """Do the day's first action (by client id), snooze the second for two days and dismiss
    the third: the next days' plans then hold a recent contact, a snoozed client coming back
    and a dismissed reason."""
    query = (
        sa.select(actions.c.id)
        .join(clients, clients.c.id == actions.c.client_id)
        .where(actions.c.status == "open")
        .order_by(clients.c.external_id)
    )
    with engine.connect() as conn:
        first, second, third, *_ = conn.execute(query).scalars().all()
    later = now + dt.timedelta(hours=3)
    complete_action(engine, first, channel="call", outcome=None, note=None, day=day, now=later)
    snooze_action(engine, second, until=day + dt.timedelta(days=2), today=day, now=later)
    dismiss_action(engine, third, reason="not now", now=later)


def _plan_rows(engine: sa.Engine) -> list[tuple[Any, ...]]:
    skip = {"id", "created_at", "client_id", "staff_id", "status"}
    cols = [c for c in actions.c if c.name not in skip]
    query = (
        sa.select(actions.c.status, clients.c.external_id, staff.c.name, *cols)
        .join(clients, clients.c.id == actions.c.client_id)
        .outerjoin(staff, staff.c.id == actions.c.staff_id)
        .order_by(clients.c.external_id, actions.c.day)
    )
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query).all()]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_crowded_practice_is_planned_the_same_with_the_rules_run_for_everyone(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """1,500 clients and three places a day: most wait beyond the queues. Every day's lists,
    queues and what was dropped or retired are the same whether the rules ran for every
    client (`--rebuild`) or only for the shortlist, and the shortlist left most out."""
    files = _practice_files(tmp_path, 1500)
    plans, results = {}, {}
    for mode in ("shortlist", "everyone"):
        folder = tmp_path / mode
        folder.mkdir()
        with database_in(backend, request, folder, "kwcand_") as url:
            engine = connect(url, create=True)
            migrate(engine)
            settings = Settings(database_url=url)
            add_staff(engine, "Ann", email=None, weekly_quota=10, daily_capacity=2, now=NOW)
            add_staff(engine, "Bo", email=None, weekly_quota=2, daily_capacity=1, now=NOW)
            save_policy(engine, POLICY.to_dict(), now=NOW)
            for kind, path in zip((ImportKind.CLIENTS, ImportKind.ACTIVITIES), files, strict=True):
                report = import_file(engine, settings, kind, path, today=START, now=NOW)
                assert report.ok, report.problems[:3]
            results[mode] = []
            for d in range(4):
                day, now = START + dt.timedelta(days=d), NOW + dt.timedelta(days=d)
                everyone = mode == "everyone"
                results[mode].append(
                    run_daily(engine, settings, day=day, now=now, rebuild=everyone)
                )
                _work_the_list(engine, day, now)
            plans[mode] = _plan_rows(engine)
            if mode == "shortlist":
                day = START + dt.timedelta(days=4)
                ids, packed = activity_snapshot.current(engine, NOW)
                learned = compute_rhythms(engine, as_of=day, now=NOW, activities=(ids, packed))
                found = todays_candidates(engine, POLICY, day, learned.rhythms, packed)
                assert found.plain is not None and len(found.plain) > 400
                _same_columns(engine, day, learned.rhythms, packed)
            engine.dispose()
    assert plans["shortlist"] == plans["everyone"]
    assert results["shortlist"] == results["everyone"]
    waiting = [r for r in plans["shortlist"] if r[0] == "waiting"]
    assert waiting and results["shortlist"][-1].waiting > 2 * len(waiting)  # and beyond


def _same_columns(engine: sa.Engine, day: dt.date, rhythms: Any, packed: Any) -> None:
    """The columns the daily job reads are the columns of every client's facts."""
    read, _ = client_columns(engine, day, rhythms, packed)
    facts = client_facts(engine, day, rhythms)
    built = ClientColumns.of(facts, read.internal_id.tolist())
    for f in fields(ClientColumns):
        a, b = getattr(read, f.name), getattr(built, f.name)
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f.name
        elif isinstance(a, dict):
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), f.name
        else:
            assert tuple(a) == tuple(b), f.name


def test_the_client_table_turns_every_date_into_its_day_number(engine: sa.Engine) -> None:
    """The database works out the day numbers (`date.toordinal()`, NO_DAY for none) on both
    backends, to the day, from the first day of year 1 to the last of 9999, leap days
    included; the rows come in internal id order with their owner's name."""
    days = [
        dt.date(1, 1, 1),
        dt.date(1900, 2, 28),
        dt.date(2000, 2, 29),
        dt.date(2024, 2, 29),
        dt.date(2026, 12, 31),
        dt.date(9999, 12, 31),
    ]
    rng = random.Random(7)
    days += [dt.date(1, 1, 1) + dt.timedelta(days=rng.randrange(3_652_058)) for _ in range(40)]
    with writing(engine) as conn:
        owner = conn.execute(
            sa.insert(staff).values(name="Ann", created_at=NOW).returning(staff.c.id)
        ).scalar_one()
        for i, day in enumerate(days):
            conn.execute(
                sa.insert(clients).values(
                    external_id=f"C{i}",
                    name=f"Client {i}",
                    owner_id=owner if i % 2 else None,
                    since=day,
                    cancelled_on=None if i % 3 else day,
                    next_due=days[-1 - i],
                    birthday=None if i % 4 else days[(i + 1) % len(days)],
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    with reading(engine) as conn:
        table = client_table(conn)
    assert table.ids.tolist() == sorted(table.ids.tolist())
    assert table.external_id == tuple(f"C{i}" for i in range(len(days)))
    assert table.owner == tuple("Ann" if i % 2 else None for i in range(len(days)))
    assert table.since.tolist() == [d.toordinal() for d in days]
    assert table.cancelled_on.tolist() == [
        NO_DAY if i % 3 else d.toordinal() for i, d in enumerate(days)
    ]
    assert table.next_due.tolist() == [d.toordinal() for d in reversed(days)]
    assert table.birthday.tolist() == [
        NO_DAY if i % 4 else days[(i + 1) % len(days)].toordinal() for i in range(len(days))
    ]
