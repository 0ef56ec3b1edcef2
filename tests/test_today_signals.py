"""Every signal end to end: a practice written as CSV files, brought in through the public
import path (`keepwarm import clients|activities|touches`), and checked in the output of
`keepwarm today --as-of DAY --format json`, on SQLite and PostgreSQL.

Each scenario client exercises one signal (plus a control that must not get it). The
scenario clients all belong to Dana, whose daily share is larger than their number, so every
one of them is on her list (with signals, or as a "hug" without any): a signal missing from a
listed client is the rules' doing, never the quota's. A background population of regular
clients, owned by a member of staff with a weekly quota of 0, gives the rhythm engine a
practice to fit and never takes a place on Dana's list.

Two practices are built once per backend for the module (building one takes seconds):
30 June 2026 for everything but holidays, 20 November 2026 for Thanksgiving and a custom
occasion.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import Cli, pg_schema

AS_OF = dt.date(2026, 6, 30)  # a Tuesday. Independence Day (4 Jul) is within the holiday lead
# time, but not among the default holiday_names (thanksgiving, christmas, new year).
NOVEMBER = dt.date(2026, 11, 20)  # a Friday: Thanksgiving is Thursday 26 November
TREND_WINDOW_DAYS = 182  # the usage trend's window for these clients: 26 usual gaps, at most
# 182 days (keepwarm.rhythm.summary)
DANA = "Dana Reyes"
BACK_OFFICE = "Back Office"

Listing = dict[str, dict[str, Any]]


# --- writing a practice ------------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """One client and their history: visits are (date, amount in dollars, kind); touches are
    the dates of personal calls."""

    id: str
    first: str
    last: str
    visits: tuple[tuple[dt.date, float, str], ...] = ()
    touches: tuple[dt.date, ...] = ()
    birthday: dt.date | None = None
    since: dt.date | None = None
    status: str = "active"
    next_due: dt.date | None = None
    cancelled_on: dt.date | None = None
    do_not_contact: bool = False
    owner: str = DANA


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def every(
    start: dt.date, end: dt.date, step: int, amount: float = 50.0, kind: str = "visit"
) -> tuple[tuple[dt.date, float, str], ...]:
    """A visit every `step` days from `start` up to and including `end`."""
    out = []
    day = start
    while day <= end:
        out.append((day, amount, kind))
        day += dt.timedelta(days=step)
    return tuple(out)


def background(count: int = 160) -> list[Client]:
    """Regular clients of many rhythms (some of them gone quiet), deterministic; owned by a
    member of staff with no quota, so they never take a place on anyone's list."""
    out = []
    gaps = (10, 14, 21, 30, 45, 60, 90)
    for i in range(count):
        start = d("2024-01-01") + dt.timedelta(days=(i * 7) % 120)
        end = AS_OF - dt.timedelta(days=(i % 5) * 70)
        amount = 40.0 + (i % 4) * 20
        out.append(
            Client(
                f"BG{i:03d}",
                "Reg",
                f"Ular {i}",
                visits=every(start, end, gaps[i % 7], amount),
                touches=(d("2026-06-01"),),
                since=start,
                owner=BACK_OFFICE,
            )
        )
    return out


def write_files(folder: Path, people: list[Client]) -> tuple[Path, Path, Path]:
    def iso(day: dt.date | None) -> str:
        return day.isoformat() if day else ""

    clients = [
        [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "address",
            "birthday",
            "since",
            "owner",
            "status",
            "next_due",
            "cancelled_on",
            "do_not_contact",
        ]
    ]
    activities = [["client_id", "date", "amount", "kind"]]
    touches = [["client_id", "date", "channel", "note"]]
    for c in people:
        clients.append(
            [
                c.id,
                c.first,
                c.last,
                f"{c.id.lower()}@example.com",
                "(415) 555-0100",
                f"{len(c.id)} Main Street, Springfield",
                iso(c.birthday),
                iso(c.since),
                c.owner,
                c.status,
                iso(c.next_due),
                iso(c.cancelled_on),
                "yes" if c.do_not_contact else "no",
            ]
        )
        activities += [[c.id, iso(day), f"{amount:.2f}", kind] for day, amount, kind in c.visits]
        touches += [[c.id, iso(day), "call", "Checked in"] for day in c.touches]
    paths = folder / "clients.csv", folder / "activities.csv", folder / "touches.csv"
    for path, rows in zip(paths, (clients, activities, touches), strict=True):
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    return paths


