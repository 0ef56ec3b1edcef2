"""Scenarios: small realistic practices, written as CSV files, lived through a working week.

Each practice (tests/scenarios/stories.py) is a background of ordinary clients of varied
rhythms, generated with a fixed seed, around planted stories from DESIGN.md. It comes in
through `keepwarm import`; then each day runs `keepwarm run-daily --as-of DAY`, reads
`keepwarm today --as-of DAY --format json`, marks actions done with `keepwarm done ID --on DAY`
and imports the day's visits and logged calls in the evening (tests/scenarios/practice.py).
Default settings throughout: no `policy set` (weekly quota 2, daily capacity 5, a client
contacted in the last 7 days waits unless the reason is urgent).

BUSY (SQLite and PostgreSQL): the week before Thanksgiving; three members of staff who make
about ten calls a week each, so their quota is met by Tuesday; the lists must still carry every
real reason, and no hug. QUIET (SQLite): a week with no calls and few reasons; hugs fill the
quota of two a week per member, spread over the week, never more than needed.

Every expectation comes from a story, never from what the planner happens to compute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from scenarios import stories as s
from scenarios.practice import Day, Week, fresh_db, live_week

QUOTA = 2  # the default weekly quota: personal contacts per member of staff per week
CAPACITY = 5  # the default daily capacity: actions per member of staff per day
DEFAULT_CADENCE = 180  # days without a personal touch before cadence_overdue, by default


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def busy(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Week]:
    folder = tmp_path_factory.mktemp("busy")
    with fresh_db(request, folder) as url:
        yield live_week(url, folder, s.busy_practice())


@pytest.fixture(scope="module", params=["sqlite"])
def quiet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Week]:
    folder = tmp_path_factory.mktemp("quiet")
    with fresh_db(request, folder) as url:
        yield live_week(url, folder, s.quiet_practice())


def codes(action: dict[str, Any]) -> list[str]:
    return [sig["code"] for sig in action["signals"]]


def is_cancellation(action: dict[str, Any]) -> bool:
    return "cancellation" in codes(action)


def is_hug(action: dict[str, Any]) -> bool:
    return not action["signals"]


def days_listed(week: Week, client_id: str) -> list[Day]:
    return [day for day in week.days if week.action(day, client_id) is not None]


def first_listed(week: Week, client_id: str, staff: str) -> tuple[Day, dict[str, Any]]:
    """The first day the client is on `staff`'s list (failing if never this week)."""
    for day in week.days:
        action = week.action(day, client_id)
        if action is not None:
            assert action["staff"] == staff, f"{client_id} is on {action['staff']}'s list"
            return day, action
    pytest.fail(
        f"{client_id} is on no list all week:\n"
        + "\n".join(f"{day}: {week.summary(day)}" for day in week.days)
    )


def quota_line(week: Week, day: Day, staff: str) -> dict[str, Any]:
    found = [x for x in week.quota[day]["staff"] if x["staff"] == staff]
    assert len(found) == 1, week.quota[day]
    return found[0]


# --- BUSY: quotas are a floor, never a cap --------------------------------------------------------


def test_the_busy_staff_have_met_their_weekly_quota_with_their_own_calls_by_thursday(busy) -> None:  # type: ignore[no-untyped-def]
    # Two logged calls a day each: by Thursday morning six or more this week, the quota is two.
    for staff in (s.ANA, s.BEN, s.CLEO):
        line = quota_line(busy, s.THU, staff)
        assert line["weekly_quota"] == QUOTA
        assert line["done"] >= 3 * s.CALLS_PER_DAY and line["met"], line


def test_a_twice_monthly_patient_silent_four_months_is_on_her_owners_list_though_the_quota_is_met(
    busy,
) -> None:  # type: ignore[no-untyped-def]
    # Ben keeps putting the call off: María is on his list every day until he calls, including
    # Thursday and Friday when his quota has long been met.
    assert (s.MON - s.PATIENT.visits[-1].date).days > 120
    for day in s.BUSY_WEEK:
        action = busy.action(day, s.PATIENT.id)
        assert action is not None, f"{day}: {busy.summary(day)}"
        assert action["staff"] == s.BEN
        assert "lapsing" in codes(action), action["signals"]
    assert quota_line(busy, s.FRI, s.BEN)["met"]


