"""Signals as pure rules: hand-built facts, a fixed `today`, no database."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest

import builders
from keepwarm import rules
from keepwarm.domain import (
    Activity,
    Client,
    ClientFacts,
    ClientStatus,
    FollowUpRule,
    InvalidInput,
    Occasion,
    Policy,
    Signal,
    SignalCode,
    Touch,
)
from keepwarm.domain.model import Rhythm

TODAY = dt.date(2026, 11, 24)  # a Tuesday
QUIET = Policy(country="", recall_days={}, follow_ups={}, default_cadence_days=10_000)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def rhythm(**changes: object) -> Rhythm:
    return builders.rhythm(**{"as_of": TODAY, **changes})


def facts(client: Client | None = None, **changes: object) -> ClientFacts:
    # Touched yesterday by default so cadence and welcome stay quiet unless a test says otherwise.
    base = ClientFacts(client=client or Client(id="c1", name="Ann Lee"))
    return replace(base, **{"last_personal_touch": TODAY - dt.timedelta(days=1), **changes})


def codes(signals: tuple[Signal, ...]) -> list[str]:
    return [s.code.value for s in signals]


def only(code: SignalCode, signals: tuple[Signal, ...]) -> list[Signal]:
    return [s for s in signals if s.code == code]


# --- lapsing, usage --------------------------------------------------------------------------


def test_a_twice_monthly_client_silent_four_months_is_lapsing_with_money_at_risk() -> None:
    signals = rules.signals_for(facts(rhythm=rhythm()), QUIET, TODAY)
    [signal] = only(SignalCode.LAPSING, signals)
    assert "usually every 2 weeks" in signal.explanation
    assert "last visit 123 days ago" in signal.explanation
    assert "$150 a month at risk" in signal.explanation
    assert signal.reason_key == "lapsing:2026-08-20"
    assert signal.urgency >= 0.6


def test_a_yearly_client_silent_four_months_is_not_lapsing() -> None:
    yearly = rhythm(usual_gap_days=365.0, p_alive=0.9, attention_after=d("2027-09-01"))
    assert rules.signals_for(facts(rhythm=yearly), QUIET, TODAY) == ()


def test_a_lapsing_client_shows_money_at_risk_even_when_likely_alive() -> None:
    [signal] = rules.signals_for(facts(rhythm=rhythm(p_alive=0.7)), QUIET, TODAY)
    assert signal.explanation.endswith("about $150 a month at risk")


def test_a_cancelled_client_called_since_is_not_lapsing_nor_anything_else() -> None:
    left = Client(
        id="c1", name="Ann Lee", status=ClientStatus.CANCELLED, cancelled_on=d("2026-10-01")
    )
    gone = facts(left, rhythm=rhythm(trend_direction=-1, usage_change=-0.5))
    assert rules.signals_for(gone, QUIET, TODAY) == ()  # called yesterday: nothing is left


def test_a_lapse_is_pressing_only_when_newer_than_the_last_personal_contact() -> None:
    called_after = facts(rhythm=rhythm(), last_personal_touch=d("2026-09-01"))
    called_before = facts(rhythm=rhythm(), last_personal_touch=d("2026-08-01"))
    assert only(SignalCode.LAPSING, rules.signals_for(called_before, QUIET, TODAY))[0].pressing
    assert not only(SignalCode.LAPSING, rules.signals_for(called_after, QUIET, TODAY))[0].pressing


def test_rising_usage_is_usage_up_with_its_percentage() -> None:
    up = rhythm(attention_after=None, trend_direction=1, usage_change=0.33)
    [signal] = rules.signals_for(facts(rhythm=up), QUIET, TODAY)
    assert signal.code == SignalCode.USAGE_UP
    assert signal.explanation == "usage up 33% lately"
    assert signal.reason_key == "usage_up:2026-Q4"


def test_falling_usage_is_usage_down() -> None:
    down = rhythm(attention_after=None, trend_direction=-1, usage_change=-0.4)
    [signal] = rules.signals_for(facts(rhythm=down), QUIET, TODAY)
    assert signal.code == SignalCode.USAGE_DOWN
    assert signal.explanation == "usage down 40% lately"


# --- cancellation ----------------------------------------------------------------------------


def test_a_cancellation_without_a_touch_since_is_the_most_urgent_signal() -> None:
    client = Client(id="c1", name="Ann", cancelled_on=d("2026-10-01"), birthday=d("1980-11-26"))
    signals = rules.signals_for(
        facts(client, last_personal_touch=d("2026-09-15"), rhythm=rhythm()), Policy(), TODAY
    )
    top = signals[0]
    assert top.code == SignalCode.CANCELLATION
    assert top.urgency == 1.0
    assert top.reason_key == "cancellation:2026-10-01"
    assert "cancelled on Thu 1 Oct (54 days ago)" in top.explanation


def test_a_cancellation_followed_by_a_call_is_quiet() -> None:
    client = Client(
        id="c1", name="Ann", status=ClientStatus.CANCELLED, cancelled_on=d("2026-10-01")
    )
    assert not only(SignalCode.CANCELLATION, rules.signals_for(facts(client), QUIET, TODAY))


def test_a_cancelled_client_without_a_date_needs_a_touch_after_the_last_visit() -> None:
    client = Client(id="c1", name="Ann", status=ClientStatus.CANCELLED)
    before = facts(client, last_activity=d("2026-11-01"), last_personal_touch=d("2026-10-01"))
    [signal] = only(SignalCode.CANCELLATION, rules.signals_for(before, QUIET, TODAY))
    assert signal.reason_key == "cancellation:undated"
    after = replace(before, last_personal_touch=d("2026-11-02"))
    assert not only(SignalCode.CANCELLATION, rules.signals_for(after, QUIET, TODAY))


def test_notice_of_a_future_cancellation_is_signalled() -> None:
    client = Client(id="c1", name="Ann", cancelled_on=d("2026-12-31"))
    signals = rules.signals_for(facts(client, last_personal_touch=None), QUIET, TODAY)
    [signal] = only(SignalCode.CANCELLATION, signals)
    assert "cancels on Thu 31 Dec (in 37 days)" in signal.explanation


# --- due -------------------------------------------------------------------------------------


def test_a_recall_date_within_the_lead_time_is_due() -> None:
    client = Client(id="c1", name="Ann", next_due=d("2026-12-04"))
    [signal] = rules.signals_for(facts(client), QUIET, TODAY)
    assert signal.code == SignalCode.DUE
    assert signal.explanation == "recall due Fri 4 Dec (in 10 days)"
    assert signal.reason_key == "due:2026-12-04"


def test_an_overdue_recall_is_more_urgent_than_an_upcoming_one() -> None:
    soon = Client(id="c1", name="Ann", next_due=d("2026-12-04"))
    late = replace(soon, next_due=d("2026-11-10"))
    [upcoming] = rules.signals_for(facts(soon), QUIET, TODAY)
    [overdue] = rules.signals_for(facts(late), QUIET, TODAY)
    assert "(14 days ago)" in overdue.explanation
    assert overdue.urgency > upcoming.urgency


def test_a_recall_date_beyond_the_lead_time_is_not_due() -> None:
    client = Client(id="c1", name="Ann", next_due=d("2026-12-10"))
    assert rules.signals_for(facts(client), QUIET, TODAY) == ()


def test_a_recurring_check_up_from_the_policy_is_due() -> None:
    policy = replace(QUIET, recall_days={"check-up": 182})
    signals = rules.signals_for(facts(last_by_kind={"check-up": d("2026-05-30")}), policy, TODAY)
    [signal] = signals
    assert signal.code == SignalCode.DUE
    assert "check-up every 6 months (182 days)" in signal.explanation
    assert "next due Sat 28 Nov (in 4 days)" in signal.explanation
    assert signal.reason_key == "due:check-up:2026-11-28"


# --- occasions -------------------------------------------------------------------------------


def test_a_birthday_within_a_week_is_signalled_with_the_day_and_age() -> None:
    client = Client(id="c1", name="Ann", birthday=d("1981-11-30"))
    [signal] = rules.signals_for(facts(client), QUIET, TODAY)
    assert signal.code == SignalCode.BIRTHDAY
    assert signal.explanation == "birthday on Mon 30 Nov (in 6 days); turns 45"
    assert signal.reason_key == "birthday:2026"
    assert signal.channel == "card"


def test_a_birthday_further_away_than_the_lead_time_is_quiet() -> None:
    client = Client(id="c1", name="Ann", birthday=d("1981-12-05"))
    assert rules.signals_for(facts(client), QUIET, TODAY) == ()


def test_a_29_february_birthday_is_marked_on_28_february_in_a_common_year() -> None:
    client = Client(id="c1", name="Leap", birthday=d("2000-02-29"))
    [signal] = rules.signals_for(facts(client), QUIET, d("2027-02-24"))
    assert signal.explanation == "birthday on Sun 28 Feb (in 4 days); turns 27"
    assert signal.reason_key == "birthday:2027"


def test_a_29_february_birthday_is_on_29_february_in_a_leap_year() -> None:
    client = Client(id="c1", name="Leap", birthday=d("2000-02-29"))
    [signal] = rules.signals_for(facts(client), QUIET, d("2028-02-27"))
    assert "Tue 29 Feb (in 2 days)" in signal.explanation


def test_a_birthday_early_in_january_is_found_across_the_year_end() -> None:
    client = Client(id="c1", name="Ann", birthday=d("1990-01-02"))
    [signal] = rules.signals_for(facts(client), QUIET, d("2026-12-28"))
    assert signal.explanation == "birthday on Sat 2 Jan 2027 (in 5 days); turns 37"
    assert signal.reason_key == "birthday:2027"


def test_the_anniversary_of_becoming_a_client_is_signalled() -> None:
    client = Client(id="c1", name="Ann", since=d("2023-11-27"))
    [signal] = rules.signals_for(facts(client), QUIET, TODAY)
    assert signal.code == SignalCode.ANNIVERSARY
    assert signal.explanation.startswith("3 years as a client on Fri 27 Nov (in 3 days)")
    assert signal.reason_key == "anniversary:2026"


def test_without_since_the_anniversary_of_the_first_visit_counts() -> None:
    [signal] = rules.signals_for(facts(first_activity=d("2025-11-25")), QUIET, TODAY)
    assert signal.explanation.startswith("1 year since the first visit on Wed 25 Nov (tomorrow)")


def test_a_new_client_has_no_anniversary_yet() -> None:
    client = Client(id="c1", name="Ann", since=d("2026-11-26"))
    assert not only(SignalCode.ANNIVERSARY, rules.signals_for(facts(client), QUIET, TODAY))


def test_thanksgiving_is_a_holiday_for_cards() -> None:
    policy = replace(QUIET, country="US")
    [signal] = rules.signals_for(facts(), policy, TODAY)
    assert signal.code == SignalCode.HOLIDAY
    assert signal.explanation == "Thanksgiving Day on Thu 26 Nov (in 2 days): time for a card"
    assert signal.reason_key == "holiday:2026-11-26"
    assert signal.channel == "card"


def test_new_years_day_is_found_across_the_year_end() -> None:
    policy = replace(QUIET, country="US")
    [signal] = rules.signals_for(facts(), policy, d("2026-12-28"))
    assert signal.explanation.startswith("New Year's Day on Fri 1 Jan 2027 (in 4 days)")


def test_a_custom_thinking_of_you_day_is_a_holiday() -> None:
    policy = replace(QUIET, occasions=(Occasion(12, 1, "Thinking of You"),))
    [signal] = rules.signals_for(facts(), policy, TODAY)
    assert signal.explanation == "Thinking of You on Tue 1 Dec (in 7 days): time for a card"


# --- welcome, follow_up, feedback ------------------------------------------------------------


def test_a_new_client_without_a_personal_touch_is_welcomed() -> None:
    new = facts(first_activity=d("2026-11-20"), last_personal_touch=None)
    [signal] = only(SignalCode.WELCOME, rules.signals_for(new, QUIET, TODAY))
    assert "new client since Fri 20 Nov (4 days ago)" in signal.explanation
    assert signal.reason_key == "welcome:2026-11-20"


def test_a_new_client_already_called_is_not_welcomed_again() -> None:
    called = facts(first_activity=d("2026-11-20"), last_personal_touch=d("2026-11-21"))
    assert rules.signals_for(called, QUIET, TODAY) == ()


def test_a_purchase_gets_a_thank_you_right_away() -> None:
    policy = replace(QUIET, follow_ups={"purchase": FollowUpRule(3, 30)})
    bought = facts(last_by_kind={"purchase": d("2026-11-23")}, last_personal_touch=None)
    [signal] = only(SignalCode.FOLLOW_UP, rules.signals_for(bought, policy, TODAY))
    assert signal.explanation == "purchase on Mon 23 Nov (1 day ago); say thank you within 3 days"
    assert signal.reason_key == "follow_up:thank_you:purchase:2026-11-23"


def test_a_purchase_gets_a_check_in_a_month_later_even_after_the_thank_you() -> None:
    policy = replace(QUIET, follow_ups={"purchase": FollowUpRule(3, 30)})
    bought = facts(last_by_kind={"purchase": d("2026-10-20")}, last_personal_touch=d("2026-10-21"))
    [signal] = rules.signals_for(bought, policy, TODAY)
    assert signal.code == SignalCode.FOLLOW_UP
    assert signal.explanation.endswith("(35 days ago); check in on how it went")
    assert signal.explanation.count("days ago") == 1
    assert signal.reason_key == "follow_up:check_in:purchase:2026-10-20"


def test_feedback_is_asked_two_days_after_the_last_visit() -> None:
    visited = facts(last_activity=d("2026-11-21"), last_activity_kind="cleaning")
    [signal] = rules.signals_for(visited, QUIET, TODAY)
    assert signal.code == SignalCode.FEEDBACK
    assert signal.explanation == "last cleaning Sat 21 Nov (3 days ago); ask how it went"


def test_feedback_is_asked_at_most_once_per_period() -> None:
    visited = facts(last_activity=d("2026-11-21"), last_feedback_asked=d("2026-09-01"))
    assert rules.signals_for(visited, QUIET, TODAY) == ()
    long_ago = replace(visited, last_feedback_asked=d("2026-01-10"))
    [signal] = rules.signals_for(long_ago, QUIET, TODAY)
    assert "(last asked 318 days ago)" in signal.explanation


# --- cadence_overdue -------------------------------------------------------------------------


def test_a_key_client_silent_for_214_days_is_overdue_for_the_key_cadence() -> None:
    client = Client(id="c1", name="Ann", tags=("vip", "key"))
    policy = replace(QUIET, cadence_days={"key": 30, "vip": 60})
    stale = facts(client, last_personal_touch=TODAY - dt.timedelta(days=214))
    [signal] = rules.signals_for(stale, policy, TODAY)
    assert signal.code == SignalCode.CADENCE_OVERDUE
    assert signal.explanation == (
        "no personal contact for 214 days; the cadence for key clients is 30 days"
    )


def test_a_client_touched_yesterday_is_never_overdue_for_cadence() -> None:
    client = Client(id="c1", name="Ann", tags=("key",))
    policy = replace(QUIET, cadence_days={"key": 1})
    assert rules.signals_for(facts(client), policy, TODAY) == ()


def test_a_prospect_uses_the_prospect_cadence() -> None:
    client = Client(id="p1", name="Bo", status=ClientStatus.PROSPECT, since=d("2026-08-01"))
    signal = rules.signals_for(facts(client, last_personal_touch=None), Policy(country=""), TODAY)
    [overdue] = only(SignalCode.CADENCE_OVERDUE, signal)
    assert "the cadence for prospects is 90 days" in overdue.explanation
    assert overdue.reason_key == "cadence_overdue:never"


def test_newsletters_and_invoices_never_count_as_personal_touches() -> None:
    client = Client(id="c1", name="Ann")
    touches = [
        Touch("c1", d("2026-11-20"), "newsletter"),
        Touch("c1", d("2026-11-22"), "invoice"),
        Touch("c1", d("2026-03-01"), "call"),
    ]
    built = ClientFacts.from_history(client, [], touches, today=TODAY)
    assert built.last_personal_touch == d("2026-03-01")
    [signal] = rules.signals_for(built, Policy(country="", follow_ups={}), TODAY)
    assert signal.explanation.startswith("no personal contact for 268 days")


def test_facts_from_history_track_the_last_activity_of_each_kind() -> None:
    acts = [
        Activity("c1", d("2026-01-05"), kind="check-up"),
        Activity("c1", d("2026-06-05"), kind="check-up"),
        Activity("c1", d("2026-09-01"), kind="cleaning"),
        Activity("c1", d("2027-09-01"), kind="typo"),  # in the future by mistake
    ]
    built = ClientFacts.from_history(Client(id="c1", name="Ann"), acts, [], today=TODAY)
    assert built.first_activity == d("2026-01-05")
    assert built.last_activity == d("2026-09-01")
    assert built.last_activity_kind == "cleaning"
    assert dict(built.last_by_kind) == {"check-up": d("2026-06-05"), "cleaning": d("2026-09-01")}


# --- do-not-contact, ordering ----------------------------------------------------------------


def test_a_do_not_contact_client_gets_no_signals_at_all() -> None:
    client = Client(
        id="c1",
        name="Ann",
        do_not_contact=True,
        cancelled_on=d("2026-10-01"),
        birthday=d("1980-11-26"),
        next_due=d("2026-11-25"),
    )
    assert (
        rules.signals_for(facts(client, rhythm=rhythm(), last_personal_touch=None), Policy(), TODAY)
        == ()
    )


def test_signals_come_most_urgent_first() -> None:
    client = Client(id="c1", name="Ann", birthday=d("1980-11-26"), next_due=d("2026-11-01"))
    signals = rules.signals_for(facts(client, rhythm=rhythm()), Policy(), TODAY)
    assert {"lapsing", "birthday", "due", "holiday"} <= set(codes(signals))
    urgencies = [s.urgency for s in signals]
    assert urgencies == sorted(urgencies, reverse=True)


# --- policy ----------------------------------------------------------------------------------


def test_the_policy_round_trips_through_json() -> None:
    policy = Policy(
        time_zone="America/Chicago",
        cadence_days={"key": 30, "prospect": 90, "past": 120},
        occasions=(Occasion(2, 29, "Leap day"),),
        follow_ups={"sale": FollowUpRule(2, 60, 10)},
    )
    again = Policy.from_dict(json.loads(json.dumps(policy.to_dict())))
    assert again == policy
    assert Policy.from_dict({}) == Policy()


def test_a_policy_built_in_code_is_checked_too() -> None:
    with pytest.raises(InvalidInput, match=r"recall_days\.check-up"):
        Policy(recall_days={"check-up": 0})
    with pytest.raises(InvalidInput, match="daily_capacity"):
        Policy(daily_capacity=-2)


def test_a_policy_saved_with_the_old_daily_max_key_still_loads_as_daily_capacity() -> None:
    assert Policy.from_dict({"daily_max": 7}).daily_capacity == 7
    assert Policy.from_dict({"daily_max": 7, "daily_capacity": 9}).daily_capacity == 9


def test_a_country_is_normalised_and_one_without_known_holidays_is_refused() -> None:
    assert Policy.from_dict({"country": "gb"}).country == "GB"
    for bad in ("XX", "USA", "G"):
        with pytest.raises(InvalidInput, match="country"):
            Policy.from_dict({"country": bad})


def test_a_time_zone_must_name_a_zone_not_a_region_folder() -> None:
    for bad in ("Pacific", "America", "../etc", "", "UTC "):
        with pytest.raises(InvalidInput, match="time_zone"):
            Policy.from_dict({"time_zone": bad})
    assert Policy.from_dict({"time_zone": "Pacific/Auckland"}).time_zone == "Pacific/Auckland"


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"weekly_quoat": 3}, "weekly_quoat"),
        ({"weekly_quota": -1}, "weekly_quota"),
        ({"weekly_quota": "2"}, "weekly_quota"),
        ({"weekly_quota": True}, "weekly_quota"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"country": "USA"}, "country"),
        ({"cadence_days": {"key": 0}}, "cadence_days.key"),
        ({"cadence_days": [30]}, "cadence_days"),
        ({"occasions": [{"month": 2, "day": 30, "name": "x"}]}, "occasions[0]"),
        ({"occasions": [{"month": 2, "day": 1}]}, "occasions[0]"),
        ({"follow_ups": {"sale": {"thank_you": 2}}}, "follow_ups.sale"),
    ],
)
def test_a_bad_policy_value_is_rejected_naming_its_key(data: dict, named: str) -> None:
    with pytest.raises(InvalidInput, match=named.replace("[", r"\[").replace("]", r"\]")):
        Policy.from_dict(data)