def ok(result):  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return result


def build(
    url: str, folder: Path, people: list[Client], setup: list[tuple[str, ...]], day: dt.date
) -> Listing:
    """A new practice through the CLI; today's list for `day`, by client id."""
    cli = Cli(url)
    ok(cli("init"))
    for args in setup:
        ok(cli(*args))
    for kind, path in zip(
        ("clients", "activities", "touches"), write_files(folder, people), strict=True
    ):
        ok(cli("import", kind, str(path)))
    ok(cli("run-daily", "--as-of", day.isoformat()))
    listed = json.loads(ok(cli("today", "--as-of", day.isoformat(), "--format", "json")).output)
    assert listed["as_of"] == day.isoformat()
    by_id = {a["client"]["id"]: a for a in listed["actions"]}
    assert len(by_id) == len(listed["actions"]), "one action per client"
    return by_id


@contextmanager
def fresh_db(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """A new empty database on the fixture's backend, for as long as the block runs."""
    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'keepwarm.db'}"
        return
    with pg_schema(request.getfixturevalue("pg_admin"), "kwsig_") as url:
        yield url


# --- the June practice: every signal but holidays ----------------------------------------------

CALLED = (d("2026-05-01"),)  # a personal call two months ago: no cadence_overdue
CUTOFF = AS_OF - dt.timedelta(days=TREND_WINDOW_DAYS)  # 1 April 2026: the baseline ends here