def test_a_client_who_has_gone_quiet_is_lapsing_not_also_usage_down(busy) -> None:  # type: ignore[no-untyped-def]
    for day in days_listed(busy, s.PATIENT.id):
        found = busy.codes(day, s.PATIENT.id)
        assert "lapsing" in found and "usage_down" not in found, (day, found)


def test_real_reasons_still_make_the_lists_once_every_quota_is_met(busy) -> None:  # type: ignore[no-untyped-def]
    # Thursday and Friday: every member has met the quota, and each still has clients with
    # reasons (the background alone gives each of them dozens: feedback, lapsing, birthdays).
    for day in (s.THU, s.FRI):
        for staff in (s.ANA, s.BEN, s.CLEO):
            assert quota_line(busy, day, staff)["met"]
            real = [a for a in busy.actions(day, staff) if a["signals"]]
            assert len(real) >= CAPACITY, f"{day} {staff}: {busy.summary(day)}"


def test_no_hugs_in_a_busy_practice_whose_staff_met_the_quota(busy) -> None:  # type: ignore[no-untyped-def]
    for day in s.BUSY_WEEK:
        hugs = [a["client"]["id"] for a in busy.actions(day) if is_hug(a)]
        assert hugs == [], f"{day}: hugs {hugs}"


# --- BUSY: cancellations -----------------------------------------------------------------------


def test_a_termination_letter_unanswered_for_five_weeks_is_first_on_the_owners_list(busy) -> None:  # type: ignore[no-untyped-def]
    action = busy.action(s.MON, s.LETTER.id)
    assert action is not None, busy.summary(s.MON)
    assert action["staff"] == s.ANA and action["rank"] == 1
    assert "cancellation" in codes(action)


def test_a_cancelled_client_gets_the_cancellation_without_cadence_overdue_beside_it(busy) -> None:  # type: ignore[no-untyped-def]
    # Neither was called in more than the default cadence: one fact (they are leaving and
    # nobody called), one reason.
    assert (s.MON - s.LETTER.touches[-1].date).days > DEFAULT_CADENCE
    assert not s.DROPOUT.touches and (s.MON - s.DROPOUT.visits[0].date).days < DEFAULT_CADENCE
    for client in (s.LETTER, s.DROPOUT):
        found = busy.codes(s.MON, client.id)
        assert "cancellation" in found and "cadence_overdue" not in found, (client.id, found)


def test_a_letter_arriving_on_wednesday_is_first_on_thursdays_list_though_the_quota_is_met(
    busy,
) -> None:  # type: ignore[no-untyped-def]
    for day in (s.MON, s.TUE, s.WED):
        before = busy.action(day, s.WEDNESDAY_LETTER.id)
        assert before is None or "cancellation" not in codes(before)
    assert quota_line(busy, s.THU, s.ANA)["met"]
    action = busy.action(s.THU, s.WEDNESDAY_LETTER.id)
    assert action is not None, busy.summary(s.THU)
    assert action["staff"] == s.ANA and action["rank"] == 1
    assert "cancellation" in codes(action)


def test_a_notice_to_leave_stays_first_on_the_list_every_day_until_someone_calls(busy) -> None:  # type: ignore[no-untyped-def]
    for day in s.BUSY_WEEK:
        action = busy.action(day, s.NOTICE.id)
        assert action is not None, f"{day}: {busy.summary(day)}"
        assert action["staff"] == s.BEN and action["rank"] == 1
        assert "cancellation" in codes(action)


