"""A deterministic background of ordinary clients around the planted ones.

Clients of varied rhythms (weekly, fortnightly, monthly, quarterly, half-yearly, yearly, and
some gone long ago), with jitter in the visit dates (a weekly client is not exactly every 7
days: a day early or late, a week skipped now and then) and realistic amounts (a base price per
client, a little variation, the odd free visit). A fixed seed makes the practice the same on
every run.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from scenarios.practice import Client, Day, Touch, Visit

_FIRST_NAMES = (
    "Olivia Liam Emma Noah Ava Elijah Sophia James Isabella William Mia Benjamin Charlotte Lucas "
    "Amelia Henry Harper Theodore Evelyn Jack Abigail Levi Emily Alexander Ella Jackson Elizabeth "
    "Mateo Camila Daniel Luna Michael Sofia Mason Avery Sebastian Mila Ethan Aria Logan Scarlett "
    "Owen Penelope Samuel Layla Jacob Chloe Asher Victoria Aiden Madison John Eleanor Joseph Grace "
    "Wyatt Nora David Riley Leo Zoey Luke Hannah Julian Hazel Hudson Lily Grayson Ellie Matthew "
    "Violet Ezra Lillian Gabriel Zoe Carter Stella Isaac Aurora Jayden Natalie Luca Emilia Anthony "
    "Everly Dylan Leah Lincoln Aubrey Thomas Willow Maverick Addison Elias Lucy Josiah Audrey "
    "Charles Bella Caleb Nova Christopher Brooklyn Ezekiel Paisley Miles Savannah Jaxon Claire "
    "Isaiah Skylar Andrew Isla Joshua Genesis Nathan Naomi Nolan Elena Adrian Caroline Cameron "
    "Eliana Santiago Anna Eli Maya Aaron Valentina Ryan Ruby Angel Kennedy Cooper Ivy Waylon"
)
_LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jimenez Müller Dubois Øberg Nakamura "
    "Kowalski O'Brien Zoë-Renée"
)
FIRST = _FIRST_NAMES.split()
LAST = _LAST_NAMES.split()


@dataclass(frozen=True)
class Rhythm:
    name: str
    gap: int  # usual days between visits
    jitter: int  # a visit is up to this many days early or late
    skip: float  # chance a visit is skipped (holidays, a cold)
    price: tuple[int, int]  # base price range in dollars
    kind: str = "visit"


WEEKLY = Rhythm("weekly", 7, 1, 0.08, (35, 70), "session")
FORTNIGHTLY = Rhythm("fortnightly", 14, 2, 0.06, (50, 110), "session")
MONTHLY = Rhythm("monthly", 30, 4, 0.05, (60, 150))
QUARTERLY = Rhythm("quarterly", 91, 10, 0.03, (90, 250))
HALF_YEARLY = Rhythm("half-yearly", 182, 14, 0.0, (120, 300), "review")
YEARLY = Rhythm("yearly", 365, 20, 0.0, (150, 600), "annual review")

BUSY_MIX: Sequence[tuple[Rhythm, float]] = (
    (WEEKLY, 0.15),
    (FORTNIGHTLY, 0.2),
    (MONTHLY, 0.25),
    (QUARTERLY, 0.15),
    (HALF_YEARLY, 0.08),
    (YEARLY, 0.07),
)  # and 10% gone long ago
QUIET_MIX: Sequence[tuple[Rhythm, float]] = (
    (MONTHLY, 0.15),
    (QUARTERLY, 0.3),
    (HALF_YEARLY, 0.2),
    (YEARLY, 0.25),
)  # and 10% gone long ago


def money(rng: random.Random, base: float) -> str:
    if rng.random() < 0.03:
        return "0.00"  # a free visit
    return f"{base * rng.uniform(0.9, 1.12):.2f}"


def visits_between(
    rng: random.Random, rhythm: Rhythm, start: Day, end: Day, base: float
) -> tuple[Visit, ...]:
    out = []
    day = start
    while day <= end:
        if not out or rng.random() >= rhythm.skip:
            out.append(Visit(day, money(rng, base), rhythm.kind))
        day += dt.timedelta(days=rhythm.gap + rng.randint(-rhythm.jitter, rhythm.jitter))
    return tuple(out)


def background(
    seed: int,
    count: int,
    owners: Sequence[str],
    *,
    mix: Sequence[tuple[Rhythm, float]],
    last_visit_by: Day,
    earliest_last_visit: Callable[[Rhythm], Day] | None = None,
    avoid: Callable[[Day], bool] = lambda day: False,
    prefix: str = "BG",
    gone_once: bool = False,
) -> list[Client]:
    """`count` ordinary clients, owned in turn by `owners`, with visits up to `last_visit_by`.

    `earliest_last_visit(rhythm)` moves a client's history later when its last visit would be
    earlier (so that, in a quiet practice, nobody is overdue by accident); `avoid(day)` rejects
    birthdays and first visits whose yearly return falls on such a day (no anniversaries or
    birthdays in a quiet week). Clients gone long ago were regulars who stopped coming, or,
    with `gone_once`, people who came once years ago and never returned.
    """
    rng = random.Random(seed)
    people = []
    for i in range(count):
        owner = owners[i % len(owners)]
        roll = rng.random()
        rhythm, gone = None, False
        for candidate, share in mix:
            if roll < share:
                rhythm = candidate
                break
            roll -= share
        if rhythm is None:  # gone long ago: a regular who stopped coming years ago
            rhythm, gone = rng.choice((FORTNIGHTLY, MONTHLY, QUARTERLY)), True
        base = rng.uniform(*rhythm.price)
        end = last_visit_by - dt.timedelta(days=rng.randint(540, 1400)) if gone else last_visit_by
        start = end - dt.timedelta(days=rng.randint(400, 1800))
        while avoid(start):
            start -= dt.timedelta(days=3)
        visits = visits_between(rng, rhythm, start, end, base)
        if gone and gone_once:
            start = visits[-1].date
            while avoid(start):
                start -= dt.timedelta(days=5)
            visits = (replace(visits[-1], date=start),)
        if earliest_last_visit is not None and not gone:
            late = (earliest_last_visit(rhythm) - visits[-1].date).days
            if late > 0:
                visits = tuple(replace(v, date=v.date + dt.timedelta(days=late)) for v in visits)
                start = visits[0].date
                while avoid(start):  # shifting the history must not bring an anniversary in
                    visits = tuple(replace(v, date=v.date - dt.timedelta(days=1)) for v in visits)
                    start = visits[0].date
        birthday = None
        if rng.random() < 0.5:
            birthday = dt.date(rng.randint(1950, 2001), rng.randint(1, 12), rng.randint(1, 28))
            while avoid(birthday):
                birthday += dt.timedelta(days=11)
        people.append(
            Client(
                id=f"{prefix}{i:03d}",
                first=rng.choice(FIRST),
                last=rng.choice(LAST),
                owner=owner,
                visits=visits,
                birthday=birthday,
                since=start,
                tags=rhythm.name,
            )
        )
    return people


def call_rota(
    people: Sequence[Client], staff: str, days: Sequence[Day], per_day: int
) -> list[Client]:
    """Each working day, `staff` calls `per_day` of their own clients: the ones whose last call
    is the oldest (never-called first, then by id), among those who are clients by that day."""
    mine = [c for c in people if c.owner == staff]
    last: dict[str, Day | None] = {c.id: None for c in mine}
    calls: dict[str, list[Touch]] = {c.id: [] for c in mine}
    for day in days:
        if day.weekday() >= 5:
            continue
        ready = [c for c in mine if c.visits and c.visits[0].date <= day]
        ready.sort(key=lambda c: (last[c.id] or dt.date.min, c.id))
        for c in ready[:per_day]:
            last[c.id] = day
            calls[c.id].append(Touch(day, staff, "call", "Courtesy call"))
    return [
        replace(c, touches=c.touches + tuple(calls[c.id])) if c.owner == staff else c
        for c in people
    ]


def days_from(first: Day, last: Day) -> list[Day]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
