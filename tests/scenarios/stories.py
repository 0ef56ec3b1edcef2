"""The two practices of the scenario suite, with their planted stories.

BUSY: a physiotherapy and wellness practice the week before Thanksgiving (Mon 16 - Fri 20
November 2026), three members of staff (created by the clients import, as owners) who make
about ten courtesy calls a week each, logged in the practice software and imported every
evening. All three work through their keepwarm list every day, but Ben keeps putting off his
two hard calls (María, silent for four months, and Paul, who gave notice).

QUIET: a small optician and vision-therapy practice, a quiet week in September (Mon 21 - Fri 25
September 2026, after the summer lull: only one weekly regular still comes), two members of
staff added with `keepwarm staff add`, no calls this week, few reasons to call: the weekly
habit has to come from "hugs". Its lists have room, so a wrong reason would show.

Default settings everywhere: no `policy set`.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

from scenarios.generate import (
    BUSY_MIX,
    HALF_YEARLY,
    MONTHLY,
    QUARTERLY,
    QUIET_MIX,
    YEARLY,
    Rhythm,
    background,
    call_rota,
    days_from,
)
from scenarios.practice import Client, Day, Practice, Touch, Visit, weekdays


def d(text: str) -> Day:
    return dt.date.fromisoformat(text)


def regular(
    seed: str, start: Day, end: Day, gap: int, price: float, kind: str = "session", jitter: int = 1
) -> tuple[Visit, ...]:
    """Visits about every `gap` days (a day or two early or late) from `start` to `end`."""
    rng = random.Random(seed)
    out = []
    day = start
    while day <= end:
        out.append(Visit(day, f"{price * rng.uniform(0.95, 1.05):.2f}", kind))
        day += dt.timedelta(days=gap + rng.randint(-jitter, jitter))
    return tuple(out)


# --- BUSY --------------------------------------------------------------------------------------

ANA, BEN, CLEO = "Ana Silva", "Ben Okafor", "Cleo Park"
BUSY_WEEK = weekdays(d("2026-11-16"))
MON, TUE, WED, THU, FRI = BUSY_WEEK
SUNDAY = MON - dt.timedelta(days=1)
THANKSGIVING = d("2026-11-26")

# Ana's book
LETTER = Client(  # termination letter five weeks ago; nobody has called since
    "P-LETTER",
    "Margaret",
    "Olsen",
    ANA,
    regular("letter", d("2023-03-01"), d("2026-10-02"), 30, 95.0, "massage", 3),
    (Touch(d("2026-03-10"), ANA),),
    since=d("2023-03-01"),
    status="cancelled",
    cancelled_on=MON - dt.timedelta(days=35),
)
UP = Client(  # fortnightly for two years, weekly for the last four months
    "P-UP",
    "Uma",
    "Upton",
    ANA,
    regular("up1", d("2024-05-06"), d("2026-07-13"), 14, 60.0)
    + regular("up2", d("2026-07-20"), FRI, 7, 60.0),
    (Touch(d("2026-09-15"), ANA),),
    since=d("2024-05-06"),
)
CHECK_UP = Client(  # a check-up every six months, the next one due on Friday
    "P-CHECKUP",
    "Carlos",
    "Mendes",
    ANA,
    (
        Visit(d("2023-09-04"), "140.00", "treatment"),
        Visit(d("2023-11-20"), "85.00", "check-up"),
        Visit(d("2024-05-21"), "85.00", "check-up"),
        Visit(d("2024-11-19"), "0.00", "check-up"),
        Visit(d("2025-05-20"), "85.00", "check-up"),
        Visit(d("2025-11-21"), "90.00", "check-up"),
        Visit(d("2026-05-22"), "90.00", "check-up"),
    ),
    (Touch(d("2026-08-10"), ANA),),
    since=d("2023-09-04"),
    next_due=d("2026-05-22") + dt.timedelta(days=182),  # the same recall, written in the file
)
NEWBIE = Client(  # first visit last Wednesday, nobody has called her
    "P-NEW", "Nina", "Novák", ANA, (Visit(d("2026-11-11"), "120.00", "first consultation"),)
)
STEADY = Client(  # every week for years; Ana called him yesterday (Sunday)
    "P-STEADY",
    "Walter",
    "Brennan",
    ANA,
    regular("steady", d("2023-01-10"), FRI, 7, 45.0),
    (Touch(d("2026-06-01"), ANA),),
    since=d("2023-01-10"),
)
YEARLY_CLIENT = Client(  # an annual review every July; seen four months ago
    "P-YEARLY",
    "Yvonne",
    "Yates",
    ANA,
    tuple(Visit(d(f"{y}-07-{10 + y % 7}"), "450.00", "annual review") for y in range(2021, 2027)),
    (Touch(d("2026-09-20"), ANA),),
    since=d("2021-07-15"),
)
DO_NOT_CONTACT = Client(  # every reason to call: gone quiet, recall due, birthday, never called
    "P-DNC",
    "Quentin",
    "Hale",
    ANA,
    regular("dnc", d("2023-02-01"), d("2026-07-10"), 15, 110.0, "physio session", 2),
    birthday=d("1979-11-18"),
    since=d("2023-02-01"),
    next_due=MON + dt.timedelta(days=3),
    do_not_contact=True,
)
WEDNESDAY_LETTER = Client(  # a fortnightly regular whose letter arrives on Wednesday
    "P-WEDLETTER",
    "Frank",
    "Weber",
    ANA,
    regular("wed", d("2022-06-01"), d("2026-11-12"), 14, 75.0, "massage", 2),
    (Touch(d("2026-10-28"), ANA),),
    since=d("2022-06-01"),
)

# Ben's book (Ben never opens keepwarm)
PATIENT = Client(  # twice a month for three and a half years, silent since mid-July
    "P-PATIENT",
    "María",
    "González",
    BEN,
    regular("patient", d("2023-01-10"), d("2026-07-14"), 15, 120.0, "physio session", 2),
    (Touch(d("2026-04-02"), BEN),),
    since=d("2023-01-10"),
)
NOTICE = Client(  # gave notice: leaves at the end of the year
    "P-NOTICE",
    "Paul",
    "Harbor",
    BEN,
    regular("notice", d("2022-01-05"), d("2026-11-05"), 30, 900.0, "team program", 3),
    (Touch(d("2026-09-30"), BEN),),
    since=d("2022-01-05"),
    cancelled_on=d("2026-12-31"),
)
FARAWAY = Client(  # bought once 13 months ago, got a thank-you gift, then silence
    "P-FARAWAY",
    "Lena",
    "Fischer",
    BEN,
    (Visit(d("2025-10-14"), "9500.00", "purchase"),),
    (Touch(d("2025-10-16"), BEN, "gift", "Thank-you gift basket"),),
    since=d("2025-10-14"),
)
DOWN = Client(  # weekly for two years, fortnightly for the last five months
    "P-DOWN",
    "Dan",
    "Downey",
    BEN,
    regular("down1", d("2024-04-01"), d("2026-06-15"), 7, 55.0)
    + regular("down2", d("2026-06-29"), FRI, 14, 55.0),
    (Touch(d("2026-09-10"), BEN),),
    since=d("2024-04-01"),
)
# Cleo's book: nine big weekly accounts gone quiet, a trial member who cancelled
BIG_NAMES = [
    ("Grace", "Whitfield"),
    ("Henry", "Castellano"),
    ("Irene", "Kovacs"),
    ("Jonas", "Lindqvist"),
    ("Keiko", "Tanaka"),
    ("Louis", "Moreau"),
    ("Marta", "Nowak"),
    ("Nadia", "Petrova"),
    ("Oscar", "Quintero"),
]
BIG = [
    Client(
        f"P-BIG{i + 1}",
        first,
        last,
        CLEO,
        regular(
            f"big{i}",
            d("2023-02-06") + dt.timedelta(days=3 * i),
            MON - dt.timedelta(days=45 + 4 * i),
            7,
            180.0 + 5 * i,
            "personal training",
        ),
        (Touch(d("2026-08-03") + dt.timedelta(days=i), CLEO),),
        since=d("2023-02-06") + dt.timedelta(days=3 * i),
    )
    for i, (first, last) in enumerate(BIG_NAMES)
]
DROPOUT = Client(  # one trial class, then an email cancelling last Friday
    "P-DROPOUT",
    "Tina",
    "Trial",
    CLEO,
    (Visit(d("2026-10-26"), "25.00", "trial class"),),
    since=d("2026-10-26"),
    status="cancelled",
    cancelled_on=MON - dt.timedelta(days=3),
)
NEWCOMER = Client(  # registers and comes for the first time on Monday
    "P-NEWCOMER", "Omar", "Haddad", CLEO, (Visit(MON, "140.00", "first session"),)
)

BUSY_PLANTED = [
    LETTER,
    UP,
    CHECK_UP,
    NEWBIE,
    STEADY,
    YEARLY_CLIENT,
    DO_NOT_CONTACT,
    WEDNESDAY_LETTER,
    PATIENT,
    NOTICE,
    FARAWAY,
    DOWN,
    *BIG,
    DROPOUT,
]
CALLS_PER_DAY = 2  # about ten courtesy calls a week each


def busy_practice() -> Practice:
    people = background(
        seed=20261116, count=210, owners=(ANA, BEN, CLEO), mix=BUSY_MIX, last_visit_by=FRI
    )
    for staff in (ANA, BEN, CLEO):  # half a year of courtesy calls, and this week's
        people = call_rota(
            people, staff, days_from(MON - dt.timedelta(days=182), FRI), CALLS_PER_DAY
        )
    letter = replace(WEDNESDAY_LETTER, status="cancelled", cancelled_on=WED)
    return Practice(
        name="busy",
        clients=(*BUSY_PLANTED, *people),
        days=BUSY_WEEK,
        before_plans=(
            ("touch", STEADY.id, "--date", SUNDAY.isoformat(), "--staff", ANA, "--channel", "call"),
        ),
        marks_done=frozenset({ANA, BEN, CLEO}),
        puts_off=frozenset({PATIENT.id, NOTICE.id}),
        evening_clients={MON: (NEWCOMER,), WED: (letter,)},
        quota_days=(THU, FRI),
    )


# --- QUIET -------------------------------------------------------------------------------------

QUINN, ROSA = "Quinn Adler", "Rosa Blanco"
QUIET_WEEK = weekdays(d("2026-09-21"))
QUIET_LEAD = 14  # no anniversaries or birthdays within a fortnight of the week


def in_quiet_window(day: Day) -> bool:
    """A yearly date falling near the quiet week (so background clients have no occasion)."""
    this_year = day.replace(year=2026) if (day.month, day.day) != (2, 29) else None
    if this_year is None:
        return False
    return (
        QUIET_WEEK[0] - dt.timedelta(days=3)
        <= this_year
        <= QUIET_WEEK[-1] + dt.timedelta(days=QUIET_LEAD)
    )


CLOSED_FROM = d("2026-09-05")  # the summer lull: the background's last visits are before it


def settled(rhythm: Rhythm) -> Day:
    """The latest a quiet client's last visit may be: recent enough for their rhythm."""
    weeks = {MONTHLY.name: 3, QUARTERLY.name: 7, HALF_YEARLY.name: 12, YEARLY.name: 26}
    return CLOSED_FROM - dt.timedelta(weeks=weeks.get(rhythm.name, 1))


