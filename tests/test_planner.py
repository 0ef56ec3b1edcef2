"""The planner as a pure function: hand-built candidates, a fixed `today`, no database."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

import builders
from keepwarm import planner, rules
from keepwarm.domain import (
    Candidate,
    Client,
    ClientFacts,
    ClientStatus,
    EarlierAction,
    Plan,
    Policy,
    Signal,
    SignalCode,
    Staff,
)
from keepwarm.domain.model import Rhythm

TUESDAY = dt.date(2026, 11, 24)  # 4 working days left: a quota of 2 gives a share of 1 today
FRIDAY = dt.date(2026, 11, 27)  # the last working day: the whole remaining quota is due
POLICY = Policy(country="", recall_days={}, follow_ups={}, default_cadence_days=10_000)
TEAM = (Staff(1, "Ann", None, 2), Staff(2, "Bo", None, 2))


def rhythm(monthly_cents: int = 0, clv_cents: int = 0) -> Rhythm:
    return builders.rhythm(
        as_of=TUESDAY,
        activities=10,
        last_activity=dt.date(2026, 8, 1),
        days_since_last=115,
        silence_ratio=7.0,
        p_alive=0.1,
        expected_spend_cents=5000,
        monthly_value_cents=monthly_cents,
        at_risk_cents=monthly_cents,
        clv_cents=clv_cents,
    )


def client(cid: str, owner: str | None = "Ann", **changes: object) -> Client:
    base = Client(
        id=cid,
        name=f"Client {cid}",
        email=f"{cid}@example.com",
        phone="555-0100",
        address="1 Main St",
        owner=owner,
    )
    return replace(base, **changes)


def sig(code: SignalCode, urgency: float = 0.6, key: str | None = None) -> Signal:
    return Signal(code, f"{code.value} reason", urgency, key or f"{code.value}:2026-11-01")


def cand(
    who: Client,
    *signals: Signal,
    touched: dt.date | None = dt.date(2026, 10, 1),
    value: Rhythm | None = None,
) -> Candidate:
    facts = ClientFacts(client=who, rhythm=value, last_personal_touch=touched)
    return Candidate(facts, signals)


def plan(candidates: list[Candidate], today: dt.date = FRIDAY, **kwargs: object) -> Plan:
    kwargs.setdefault("week_done", {})
    return planner.plan_day(candidates, TEAM, POLICY, today, **kwargs)  # type: ignore[arg-type]


def ids(actions: object) -> list[str]:
    return [a.client_id for a in actions]  # type: ignore[attr-defined]


# --- cancellations, quotas, daily capacity ----------------------------------------------------


def test_a_cancellation_tops_the_list_and_real_reasons_still_come_when_the_quota_is_met() -> None:
    cancelled = client("c9", status=ClientStatus.CANCELLED, cancelled_on=dt.date(2026, 10, 15))
    facts = ClientFacts(client=cancelled, rhythm=rhythm(5000))
    signals = rules.signals_for(facts, POLICY, TUESDAY)
    lapsing = cand(client("c1"), sig(SignalCode.LAPSING, 0.9), value=rhythm(90_000))
    result = plan([lapsing, Candidate(facts, signals)], TUESDAY, week_done={"Ann": 2})
    ann = result.for_staff("Ann")
    assert ids(ann) == ["c9", "c1"]
    assert ann[0].rank == 1 and ann[0].forced and ann[0].channel == "call"


def test_a_cancellation_comes_before_a_more_valuable_signal_on_the_same_list() -> None:
    cancel = cand(client("c2"), sig(SignalCode.CANCELLATION, 1.0), value=None)
    rich = cand(client("c1"), sig(SignalCode.LAPSING, 0.9), value=rhythm(900_000))
    assert ids(plan([rich, cancel]).for_staff("Ann")) == ["c2", "c1"]


def test_real_reasons_fill_the_daily_capacity_whether_or_not_the_quota_is_met() -> None:
    many = [cand(client(f"c{i}"), sig(SignalCode.LAPSING)) for i in range(8)]
    for done in (0, 2, 10):
        result = plan(many, TUESDAY, week_done={"Ann": done})
        assert len(result.for_staff("Ann")) == POLICY.daily_capacity
        assert len(result.waiting_for("Ann")) == 8 - POLICY.daily_capacity


def test_a_members_own_capacity_overrides_the_policys() -> None:
    many = [cand(client(f"c{i}"), sig(SignalCode.LAPSING)) for i in range(8)]
    team = (Staff(1, "Ann", None, 20, daily_capacity=3),)
    result = planner.plan_day(many, team, POLICY, FRIDAY, week_done={})
    assert [a.rank for a in result.for_staff("Ann")] == [1, 2, 3]
    assert [a.rank for a in result.waiting_for("Ann")] == [1, 2, 3, 4, 5]
    policy_three = planner.plan_day(
        many, (Staff(1, "Ann", None),), replace(POLICY, daily_capacity=3), FRIDAY, week_done={}
    )
    assert len(policy_three.for_staff("Ann")) == 3


def test_a_cancellation_is_on_the_list_even_beyond_the_capacity() -> None:
    many = [cand(client(f"c{i}"), sig(SignalCode.LAPSING, 0.9)) for i in range(6)]
    cancel = cand(client("zz"), sig(SignalCode.CANCELLATION, 1.0))
    team = (Staff(1, "Ann", None, 2, daily_capacity=2),)
    result = planner.plan_day([*many, cancel], team, POLICY, FRIDAY, week_done={})
    assert ids(result.for_staff("Ann")) == ["zz", "c0", "c1"]


def test_what_waits_comes_first_on_a_later_day_before_newer_higher_priorities() -> None:
    team = (Staff(1, "Ann", None, 2, daily_capacity=2),)
    old = [cand(client(f"o{i}"), sig(SignalCode.CADENCE_OVERDUE, 0.3)) for i in range(2)]
    new = [
        cand(client(f"n{i}"), sig(SignalCode.LAPSING, 0.9), value=rhythm(90_000)) for i in range(3)
    ]
    waited = [
        EarlierAction(f"o{i}", staff="Ann", first_day=dt.date(2026, 11, 20)) for i in range(2)
    ]
    result = planner.plan_day([*new, *old], team, POLICY, FRIDAY, week_done={}, open_actions=waited)
    assert ids(result.for_staff("Ann")) == ["o0", "o1"]
    assert ids(result.waiting_for("Ann")) == ["n0", "n1", "n2"]
    assert "waiting since Fri 20 Nov" in result.for_staff("Ann")[0].why
    assert "went to higher priorities" in result.waiting_for("Ann")[0].why


def test_hugs_fill_only_what_the_weeks_quota_still_needs_today() -> None:
    quiet = [
        cand(client(f"h{i}"), touched=dt.date(2025, 1, 1 + i), value=rhythm(1000)) for i in range(6)
    ]
    assert len(plan(quiet, TUESDAY).for_staff("Ann")) == 1  # ceil(2 / 4 working days left)
    assert len(plan(quiet, FRIDAY).for_staff("Ann")) == 2
    assert len(plan(quiet, FRIDAY, week_done={"Ann": 1}).for_staff("Ann")) == 1
    assert plan(quiet, FRIDAY, week_done={"Ann": 2}).for_staff("Ann") == ()
    one_reason = [*quiet, cand(client("r"), sig(SignalCode.FEEDBACK, 0.3))]
    assert ids(plan(one_reason, TUESDAY).for_staff("Ann")) == ["r"]  # the share is met: no hug
    assert plan(quiet, TUESDAY).waiting == ()  # hugs never wait


def test_the_day_share_spreads_the_rest_of_the_quota_over_the_working_days_left() -> None:
    monday = dt.date(2026, 11, 23)
    assert planner.day_share(10, 0, monday) == 2
    assert planner.day_share(10, 9, FRIDAY) == 1
    assert planner.day_share(2, 3, FRIDAY) == 0
    assert planner.day_share(4, 0, dt.date(2026, 11, 28)) == 4  # Saturday: all that is left


# --- one reason per fact, no noise -------------------------------------------------------------


def test_a_holiday_alone_never_puts_a_client_on_the_list_but_rides_along_as_a_note() -> None:
    noted = cand(
        client("a"), sig(SignalCode.LAPSING, 0.7), sig(SignalCode.HOLIDAY, 0.5, "holiday:x")
    )
    alone = cand(client("b"), sig(SignalCode.HOLIDAY, 0.5, "holiday:x"), touched=TUESDAY)
    result = plan([noted, alone], FRIDAY, week_done={"Ann": 2})
    (action,) = result.actions
    assert action.client_id == "a"
    assert [s.code for s in action.signals] == [SignalCode.LAPSING, SignalCode.HOLIDAY]
    assert action.urgency < 0.7 + 0.1 * 0.5  # the note adds no urgency


def test_a_client_contacted_a_few_days_ago_comes_back_only_for_a_pressing_reason() -> None:
    two_days_ago = FRIDAY - dt.timedelta(days=2)
    waits = cand(client("w"), sig(SignalCode.FEEDBACK, 0.3), touched=two_days_ago)
    pressing = replace(sig(SignalCode.DUE, 0.8), pressing=True)
    comes = cand(client("p"), pressing, touched=two_days_ago)
    result = plan([waits, comes], FRIDAY, week_done={"Ann": 0})
    assert ids(result.for_staff("Ann")) == ["p"]  # and "w" is not hugged instead
    a_week_ago = FRIDAY - dt.timedelta(days=POLICY.recent_contact_days)
    later = cand(client("w"), sig(SignalCode.FEEDBACK, 0.3), touched=a_week_ago)
    assert ids(plan([later]).for_staff("Ann")) == ["w"]


# --- assignment ------------------------------------------------------------------------------


def test_unowned_clients_are_spread_fairly_by_load() -> None:
    pool = [cand(client(f"u{i}", owner=None), sig(SignalCode.LAPSING)) for i in range(4)]
    even = plan(pool)
    assert len(even.for_staff("Ann")) == 2 and len(even.for_staff("Bo")) == 2
    uneven = plan(pool[:3], week_done={"Ann": 1})
    assert len(uneven.for_staff("Ann")) == 1 and len(uneven.for_staff("Bo")) == 2


def test_a_client_owned_by_someone_no_longer_active_is_treated_as_unowned() -> None:
    team = (Staff(1, "Ann", None, 2), Staff(2, "Cy", None, 2, active=False))
    one = cand(client("c1", owner="Cy"), sig(SignalCode.LAPSING))
    result = planner.plan_day([one], team, POLICY, FRIDAY, week_done={})
    assert [a.staff for a in result.actions] == ["Ann"]


def test_an_unowned_cancellation_with_no_staff_is_reported_unassigned() -> None:
    one = cand(client("c1", owner=None), sig(SignalCode.CANCELLATION, 1.0))
    result = planner.plan_day([one], (), POLICY, FRIDAY, week_done={})
    assert result.actions == () and result.unassigned == ("c1",)


# --- hugs -------------------------------------------------------------------------------------


def test_when_signals_run_dry_the_quota_is_filled_with_clients_who_deserve_a_hug() -> None:
    quiet = [
        cand(client("recent"), touched=dt.date(2026, 11, 1), value=rhythm(10_000)),
        cand(client("long"), touched=dt.date(2025, 11, 1), value=rhythm(10_000)),
        cand(client("long-cheap"), touched=dt.date(2025, 11, 1), value=rhythm(100)),
    ]
    ann = plan(quiet).for_staff("Ann")
    assert ids(ann) == ["long", "long-cheap"]
    assert all(a.hug and a.reason_keys[0].startswith("hug:") for a in ann)
    assert ann[0].channel == "card" and "weekly habit" in ann[0].why


def test_signals_go_before_hugs_whatever_the_value() -> None:
    hug = cand(client("h"), touched=dt.date(2020, 1, 1), value=rhythm(900_000))
    small = cand(client("s"), sig(SignalCode.FEEDBACK, 0.2))
    assert ids(plan([hug, small], TUESDAY).for_staff("Ann")) == ["s"]


# --- who never appears, and who does ------------------------------------------------------------


def test_a_do_not_contact_client_never_appears_even_with_a_cancellation() -> None:
    dnc = cand(client("c1", do_not_contact=True), sig(SignalCode.CANCELLATION, 1.0))
    quiet = cand(client("c2", do_not_contact=True, owner=None), touched=None)
    result = plan([dnc, quiet])
    assert "c1" not in result.client_ids and "c2" not in result.client_ids


def test_a_prospect_gets_a_cadence_touch() -> None:
    prospect = client("p1", status=ClientStatus.PROSPECT)
    result = plan([cand(prospect, sig(SignalCode.CADENCE_OVERDUE, 0.4), value=None)])
    assert ids(result.for_staff("Ann")) == ["p1"]


def test_a_client_gets_one_action_merging_all_its_signals() -> None:
    one = cand(client("c1"), sig(SignalCode.LAPSING, 0.7), sig(SignalCode.BIRTHDAY, 0.5))
    again = cand(client("c1"), sig(SignalCode.FEEDBACK, 0.3))
    (action,) = plan([one, again]).actions
    assert [s.code for s in action.signals] == [
        SignalCode.LAPSING,
        SignalCode.BIRTHDAY,
        SignalCode.FEEDBACK,
    ]
    assert "2 more reasons (birthday, feedback)" in action.why


# --- state from earlier days --------------------------------------------------------------------


def test_an_open_action_carries_over_to_its_staff_ahead_of_new_signals() -> None:
    old = cand(client("old", owner=None), sig(SignalCode.FEEDBACK, 0.3))
    new = cand(client("new"), sig(SignalCode.LAPSING, 0.9), value=rhythm(50_000))
    carried = EarlierAction("old", staff="Ann", reason_keys=frozenset({"feedback:2026-11-01"}))
    ann = plan([old, new], TUESDAY, open_actions=[carried]).for_staff("Ann")
    assert ids(ann) == ["old", "new"] and ann[0].carried_over
    assert "carried over" in ann[0].why


def test_an_open_hug_is_not_kept_once_the_quota_no_longer_needs_it() -> None:
    old = cand(client("old", owner=None), touched=dt.date(2026, 11, 20))
    new = cand(client("new"), sig(SignalCode.LAPSING, 0.9), value=rhythm(50_000))
    carried = EarlierAction("old", staff="Ann", reason_keys=frozenset({"hug:2026-11-20"}))
    assert ids(plan([old, new], TUESDAY, open_actions=[carried]).for_staff("Ann")) == ["new"]


def test_a_snoozed_action_stays_away_until_its_date_and_then_comes_back() -> None:
    one = cand(client("c1"), sig(SignalCode.LAPSING))
    nap = EarlierAction("c1", staff="Ann", until=dt.date(2026, 11, 27))
    assert plan([one], dt.date(2026, 11, 26), snoozed=[nap]).actions == ()
    back = plan([one], FRIDAY, snoozed=[nap]).for_staff("Ann")
    assert ids(back) == ["c1"] and back[0].carried_over


def test_a_dismissed_action_does_not_return_for_the_same_reason_but_does_for_a_new_one() -> None:
    same = cand(client("c1"), sig(SignalCode.LAPSING, key="lapsing:2026-08-20"))
    gone = EarlierAction("c1", reason_keys=frozenset({"lapsing:2026-08-20"}))
    assert plan([same], dismissed=[gone]).actions == ()  # not even as a hug
    changed = cand(client("c1"), sig(SignalCode.LAPSING, key="lapsing:2026-11-02"))
    assert plan([changed], dismissed=[gone]).client_ids == ("c1",)


def test_a_dismissed_reason_drops_only_that_signal() -> None:
    both = cand(
        client("c1"),
        sig(SignalCode.LAPSING, 0.8, key="lapsing:a"),
        sig(SignalCode.BIRTHDAY, 0.5, key="birthday:2026"),
    )
    gone = EarlierAction("c1", reason_keys=frozenset({"lapsing:a"}))
    (action,) = plan([both], dismissed=[gone]).actions
    assert action.reason_keys == ("birthday:2026",)


# --- priority and its explanation --------------------------------------------------------------


def test_the_explanation_says_why_the_client_is_first_with_numbers() -> None:
    cancelled = client(
        "c1",
        status=ClientStatus.CANCELLED,
        cancelled_on=dt.date(2026, 10, 15),
        name="Dee Park",
    )
    facts = ClientFacts(client=cancelled, rhythm=rhythm(10_333))
    signals = rules.signals_for(facts, POLICY, TUESDAY)
    (action,) = plan([Candidate(facts, signals)], TUESDAY).actions
    assert action.why.startswith("#1 on Ann's list: cancelled on Thu 15 Oct (40 days ago)")
    assert "worth about $1,240 a year" in action.why
    assert f"priority {action.priority:.2f} = value {action.value:.2f} x urgency" in action.why
    assert action.priority > 0


def test_priority_grows_with_value_and_with_silence() -> None:
    lapsing = sig(SignalCode.LAPSING, 0.7)
    rich = cand(client("rich"), lapsing, value=rhythm(100_000))
    poor = cand(client("poor"), lapsing, value=rhythm(1_000))
    silent = cand(client("silent"), lapsing, touched=dt.date(2025, 1, 1), value=rhythm(1_000))
    order = ids(
        planner.plan_day(
            [poor, silent, rich], (Staff(1, "Ann", None, 5),), POLICY, FRIDAY, week_done={}
        ).actions
    )
    assert order == ["rich", "silent", "poor"]


def test_a_client_without_a_rhythm_has_the_neutral_value() -> None:
    assert planner.value_weight(None) == 1.0
    assert planner.value_weight(0) == 1.0
    assert round(planner.value_weight(10_000), 3) == 3.004


# --- channels ----------------------------------------------------------------------------------


def test_the_channel_follows_the_signal_and_falls_back_to_what_the_client_allows() -> None:
    def channel(code: SignalCode, **missing: object) -> str:
        return planner.suggest_channel(client("c1", **missing), (sig(code),))

    assert channel(SignalCode.CANCELLATION) == "call"
    assert channel(SignalCode.BIRTHDAY) == "card"
    assert channel(SignalCode.FEEDBACK) == "email"
    assert channel(SignalCode.CANCELLATION, phone=None) == "email"
    assert channel(SignalCode.CANCELLATION, phone=None, email=None) == "card"
    assert channel(SignalCode.FEEDBACK, email=None) == "call"
    assert channel(SignalCode.BIRTHDAY, address=None) == "email"
    assert channel(SignalCode.LAPSING, phone=None, email=None, address=None) == "visit"


def test_a_signal_that_names_its_channel_is_followed() -> None:
    card = Signal(SignalCode.HOLIDAY, "Christmas", 0.5, "holiday:2026-12-25", channel="card")
    assert planner.suggest_channel(client("c1"), (card,)) == "card"


# --- determinism -------------------------------------------------------------------------------


def test_the_same_inputs_give_the_same_plan_whatever_their_order() -> None:
    pool = [
        cand(client(f"c{i}", owner=[None, "Ann", "Bo"][i % 3]), sig(SignalCode.LAPSING, 0.6))
        for i in range(12)
    ] + [cand(client(f"h{i}", owner=None), touched=dt.date(2026, 1, i + 1)) for i in range(5)]
    first = plan(pool)
    shuffled = pool[:]
    random.Random(7).shuffle(shuffled)
    assert plan(shuffled) == first


def test_ties_are_broken_by_client_id() -> None:
    same = [cand(client(cid), sig(SignalCode.LAPSING, 0.6)) for cid in ("b", "a", "c")]
    team = (Staff(1, "Ann", None, 2, daily_capacity=2),)
    result = planner.plan_day(same, team, POLICY, FRIDAY, week_done={})
    assert ids(result.for_staff("Ann")) == ["a", "b"] and ids(result.waiting) == ["c"]


def test_a_client_whose_value_is_unknown_is_weighed_as_a_typical_client() -> None:
    regulars = [
        cand(client(f"r{i}"), sig(SignalCode.FEEDBACK, 0.3), value=rhythm(cents))
        for i, cents in enumerate((1_000, 20_000, 40_000))
    ]
    newcomer = cand(client("new"), sig(SignalCode.WELCOME, 0.6), value=None)
    team = (Staff(1, "Ann", None, 2, daily_capacity=2),)
    result = planner.plan_day([*regulars, newcomer], team, POLICY, FRIDAY, week_done={})
    (first, _) = result.for_staff("Ann")
    assert first.client_id == "new"  # 0.6 x typical ($2,400) beats 0.3 x the richest ($4,800)
    assert first.value == round(planner.value_weight(20_000 * 12), 4)
    assert "weighed as a typical client, worth about $2,400 a year" in first.why


def test_a_pressing_reason_is_not_held_back_by_a_backlog_that_can_wait() -> None:
    team = (Staff(1, "Ann", None, 2, daily_capacity=2),)
    backlog = [cand(client(f"o{i}"), sig(SignalCode.CADENCE_OVERDUE, 0.5)) for i in range(3)]
    waited = [EarlierAction(f"o{i}", "Ann", first_day=dt.date(2026, 11, 2)) for i in range(3)]
    lapse = cand(client("lapse"), replace(sig(SignalCode.LAPSING, 0.6), pressing=True))
    result = planner.plan_day(
        [*backlog, lapse], team, POLICY, FRIDAY, week_done={}, open_actions=waited
    )
    assert ids(result.for_staff("Ann")) == ["lapse", "o0"]
    assert ids(result.waiting_for("Ann")) == ["o1", "o2"]


def test_a_queue_holds_a_few_weeks_of_capacity_and_counts_the_rest() -> None:
    team = (Staff(1, "Ann", None, 2, daily_capacity=1),)
    many = [cand(client(f"c{i:02d}"), sig(SignalCode.CADENCE_OVERDUE, 0.4)) for i in range(30)]
    result = planner.plan_day(many, team, POLICY, FRIDAY, week_done={})
    kept = planner.QUEUE_DAYS * 1
    assert len(result.for_staff("Ann")) == 1
    assert len(result.waiting_for("Ann")) == kept
    assert result.overflow == {"Ann": 30 - 1 - kept}
    assert result.waiting_count("Ann") == result.waiting_count() == 29
    assert result.beyond == {f"c{i:02d}" for i in range(1 + kept, 30)}  # the lowest in line