def test_a_called_cancellation_does_not_come_back(busy) -> None:  # type: ignore[no-untyped-def]
    # Ana called Margaret on Monday and Frank on Thursday; Cleo called Tina on Monday.
    for client, called in ((s.LETTER, s.MON), (s.DROPOUT, s.MON), (s.WEDNESDAY_LETTER, s.THU)):
        assert client.id in [a["client"]["id"] for a in busy.done[called]]
        for day in s.BUSY_WEEK:
            if day > called:
                assert busy.action(day, client.id) is None, f"{client.id} back on {day}"


# --- BUSY: daily capacity ----------------------------------------------------------------------


def test_no_member_gets_more_than_the_daily_capacity_besides_cancellations(busy) -> None:  # type: ignore[no-untyped-def]
    for day in s.BUSY_WEEK:
        for staff in (s.ANA, s.BEN, s.CLEO):
            others = [a for a in busy.actions(day, staff) if not is_cancellation(a)]
            assert len(others) <= CAPACITY, f"{day} {staff}: {busy.summary(day)}"


def test_nine_lapsed_accounts_for_one_member_five_today_the_rest_waiting(busy) -> None:  # type: ignore[no-untyped-def]
    big = {c.id for c in s.BIG}
    listed = busy.actions(s.MON, s.CLEO)
    shown = [a["client"]["id"] for a in listed if a["client"]["id"] in big]
    assert 0 < len(shown) <= CAPACITY, busy.summary(s.MON)
    assert all("lapsing" in codes(a) for a in listed if a["client"]["id"] in big)
    assert busy.waiting(s.MON, s.CLEO) >= len(big) - len(shown), busy.plans[s.MON].get("waiting")


def test_a_cancellation_is_on_the_list_even_beyond_the_daily_capacity(busy) -> None:  # type: ignore[no-untyped-def]
    # Cleo has nine big lapsed accounts for five places, and Tina's cancellation on top.
    listed = busy.actions(s.MON, s.CLEO)
    others = [a for a in listed if not is_cancellation(a)]
    assert len(others) == CAPACITY, busy.summary(s.MON)
    tina = busy.action(s.MON, s.DROPOUT.id)
    assert tina is not None and tina["staff"] == s.CLEO and "cancellation" in codes(tina)
    assert len(listed) > CAPACITY


def test_what_waited_comes_first_the_next_day_before_newer_lower_priority_reasons(busy) -> None:  # type: ignore[no-untyped-def]
    big = [c.id for c in s.BIG]
    monday = {a["client"]["id"] for a in busy.actions(s.MON, s.CLEO)}
    called = {a["client"]["id"] for a in busy.done[s.MON]}
    assert monday <= called  # Cleo did her whole Monday list
    waited = {cid for cid in big if cid not in monday}
    assert waited, "the capacity left some of the nine for Tuesday"
    # The four that waited fit in Tuesday's five places: they are all there...
    tuesday = {a["client"]["id"]: a for a in busy.actions(s.TUE, s.CLEO)}
    assert waited <= set(tuesday), busy.summary(s.TUE)
    # ...and Omar, new on Monday evening, is welcomed after them.
    day, omar = first_listed(busy, s.NEWCOMER.id, s.CLEO)
    assert "welcome" in codes(omar)
    if day == s.TUE:
        assert omar["rank"] > max(tuesday[cid]["rank"] for cid in waited), busy.summary(s.TUE)


def test_a_client_whose_action_was_done_does_not_come_back_the_next_day_for_the_same_reason(
    busy,
) -> None:  # type: ignore[no-untyped-def]
    for day, following in zip(s.BUSY_WEEK, s.BUSY_WEEK[1:], strict=False):
        for done in busy.done[day]:
            again = busy.action(following, done["client"]["id"])
            if again is None:
                continue
            same = (set(codes(done)) & set(codes(again))) - {"holiday"}
            assert not same, f"{done['client']['id']} done on {day}, again on {following}: {same}"


def test_the_big_accounts_called_do_not_come_back_during_the_week(busy) -> None:  # type: ignore[no-untyped-def]
    for client in s.BIG:
        day, _ = first_listed(busy, client.id, s.CLEO)
        assert client.id in [a["client"]["id"] for a in busy.done[day]]
        later = [x for x in days_listed(busy, client.id) if x > day]
        assert later == [], f"{client.id} called on {day}, back on {later}"