RECALL = Client(  # Quinn's only reason this week: a recall date in the file, next week
    "Q-RECALL",
    "Irene",
    "Vogel",
    QUINN,
    (
        Visit(d("2022-10-12"), "120.00", "eye exam"),
        Visit(d("2023-10-05"), "95.00", "eye exam"),
        Visit(d("2024-10-10"), "95.00", "eye exam"),
        Visit(d("2025-10-08"), "310.00", "eye exam"),
    ),
    (Touch(d("2026-06-10"), QUINN),),
    since=d("2022-10-12"),
    next_due=d("2026-09-30"),
)
QUIET_DNC = Client(  # never called in years (the first "hug" there would be), do-not-contact
    "Q-DNC",
    "Hugo",
    "Stern",
    ROSA,
    (Visit(d("2019-03-04"), "80.00", "eye exam"), Visit(d("2020-02-11"), "80.00", "eye exam")),
    since=d("2019-03-04"),
    do_not_contact=True,
)
QUIET_YEARLY = Client(  # an annual fitting every May; seen four months ago
    "Q-YEARLY",
    "Yara",
    "Lindgren",
    ROSA,
    tuple(Visit(d(f"{y}-05-{18 + y % 5}"), "240.00", "annual fitting") for y in range(2020, 2027)),
    (Touch(d("2026-06-15"), ROSA),),
    since=d("2020-05-18"),
)
QUIET_STEADY = Client(  # the one weekly regular (rehab for his shoulder); Rosa called him Sunday
    "Q-STEADY",
    "Karl",
    "Keller",
    ROSA,
    regular("qsteady", d("2024-03-04"), QUIET_WEEK[-1], 7, 65.0, "rehab session"),
    (Touch(d("2026-05-02"), ROSA), Touch(QUIET_WEEK[0] - dt.timedelta(days=1), ROSA)),
    since=d("2024-03-04"),
)
QUIET_PLANTED = [RECALL, QUIET_DNC, QUIET_YEARLY, QUIET_STEADY]


def quiet_practice() -> Practice:
    people = background(
        seed=20260921,
        count=150,
        owners=(QUINN, ROSA),
        mix=QUIET_MIX,
        last_visit_by=CLOSED_FROM - dt.timedelta(days=1),
        earliest_last_visit=settled,
        avoid=in_quiet_window,
        prefix="QB",
        gone_once=True,
    )
    rng = random.Random(92126)
    people = [  # everyone had a call or a card in the last half year, none this week
        replace(
            c,
            touches=(
                Touch(
                    QUIET_WEEK[0] - dt.timedelta(days=rng.randint(20, 170)),
                    c.owner,
                    rng.choice(("call", "card")),
                ),
            ),
        )
        for c in people
    ]
    return Practice(
        name="quiet",
        clients=(*QUIET_PLANTED, *people),
        days=QUIET_WEEK,
        staff_commands=(("staff", "add", QUINN), ("staff", "add", ROSA)),
        marks_done=frozenset({QUINN, ROSA}),
    )