UP = Client(  # every 8 weeks for two years, then weekly since April
    "UP",
    "Uma",
    "Upton",
    visits=every(d("2024-01-10"), CUTOFF, 56) + every(d("2026-04-08"), d("2026-06-24"), 7),
    touches=CALLED,
    since=d("2019-02-11"),
)
DOWN = Client(  # weekly for almost two years, then fortnightly for five months, last week too
    "DOWN",
    "Dan",
    "Downey",
    visits=every(d("2024-06-03"), d("2026-01-26"), 7) + every(d("2026-02-09"), d("2026-06-22"), 14),
    touches=CALLED,
    since=d("2019-02-11"),
)
SPENDER = Client(  # every two weeks throughout; about three times the spend per visit lately
    "SPENDER",
    "Sue",
    "Spender",
    visits=tuple(
        (day, (40.0 + 4 * (i % 2)) if day <= CUTOFF else (120.0 + 10 * (i % 2)), "visit")
        for i, (day, _, _) in enumerate(every(d("2024-03-05"), AS_OF, 14))
    ),
    touches=CALLED,
    since=d("2019-02-11"),
)
STEADY = Client(  # every two weeks, same spend: nothing to report about usage
    "STEADY",
    "Stella",
    "Steady",
    visits=every(d("2024-02-02"), AS_OF, 14, 60.0),
    touches=CALLED,
    since=d("2019-02-11"),
)
ONE_VISIT = ((d("2025-12-01"), 80.0, "visit"),)
DUE = Client(  # recall on 10 July: in 10 days, the lead is 14
    "DUE", "Diane", "Duke", ONE_VISIT, CALLED, since=d("2019-03-12"), next_due=d("2026-07-10")
)
DUE_LATER = Client(
    "DUELATER", "Leo", "Later", ONE_VISIT, CALLED, since=d("2019-03-12"), next_due=d("2026-08-20")
)
RECALL = Client(  # check-up every 182 days by default: next due 6 July
    "RECALL",
    "Rita",
    "Recall",
    ((d("2025-07-20"), 90.0, "check-up"), (d("2026-01-05"), 90.0, "check-up")),
    CALLED,
    since=d("2018-09-09"),
)
RECALL_LATER = Client(  # check-up in May: next one due in October
    "RECALLLATER",
    "Ron",
    "Recent",
    ((d("2025-11-20"), 90.0, "check-up"), (d("2026-05-01"), 90.0, "check-up")),
    CALLED,
    since=d("2018-09-09"),
)
CLEANING = Client(  # cleaning every 90 days once the policy says so: next due 4 July
    "CLEANING",
    "Cody",
    "Clean",
    ((d("2025-12-20"), 70.0, "cleaning"), (d("2026-04-05"), 70.0, "cleaning")),
    CALLED,
    since=d("2018-09-09"),
)
BIRTHDAY = Client(
    "BDAY", "Bella", "Bird", ONE_VISIT, CALLED, birthday=d("1985-07-04"), since=d("2017-10-10")
)
BIRTHDAY_LATER = Client(  # in 20 days: beyond the 7-day lead
    "BDAYLATER", "Lars", "Late", ONE_VISIT, CALLED, birthday=d("1990-07-20"), since=d("2017-10-10")
)
QUIET = Client(  # birthday in 2 days, recall due in 5, visits: but do-not-contact
    "QUIET",
    "Quinn",
    "Quiet",
    ONE_VISIT,
    birthday=d("1980-07-02"),
    since=d("2016-07-01"),
    next_due=d("2026-07-05"),
    do_not_contact=True,
)
ANNIVERSARY = Client("ANNIV", "Anna", "Versary", ONE_VISIT, CALLED, since=d("2021-07-03"))
FIRST_VISIT_ANNIVERSARY = Client(  # no `since`: two years since the first visit on 5 July
    "ANNIVFIRST",
    "Fred",
    "First",
    ((d("2024-07-05"), 60.0, "visit"), (d("2025-11-11"), 60.0, "visit")),
    CALLED,
)
NO_ANNIVERSARY = Client("ANNIVNO", "Nora", "Notyet", ONE_VISIT, CALLED, since=d("2021-08-15"))
WELCOME = Client("WELCOME", "Wendy", "Welcome", ((d("2026-06-20"), 45.0, "visit"),))
WELCOMED = Client(  # new too, but already called
    "WELCOMED", "Walt", "Welcomed", ((d("2026-06-20"), 45.0, "visit"),), (d("2026-06-22"),)
)
PURCHASE = "purchase"  # the default follow-up rule's kind
THANKS = Client(
    "THANKS", "Theo", "Thanks", ((d("2026-06-29"), 300.0, PURCHASE),), CALLED, since=d("2019-03-10")
)
CHECK_IN = Client(  # 30 days after the purchase the check-in opens (for 14 days)
    "CHECKIN", "Chloe", "Check", ((d("2026-05-25"), 300.0, PURCHASE),), CALLED, d("2019-03-10")
)
CHECKED_IN = Client(  # same purchase, but called after the check-in opened
    "CHECKED",
    "Carl",
    "Checked",
    ((d("2026-05-25"), 300.0, PURCHASE),),
    (d("2026-06-26"),),
    since=d("2019-03-10"),
)
OLIVIA = Client(
    "OLIVIA",
    "Olivia",
    "Hart",
    ((d("2025-10-10"), 95.0, "massage"), (d("2026-06-26"), 95.0, "massage")),
    (d("2026-06-01"),),
    since=d("2019-05-05"),
)
MARCUS = Client(
    "MARCUS",
    "Marcus",
    "Lee",
    ((d("2025-09-09"), 120.0, "eye exam"), (d("2026-06-27"), 120.0, "eye exam")),
    (d("2026-06-01"),),
    since=d("2019-05-05"),
)
FEEDBACK_LATE = Client(  # last visit 15 days ago: past the feedback window (2 + 7 days)
    "FEEDBACKOLD", "Felix", "Old", ((d("2026-06-15"), 95.0, "visit"),), CALLED, d("2019-05-05")
)
PROSPECT = Client("PROSPECT", "Paula", "Prospect", since=d("2026-01-15"), status="prospect")
PROSPECT_TOUCHED = Client(
    "PROSPECTOK", "Pete", "Pending", (), CALLED, since=d("2026-01-15"), status="prospect"
)