# --- BUSY: one reason per fact, no noise -------------------------------------------------------


def test_near_thanksgiving_no_one_is_on_the_list_for_the_holiday_alone(busy) -> None:  # type: ignore[no-untyped-def]
    assert (s.THANKSGIVING - s.MON).days <= 10  # within the default holiday lead time
    noted = 0
    for day in s.BUSY_WEEK:
        for action in busy.actions(day):
            found = codes(action)
            assert found and set(found) != {"holiday"}, (day, action["client"]["id"], found)
            noted += "holiday" in found
    assert noted, "the holiday is a note on clients already on the list"


def test_a_check_up_due_with_its_recall_date_in_the_file_is_one_due_signal(busy) -> None:  # type: ignore[no-untyped-def]
    # The file's next_due is the same day as the last check-up + 182 days: one fact.
    assert s.CHECK_UP.next_due == s.CHECK_UP.visits[-1].date + dt.timedelta(days=182)
    _, action = first_listed(busy, s.CHECK_UP.id, s.ANA)
    assert codes(action).count("due") == 1, action["signals"]


def test_a_fortnightly_client_now_coming_weekly_is_usage_up(busy) -> None:  # type: ignore[no-untyped-def]
    _, action = first_listed(busy, s.UP.id, s.ANA)
    assert "usage_up" in codes(action) and "usage_down" not in codes(action), action["signals"]


def test_a_weekly_client_who_went_fortnightly_for_five_months_is_usage_down(busy) -> None:  # type: ignore[no-untyped-def]
    _, action = first_listed(busy, s.DOWN.id, s.BEN)
    assert "usage_down" in codes(action) and "usage_up" not in codes(action), action["signals"]


def test_a_long_distance_customer_a_year_after_the_sale_is_on_the_list(busy) -> None:  # type: ignore[no-untyped-def]
    # One purchase 13 months ago, a thank-you gift two days later, then silence.
    assert (s.MON - s.FARAWAY.touches[-1].date).days > DEFAULT_CADENCE
    _, action = first_listed(busy, s.FARAWAY.id, s.BEN)
    assert "cadence_overdue" in codes(action), action["signals"]


def test_a_new_client_first_seen_last_week_is_welcomed(busy) -> None:  # type: ignore[no-untyped-def]
    _, action = first_listed(busy, s.NEWBIE.id, s.ANA)
    assert "welcome" in codes(action), action["signals"]


def test_a_yearly_client_seen_four_months_ago_is_not_lapsing(busy, quiet) -> None:  # type: ignore[no-untyped-def]
    assert 100 < (s.MON - s.YEARLY_CLIENT.visits[-1].date).days < 150
    for day in days_listed(busy, s.YEARLY_CLIENT.id):
        assert "lapsing" not in busy.codes(day, s.YEARLY_CLIENT.id), day
    # In the quiet practice the lists have room: a lapsing Yara would be on one.
    assert 100 < (s.QUIET_WEEK[0] - s.QUIET_YEARLY.visits[-1].date).days < 150
    assert_room(quiet)
    for day in days_listed(quiet, s.QUIET_YEARLY.id):
        assert "lapsing" not in quiet.codes(day, s.QUIET_YEARLY.id), day


def assert_room(week: Week) -> None:
    """Every list of the week is shorter than the daily capacity (nothing waits)."""
    for day in week.days:
        for staff in {a["staff"] for a in week.actions(day)}:
            assert len(week.actions(day, staff)) < CAPACITY, (day, week.summary(day))
        assert not any(week.plans[day].get("waiting", {}).values()), week.plans[day]["waiting"]


def test_a_do_not_contact_client_is_never_on_any_list_on_any_day(busy, quiet) -> None:  # type: ignore[no-untyped-def]
    for week, client in ((busy, s.DO_NOT_CONTACT), (quiet, s.QUIET_DNC)):
        assert days_listed(week, client.id) == []