JUNE_CLIENTS = [
    UP,
    DOWN,
    SPENDER,
    STEADY,
    DUE,
    DUE_LATER,
    RECALL,
    RECALL_LATER,
    CLEANING,
    BIRTHDAY,
    BIRTHDAY_LATER,
    QUIET,
    ANNIVERSARY,
    FIRST_VISIT_ANNIVERSARY,
    NO_ANNIVERSARY,
    WELCOME,
    WELCOMED,
    THANKS,
    CHECK_IN,
    CHECKED_IN,
    OLIVIA,
    MARCUS,
    FEEDBACK_LATE,
    PROSPECT,
    PROSPECT_TOUCHED,
]
JUNE_SETUP = [
    ("staff", "add", DANA, "--weekly-quota", "250"),
    ("staff", "add", BACK_OFFICE, "--weekly-quota", "0", "--daily-capacity", "0"),
    ("policy", "set", "daily_capacity", "50"),
    ("policy", "set", "recall_days.cleaning", "90"),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def june(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Listing]:
    folder = tmp_path_factory.mktemp("june")
    with fresh_db(request, folder) as url:
        yield build(url, folder, JUNE_CLIENTS + background(), JUNE_SETUP, AS_OF)


def explanation(listing: Listing, client_id: str, code: str) -> str:
    """The explanation of the client's `code` signal (failing if the client or signal is
    missing)."""
    assert client_id in listing, f"{client_id} is not on today's list"
    found = [s["explanation"] for s in listing[client_id]["signals"] if s["code"] == code]
    assert len(found) == 1, f"{client_id}: no single {code} in {listing[client_id]['signals']}"
    return found[0]


def codes(listing: Listing, client_id: str) -> set[str]:
    """The client's signal codes; the client must be listed (so an absence means something)."""
    assert client_id in listing, f"{client_id} is not on today's list"
    return {s["code"] for s in listing[client_id]["signals"]}


def test_every_scenario_client_but_the_do_not_contact_one_is_on_danas_list(june) -> None:  # type: ignore[no-untyped-def]
    recent = AS_OF - dt.timedelta(days=7)  # contacted in the last week: only a pressing reason
    expected = {
        c.id
        for c in JUNE_CLIENTS
        if not c.do_not_contact and not any(t > recent for t in c.touches)
    }
    assert expected <= set(june)
    assert "CHECKED" in {c.id for c in JUNE_CLIENTS} - expected - set(june)
    assert all(june[cid]["staff"] == DANA for cid in expected)
    assert not any(cid.startswith("BG") for cid in june)  # the back office has no quota


# --- usage_up / usage_down ---------------------------------------------------------------------


def usage_change(client: Client) -> float:
    """Spend per day in the recent window against the baseline, as the trend documents it:
    the first visit starts the observation and is not counted; the baseline runs from it to
    the window (which starts TREND_WINDOW_DAYS before AS_OF)."""
    cutoff = AS_OF - dt.timedelta(days=TREND_WINDOW_DAYS)
    by_day: dict[dt.date, float] = {}
    for day, amount, _ in client.visits:
        by_day[day] = by_day.get(day, 0.0) + amount
    first, *repeat = sorted(by_day)
    recent = sum(by_day[x] for x in repeat if x > cutoff)
    base = sum(by_day[x] for x in repeat if x <= cutoff)
    return (recent / TREND_WINDOW_DAYS) / (base / (cutoff - first).days) - 1


def test_a_client_who_now_comes_weekly_is_usage_up_by_their_own_numbers(june) -> None:  # type: ignore[no-untyped-def]
    change = usage_change(UP)
    assert change > 2  # weekly instead of every eight weeks: several times the spend per day
    assert explanation(june, "UP", "usage_up") == f"usage up {change * 100:.0f}% lately"
    assert "usage_down" not in codes(june, "UP")


def test_a_client_spending_more_per_visit_at_the_same_rate_is_usage_up(june) -> None:  # type: ignore[no-untyped-def]
    change = usage_change(SPENDER)
    assert change > 1
    assert explanation(june, "SPENDER", "usage_up") == f"usage up {change * 100:.0f}% lately"


def test_a_weekly_client_now_seen_twice_in_three_months_is_usage_down(june) -> None:  # type: ignore[no-untyped-def]
    change = usage_change(DOWN)
    assert change < -0.3
    assert explanation(june, "DOWN", "usage_down") == f"usage down {-change * 100:.0f}% lately"
    assert "usage_up" not in codes(june, "DOWN")


def test_a_steady_client_has_no_usage_signal(june) -> None:  # type: ignore[no-untyped-def]
    assert not {"usage_up", "usage_down"} & codes(june, "STEADY")


# --- due -----------------------------------------------------------------------------------------


def test_a_recall_date_within_the_lead_time_is_due(june) -> None:  # type: ignore[no-untyped-def]
    assert explanation(june, "DUE", "due") == "recall due Fri 10 Jul (in 10 days)"
    assert "due" not in codes(june, "DUELATER")  # 20 August: 51 days ahead, lead is 14


def test_a_check_up_every_six_months_by_default_is_due(june) -> None:  # type: ignore[no-untyped-def]
    text = explanation(june, "RECALL", "due")
    assert text.startswith("check-up every 6 months (182 days)")
    assert "last check-up Mon 5 Jan" in text
    assert text.endswith("next due Mon 6 Jul (in 6 days)")  # 5 Jan + 182 days
    assert "due" not in codes(june, "RECALLLATER")  # 1 May + 182 days is 30 October


def test_a_recall_rule_set_in_the_policy_is_due(june) -> None:  # type: ignore[no-untyped-def]
    # Only the policy change (recall_days.cleaning 90) makes cleanings recur.
    text = explanation(june, "CLEANING", "due")
    assert text.startswith("cleaning every 3 months (90 days)")
    assert text.endswith("next due Sat 4 Jul (in 4 days)")  # 5 Apr + 90 days


# --- birthday, anniversary, do-not-contact ------------------------------------------------------


def test_a_birthday_within_the_lead_time(june) -> None:  # type: ignore[no-untyped-def]
    assert explanation(june, "BDAY", "birthday") == "birthday on Sat 4 Jul (in 4 days); turns 41"
    assert "birthday" not in codes(june, "BDAYLATER")  # 20 July: 20 days, the lead is 7


def test_a_do_not_contact_client_never_appears_whatever_their_reasons(june) -> None:  # type: ignore[no-untyped-def]
    assert "QUIET" not in june


def test_whole_years_as_a_client_within_the_lead_time(june) -> None:  # type: ignore[no-untyped-def]
    assert (
        explanation(june, "ANNIV", "anniversary")
        == "5 years as a client on Fri 3 Jul (in 3 days) (since 03 Jul 2021)"
    )
    assert "anniversary" not in codes(june, "ANNIVNO")  # 15 August: 46 days ahead


def test_without_a_since_date_the_first_visit_counts_for_the_anniversary(june) -> None:  # type: ignore[no-untyped-def]
    assert (
        explanation(june, "ANNIVFIRST", "anniversary")
        == "2 years since the first visit on Sun 5 Jul (in 5 days) (since 05 Jul 2024)"
    )


def test_independence_day_is_not_among_the_default_holidays(june) -> None:  # type: ignore[no-untyped-def]
    # 4 July is within the 10-day lead, but holiday_names picks only Thanksgiving, Christmas
    # and the New Year by default.
    assert not any(s["code"] == "holiday" for a in june.values() for s in a["signals"])


# --- welcome, follow_up, feedback ----------------------------------------------------------------


def test_a_new_client_without_a_personal_contact_is_welcomed(june) -> None:  # type: ignore[no-untyped-def]
    assert explanation(june, "WELCOME", "welcome") == (
        "new client since Sat 20 Jun (10 days ago); no personal contact yet; say welcome"
    )
    assert "welcome" not in codes(june, "WELCOMED")  # called two days after the first visit


def test_a_purchase_yesterday_gets_a_thank_you(june) -> None:  # type: ignore[no-untyped-def]
    assert explanation(june, "THANKS", "follow_up") == (
        "purchase on Mon 29 Jun (1 day ago); say thank you within 3 days"
    )


def test_a_month_after_a_purchase_comes_the_check_in(june) -> None:  # type: ignore[no-untyped-def]
    text = explanation(june, "CHECKIN", "follow_up")
    assert text.startswith("purchase on Mon 25 May (36 days ago)")
    assert text.endswith("; check in on how it went")
    assert "CHECKED" not in june  # called four days ago, once the check-in was open


def test_the_check_in_sentence_says_how_long_ago_once(june) -> None:  # type: ignore[no-untyped-def]
    assert explanation(june, "CHECKIN", "follow_up") == (
        "purchase on Mon 25 May (36 days ago); check in on how it went"
    )


def test_a_visit_a_few_days_ago_asks_for_feedback(june) -> None:  # type: ignore[no-untyped-def]
    assert explanation(june, "OLIVIA", "feedback") == (
        "last massage Fri 26 Jun (4 days ago); ask how it went"
    )
    assert explanation(june, "MARCUS", "feedback") == (
        "last eye exam Sat 27 Jun (3 days ago); ask how it went"
    )
    assert "feedback" not in codes(june, "FEEDBACKOLD")  # 15 days ago: the window is 2 to 9


# --- prospects -----------------------------------------------------------------------------------


def test_a_prospect_silent_longer_than_the_prospect_cadence_is_overdue(june) -> None:  # type: ignore[no-untyped-def]
    silent = (AS_OF - PROSPECT.since).days  # type: ignore[operator]
    assert silent == 166
    assert explanation(june, "PROSPECT", "cadence_overdue") == (
        f"no personal contact on record in {silent} days; the cadence for prospects is 90 days"
    )
    assert "welcome" not in codes(june, "PROSPECT")  # prospects are not welcomed
    assert "cadence_overdue" not in codes(june, "PROSPECTOK")  # called 60 days ago


# --- drafts --------------------------------------------------------------------------------------


def test_two_clients_get_drafts_written_from_their_own_history(june) -> None:  # type: ignore[no-untyped-def]
    olivia, marcus = june["OLIVIA"], june["MARCUS"]
    # Feedback is each one's only reason, so both drafts come from the same template.
    assert [s["code"] for s in olivia["signals"]] == ["feedback"]
    assert [s["code"] for s in marcus["signals"]] == ["feedback"]
    assert olivia["draft"] != marcus["draft"]
    assert "Olivia" in olivia["draft"] and "massage" in olivia["draft"]
    assert "Marcus" in marcus["draft"] and "eye exam" in marcus["draft"]
    assert "Marcus" not in olivia["draft"] and "eye exam" not in olivia["draft"]
    assert "Olivia" not in marcus["draft"] and "massage" not in marcus["draft"]


# --- the November practice: holidays --------------------------------------------------------------

HOLLY = Client(
    "HOLLY",
    "Holly",
    "Day",
    ((d("2026-09-01"), 80.0, "visit"),),
    (d("2026-10-01"),),
    birthday=d("1980-11-23"),
    since=d("2019-02-02"),
)
IVY = Client(  # nothing but the holidays to say: not a personal action
    "IVY",
    "Ivy",
    "Green",
    ((d("2026-09-10"), 80.0, "visit"),),
    (d("2026-11-16"),),
    since=d("2019-02-02"),
)
GONE = Client(
    "GONE",
    "Gina",
    "Gone",
    ((d("2026-09-01"), 80.0, "visit"),),
    since=d("2019-02-02"),
    status="cancelled",
    cancelled_on=d("2026-10-01"),
)
OCCASIONS = [
    {"month": 11, "day": 22, "name": "Founders Day"},  # in 2 days
    {"month": 12, "day": 15, "name": "Winter Fair"},  # in 25 days: beyond the 10-day lead
]
NOVEMBER_SETUP = [
    ("staff", "add", DANA, "--weekly-quota", "10"),
    ("staff", "add", BACK_OFFICE, "--weekly-quota", "0", "--daily-capacity", "0"),
    ("policy", "set", "occasions", json.dumps(OCCASIONS)),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def november(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Listing]:
    folder = tmp_path_factory.mktemp("november")
    with fresh_db(request, folder) as url:
        yield build(url, folder, [HOLLY, IVY, GONE], NOVEMBER_SETUP, NOVEMBER)


def test_thanksgiving_and_a_custom_occasion_ride_along_as_notes_on_a_card(november) -> None:  # type: ignore[no-untyped-def]
    holly = november["HOLLY"]
    assert [(s["code"], s["explanation"]) for s in holly["signals"]] == [
        ("birthday", "birthday on Mon 23 Nov (in 3 days); turns 46"),
        # the nearer day first: it is more urgent
        ("holiday", "Founders Day on Sun 22 Nov (in 2 days): time for a card"),
        ("holiday", "Thanksgiving Day on Thu 26 Nov (in 6 days): time for a card"),
    ]
    assert holly["channel"] == "card"
    assert "Dear Holly" in holly["draft"]


def test_a_holiday_alone_never_puts_a_client_on_a_personal_list(november) -> None:  # type: ignore[no-untyped-def]
    assert all(
        any(s["code"] != "holiday" for s in a["signals"]) or not a["signals"]
        for a in november.values()
    )
    assert "IVY" not in november  # contacted on Monday: not even a hug


def test_occasions_beyond_the_lead_time_are_not_reasons_yet(november) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(s["explanation"] for a in november.values() for s in a["signals"])
    assert "Winter Fair" not in text and "Christmas" not in text


def test_a_cancelled_client_gets_the_cancellation_not_a_holiday_card(november) -> None:  # type: ignore[no-untyped-def]
    gone = codes(november, "GONE")
    assert "cancellation" in gone and "holiday" not in gone