def test_a_steady_weekly_regular_called_yesterday_is_not_on_the_list(busy, quiet) -> None:  # type: ignore[no-untyped-def]
    assert days_listed(busy, s.STEADY.id) == []
    # In the quiet practice the lists have room: any reason (a visit to ask about, a hug)
    # would have put Karl on Rosa's list.
    assert_room(quiet)
    assert days_listed(quiet, s.QUIET_STEADY.id) == []


# --- BUSY: the lists are kept ------------------------------------------------------------------


def test_reading_an_earlier_day_does_not_change_a_later_days_list(busy) -> None:  # type: ignore[no-untyped-def]
    assert busy.reread["first"]["as_of"] == s.MON.isoformat()
    assert busy.reread["last_after"] == busy.reread["last_before"]


def test_each_days_list_is_the_plan_of_that_day(busy) -> None:  # type: ignore[no-untyped-def]
    for day in s.BUSY_WEEK:
        assert busy.plans[day]["as_of"] == day.isoformat()
        assert busy.actions(day), f"nothing planned on {day}"
        for staff in (s.ANA, s.BEN, s.CLEO):
            ranks = [a["rank"] for a in busy.actions(day, staff)]
            assert ranks == list(range(1, len(ranks) + 1)), (day, staff, ranks)


# --- QUIET: hugs fill the quota ----------------------------------------------------------------


def hugs_by_day(week: Week, staff: str) -> dict[Day, list[str]]:
    return {
        day: [a["client"]["id"] for a in week.actions(day, staff) if is_hug(a)] for day in week.days
    }


def test_in_a_quiet_practice_hugs_fill_the_weekly_quota(quiet) -> None:  # type: ignore[no-untyped-def]
    # Both members work through their list every day; what the real reasons leave of the
    # quota of two, hugs make up over the week, no more.
    total_hugs = 0
    for staff in (s.QUINN, s.ROSA):
        done = [a for day in quiet.days for a in quiet.done[day] if a["staff"] == staff]
        real = sum(1 for a in done if a["signals"])
        hugs = sum(1 for a in done if not a["signals"])
        assert hugs == max(QUOTA - real, 0), (staff, [quiet.summary(d) for d in quiet.days])
        total_hugs += hugs
    assert total_hugs > 0, "a quiet practice gets hugs"


def test_hugs_are_spread_over_the_week_one_a_day_at_most(quiet) -> None:  # type: ignore[no-untyped-def]
    for staff in (s.QUINN, s.ROSA):
        for day, hugs in hugs_by_day(quiet, staff).items():
            assert len(hugs) <= 1, (staff, day, hugs)


def test_hugs_never_exceed_what_the_quota_still_needs(quiet) -> None:  # type: ignore[no-untyped-def]
    for staff in (s.QUINN, s.ROSA):
        contacted = 0
        for day in quiet.days:
            listed = quiet.actions(day, staff)
            real = sum(1 for a in listed if a["signals"])
            hugs = sum(1 for a in listed if is_hug(a))
            assert hugs <= max(QUOTA - contacted - real, 0), (staff, day, quiet.summary(day))
            contacted += sum(1 for a in quiet.done[day] if a["staff"] == staff)


def test_each_hug_is_a_different_client(quiet) -> None:  # type: ignore[no-untyped-def]
    for staff in (s.QUINN, s.ROSA):
        hugged = [cid for hugs in hugs_by_day(quiet, staff).values() for cid in hugs]
        assert len(hugged) == len(set(hugged)), (staff, hugged)


def test_a_recall_date_in_the_file_is_due_in_a_quiet_week(quiet) -> None:  # type: ignore[no-untyped-def]
    action = quiet.action(s.QUIET_WEEK[0], s.RECALL.id)
    assert action is not None, quiet.summary(s.QUIET_WEEK[0])
    assert action["staff"] == s.QUINN and codes(action).count("due") == 1
