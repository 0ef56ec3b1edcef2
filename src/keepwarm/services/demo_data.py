"""The demo practice's data: three CSV exports a small physio practice's software might
produce (patients, appointments/invoices, contact log), with the headers such software uses
("Patient ID", "Appointment Date", "Recall Date"...). Same seed and same `today` give
byte-identical files. No database here: `keepwarm.services.demo` imports these files.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from faker import Faker

from keepwarm.domain.model import ImportKind

PRACTICE = "Northside Physio & Wellness"
HISTORY_DAYS = 3 * 365
RECENT_DAYS = 120  # the "recent months" in which some clients' usage rose or fell
FILE_NAMES = {
    ImportKind.CLIENTS: "demo-clients.csv",
    ImportKind.ACTIVITIES: "demo-activities.csv",
    ImportKind.TOUCHES: "demo-touches.csv",
}
DAY = dt.timedelta(days=1)
T = TypeVar("T")


@dataclass(frozen=True)
class DemoStaff:
    name: str
    email: str
    weekly_quota: int
    touches_per_year: float  # how often they personally contact each of their clients


DEMO_STAFF = (
    DemoStaff("Dana Reyes", "dana@northside-physio.example", 3, 1.1),
    DemoStaff("Sam Okafor", "sam@northside-physio.example", 2, 0.4),
    DemoStaff("Léa Martin", "lea@northside-physio.example", 2, 0.8),
)


@dataclass(frozen=True)
class _Service:
    gap: int  # usual days between visits
    weight: float  # share of clients on this rhythm
    kind: str
    cents: int


SERVICES = (
    _Service(7, 0.10, "pilates class", 2500),
    _Service(14, 0.15, "massage", 8000),
    _Service(30, 0.22, "treatment", 9500),
    _Service(45, 0.10, "treatment", 9500),
    _Service(91, 0.20, "check-up", 6000),
    _Service(182, 0.13, "check-up", 6000),
    _Service(365, 0.10, "assessment", 14000),
)
PRICES = {s.kind: s.cents for s in SERVICES} | {"consultation": 7500}
PRODUCTS = (("foam roller", 2900), ("kinesiology tape", 1250), ("resistance bands", 1800))
PRICE_LEVELS = (0.8, 1.0, 1.0, 1.0, 1.2, 1.5)  # concession, standard, longer sessions
LOCALES = (("en_US", 0.76), ("es_MX", 0.08), ("fr_FR", 0.06), ("de_DE", 0.05), ("pl_PL", 0.05))
AREA_CODES = ("503", "971", "360")
TAGS = ("runner", "desk worker", "post-surgery", "insurance", "self-pay", "family plan", "senior")
NOTES = (
    "Prefers morning appointments",
    "Training for the Portland marathon",
    "Knee replacement last spring",
    "Brings homemade cookies 🍪",
    "Hard of hearing: call, don't text",
    "Pays by card; insurance through work",
    "Referred by a friend",
)


class Story(StrEnum):
    """What happens to a client over the three years."""

    STEADY = "steady"
    LAPSED = "lapsed"  # a regular who quietly stopped some months ago
    UP = "usage up"
    DOWN = "usage down"
    CANCELLED = "cancelled"  # gave notice a few weeks ago; nobody has called since
    OLD_CANCEL = "cancelled long ago"
    LEFT = "left"  # drifted away long ago
    PROSPECT = "prospect"


STATUS = {Story.PROSPECT: "Prospect", Story.CANCELLED: "Cancelled", Story.OLD_CANCEL: "Cancelled"}
CANCEL_NOTES = {
    Story.CANCELLED: "Emailed to cancel the remaining sessions: found a clinic nearer work",
    Story.OLD_CANCEL: "Moved to Denver for work",
}


@dataclass
class _Client:
    """One planned client, filled in step by step while generating."""

    first: str
    last: str
    email: str | None
    phone: str | None
    address: str
    birthday: dt.date | None
    owner: str | None
    service: _Service
    gap: float
    price: float
    story: Story = Story.STEADY
    start: dt.date = dt.date.min
    since: dt.date = dt.date.min
    end: dt.date = dt.date.min
    cancelled_on: dt.date | None = None
    next_due: dt.date | None = None
    do_not_contact: bool = False
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    id: str = ""
    visits: list[dt.date] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Highlight:
    """A client worth a look in the demo, and why (in words a practice owner uses)."""

    client_id: str
    name: str
    owner: str | None
    why: str


@dataclass(frozen=True)
class DemoFiles:
    clients: Path
    activities: Path
    touches: Path
    highlights: tuple[Highlight, ...]

    def in_import_order(self) -> tuple[tuple[ImportKind, Path], ...]:
        return (
            (ImportKind.CLIENTS, self.clients),
            (ImportKind.ACTIVITIES, self.activities),
            (ImportKind.TOUCHES, self.touches),
        )


# --- generating the practice ------------------------------------------------------------------


class _Maker:
    """Random choices for one practice: one seeded Random plus one seeded Faker per locale."""

    def __init__(self, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.window_start = today - HISTORY_DAYS * DAY
        self.fakers = {loc: Faker(loc) for loc, _ in LOCALES}
        for offset, faker in enumerate(self.fakers.values()):
            faker.seed_instance(seed * 10 + offset)
        local = self.fakers["en_US"]
        self.towns = [(local.city(), local.zipcode_in_state("OR")) for _ in range(5)]
        self.emails: set[str] = set()

    def days(self, low: int, high: int) -> dt.timedelta:
        return self.rng.randint(low, high) * DAY

    def weighted(self, items: Sequence[T], weights: Sequence[float]) -> T:
        return self.rng.choices(items, weights)[0]

    def client(self) -> _Client:
        rng = self.rng
        faker = self.fakers[self.weighted([loc for loc, _ in LOCALES], [w for _, w in LOCALES])]
        first, last = faker.first_name(), faker.last_name()
        service = self.weighted(SERVICES, [s.weight for s in SERVICES])
        return _Client(
            first=first,
            last=last,
            email=self.email(first, last) if rng.random() < 0.87 else None,
            phone=self.phone() if rng.random() < 0.92 else None,
            address=self.address(),
            birthday=self.birthday() if rng.random() < 0.8 else None,
            owner=self.weighted([s.name for s in DEMO_STAFF], (0.45, 0.3, 0.25)),
            service=service,
            gap=service.gap * rng.lognormvariate(0, 0.15),
            price=rng.choice(PRICE_LEVELS),
            tags=sorted(rng.sample(TAGS, rng.choice((0, 1, 1, 2))))
            + (["newsletter"] if rng.random() < 0.4 else []),
            notes=rng.choice(NOTES) if rng.random() < 0.12 else "",
        )

    def email(self, first: str, last: str) -> str:
        base = ".".join(_ascii(part) for part in (first, last)) or "client"
        domain = self.rng.choice(("example.com", "example.org", "example.net"))
        address, n = f"{base}@{domain}", 1
        while address in self.emails:
            n += 1
            address = f"{base}{n}@{domain}"
        self.emails.add(address)
        return address

    def phone(self) -> str:
        area, line = self.rng.choice(AREA_CODES), self.rng.randint(100, 199)
        styles = (f"({area}) 555-0{line}", f"{area}-555-0{line}", f"+1 {area} 555 0{line}")
        return self.rng.choice(styles)

    def address(self) -> str:
        town, zipcode = self.rng.choice(self.towns)
        return f"{self.fakers['en_US'].street_address()}, {town}, OR {zipcode}"

    def birthday(self) -> dt.date:
        age, day_of_year = self.rng.randint(18, 86), self.rng.randint(0, 364)
        # Month and day from a non-leap year, so no one is born on 29 February.
        month_day = dt.date(2001, 1, 1) + day_of_year * DAY
        return month_day.replace(year=self.today.year - age - 1)


def _ascii(text: str) -> str:
    """'Łukasz' -> 'ukasz', 'Émilie' -> 'emilie': the letters an email address would keep."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _open_day(day: dt.date) -> dt.date:
    """The practice is closed on Sundays: a Sunday visit moves back to Saturday."""
    return day - DAY if day.weekday() == 6 else day


def _first_open_day(day: dt.date) -> dt.date:
    """A first visit planned for a Sunday happens on the Monday."""
    return day + DAY if day.weekday() == 6 else day


def _plan_stories(mk: _Maker, people_: list[_Client]) -> None:
    """Give a few regulars a story: lapsed, usage up or down, cancelled; a few others left."""
    frequent = [c for c in people_ if c.service.gap <= 45]
    mk.rng.shuffle(frequent)
    share = len(people_)
    plan = [(Story.CANCELLED, 1), (Story.LAPSED, share // 10)]
    plan += [(Story.UP, share // 16), (Story.DOWN, share // 16)]
    for story, count in plan:
        for client in frequent[:count]:
            client.story = story
        frequent = frequent[count:]
    others = [c for c in people_ if c.story == Story.STEADY]
    mk.rng.shuffle(others)
    others[0].story = Story.OLD_CANCEL
    for client in others[1 : 1 + share // 14]:
        client.story = Story.LEFT
    for client in others[1 + share // 14 :][: share // 40]:
        client.do_not_contact = True


def _plan_span(mk: _Maker, c: _Client) -> None:
    """When the client started, since when they are a client, and their last possible visit."""
    ws, today = mk.window_start, mk.today
    needs_history = c.story in (Story.CANCELLED, Story.LAPSED, Story.UP, Story.DOWN)
    if mk.rng.random() < 0.45:  # a client from before the three years of history
        c.since = ws - mk.days(30, 3650)
        c.start = _first_open_day(ws + mk.days(0, min(int(c.gap), 28)))
    else:
        c.start = c.since = _first_open_day(ws + mk.days(0, 420 if needs_history else 1080))
    c.end = today
    if c.story == Story.LAPSED:
        c.end = today - mk.days(80, 240)
    elif c.story in (Story.CANCELLED, Story.OLD_CANCEL):
        back = (18, 45) if c.story == Story.CANCELLED else (200, 400)
        c.cancelled_on = today - mk.days(*back)
        c.end = c.cancelled_on - mk.days(2, 10)
    elif c.story == Story.LEFT:
        c.end = today - mk.days(400, 800)
        c.start = max(ws, min(c.start, c.end - 4 * int(c.gap) * DAY))
        c.since = min(c.since, c.start)


def _plan_visits(mk: _Maker, c: _Client) -> None:
    """Visits from start to end, each gap drawn around the client's own rhythm."""
    change = {Story.UP: 1 / 1.4, Story.DOWN: 2.0}.get(c.story, 1.0)
    recent = mk.today - RECENT_DAYS * DAY
    day = c.start
    while day <= c.end:
        c.visits.append(max(c.start, _open_day(day)))
        usual = c.gap * (change if day >= recent else 1.0)
        day += max(1, round(mk.rng.gammavariate(8, usual / 8))) * DAY


def _plan_recall(mk: _Maker, c: _Client) -> None:
    if c.story in (Story.CANCELLED, Story.OLD_CANCEL, Story.LEFT) or not c.visits:
        return
    if c.service.gap >= 91:
        c.next_due = c.visits[-1] + c.service.gap * DAY
    elif mk.rng.random() < 0.25:
        c.next_due = c.visits[-1] + 42 * DAY  # treatment-plan review


def _prospect(mk: _Maker) -> _Client:
    c = mk.client()
    c.story, c.owner = Story.PROSPECT, mk.rng.choice([None, DEMO_STAFF[0].name])
    c.start = c.since = c.end = _open_day(mk.today - mk.days(2, 60))
    c.tags = ["web enquiry"]
    if mk.rng.random() < 0.5:
        c.visits = [c.start]
    return c


def _plan_clients(mk: _Maker) -> list[_Client]:
    """About 300 clients with stories and visits, numbered P-1001... in joining order."""
    planned = [mk.client() for _ in range(292 + mk.rng.randint(0, 16))]
    _plan_stories(mk, planned)
    for c in planned:
        _plan_span(mk, c)
        _plan_visits(mk, c)
        _plan_recall(mk, c)
    planned += [_prospect(mk) for _ in range(6 + mk.rng.randint(0, 4))]
    planned.sort(key=lambda c: c.since)
    for number, c in enumerate(planned, start=1001):
        c.id = f"P-{number}"
    return planned


def _plant_a_family_and_a_duplicate(planned: list[_Client], seed: int) -> None:
    """Two steady clients become a family (one address, one last name, not yet marked as a
    household) and one person is entered twice (the second record with an initial for a
    first name and the same phone), so the demo's Households and Duplicates pages have
    something to show. Its own Random: everything else stays as the seed made it."""
    rng = random.Random(seed * 7 + 15)
    steady = [c for c in planned if c.story is Story.STEADY]
    a, b = rng.sample(steady, 2)
    b.last, b.address = a.last, a.address
    # no birthdays: a duplicate needs the same one, and a new birthday would add a card
    unborn = [c for c in steady if c.birthday is None and c.phone and c not in (a, b)]
    c, d = rng.sample(unborn, 2)
    d.first, d.last, d.phone = c.first[0] + ".", c.last, c.phone


# --- rows ---------------------------------------------------------------------------------------


def _client_row(c: _Client) -> list[str]:
    return [
        c.id,
        c.first,
        c.last,
        c.email or "",
        c.phone or "",
        c.address,
        _iso(c.birthday),
        _iso(c.since),
        c.owner or "",
        ";".join(c.tags),
        STATUS.get(c.story, "Active"),
        _iso(c.cancelled_on),
        _iso(c.next_due),
        "Yes" if c.do_not_contact else "",
        CANCEL_NOTES.get(c.story, c.notes),
    ]


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _activity_rows(mk: _Maker, c: _Client) -> list[tuple[Any, ...]]:
    """(date, client id, amount, quantity, kind, note) for each visit, with the odd free
    follow-up, product bought on the day, and refund."""
    rng, rows = mk.rng, []
    for day in c.visits:
        kind = c.service.kind if rng.random() < 0.88 else rng.choice(list(PRICES))
        cents = round(PRICES[kind] * c.price / 50) * 50
        if rng.random() < 0.04:
            kind, cents = "follow-up check", 0
        if c.story == Story.PROSPECT:
            kind, cents = "consultation", 0  # the free first consultation
        rows.append((day, c.id, cents, "", kind, ""))
        if rng.random() < 0.05:
            product, price = rng.choice(PRODUCTS)
            quantity = rng.choice((1, 1, 2))
            rows.append((day, c.id, price * quantity, str(quantity), "product", product))
        if cents > 0 and rng.random() < 0.004:
            refund_day = min(day + mk.days(0, 7), mk.today)
            rows.append((refund_day, c.id, -cents, "", "refund", "Late cancellation refunded"))
    return rows


_CHANNELS = (("Phone call", 0.45), ("Email", 0.25), ("Text", 0.15), ("Card", 0.15))
_TOUCH_NOTES = {
    "Phone call": ("Checked in after last session", "Asked how the back is holding up"),
    "Email": ("Sent home exercise plan", "Followed up on last visit"),
    "Text": ("Thanks for coming in", "Reminder to book next visit"),
    "Card": ("Thank-you card", "Get-well card"),
}
_OUTCOMES = {"Phone call": (("reached", 0.6), ("left_message", 0.3), ("no_answer", 0.1))}


def _touch_rows(mk: _Maker, c: _Client) -> list[tuple[Any, ...]]:
    """(date, client id, channel, staff, note, outcome): personal contacts by staff."""
    if c.story == Story.PROSPECT:
        return _prospect_touches(c)
    if c.do_not_contact:
        return []
    rows, rng = [], mk.rng
    until = min(mk.today, c.end + 60 * DAY)
    if c.cancelled_on:
        until = c.cancelled_on - DAY
    rate = next(s.touches_per_year for s in DEMO_STAFF if s.name == c.owner)
    month = c.start
    while month + 30 * DAY <= until:
        if rng.random() < rate / 12:
            rows.append(_one_touch(mk, c, month + mk.days(0, 29)))
        month += 30 * DAY
    rows += _birthday_cards(mk, c, until)
    if c.story == Story.OLD_CANCEL and c.cancelled_on:
        note = "Called after the notice: moving away, happy with the care here"
        rows.append((c.cancelled_on + 3 * DAY, c.id, "Phone call", c.owner, note, "reached"))
    return rows


def _one_touch(mk: _Maker, c: _Client, day: dt.date) -> tuple[Any, ...]:
    rng = mk.rng
    channel = mk.weighted([ch for ch, _ in _CHANNELS], [w for _, w in _CHANNELS])
    staff = c.owner if rng.random() < 0.85 else rng.choice(DEMO_STAFF).name
    outcomes = _OUTCOMES.get(channel)
    outcome = mk.weighted([o for o, _ in outcomes], [w for _, w in outcomes]) if outcomes else ""
    return (_open_day(day), c.id, channel, staff, rng.choice(_TOUCH_NOTES[channel]), outcome)


def _birthday_cards(mk: _Maker, c: _Client, until: dt.date) -> list[tuple[Any, ...]]:
    if not c.birthday or c.owner != DEMO_STAFF[0].name or mk.rng.random() < 0.4:
        return []
    cards = []
    for year in range(c.start.year, until.year + 1):
        day = c.birthday.replace(year=year) - 3 * DAY  # posted a few days before
        if c.start <= day <= until:
            cards.append((day, c.id, "Card", c.owner, "Birthday card", ""))
    return cards


def _prospect_touches(c: _Client) -> list[tuple[Any, ...]]:
    note = "Enquired about back pain; sent the price list"
    taken_by = c.owner or DEMO_STAFF[0].name  # an unassigned enquiry reaches the front desk
    return [(c.since, c.id, "Phone call", taken_by, note, "interested")]


def _newsletter_rows(mk: _Maker, planned: list[_Client]) -> list[tuple[Any, ...]]:
    """Four quarterly newsletters to the clients who asked for them: bulk, not personal."""
    rows = []
    for quarter in range(4):
        day = _open_day(mk.today - (40 + 91 * quarter) * DAY)
        season = ("Winter", "Spring", "Summer", "Autumn")[(day.month % 12) // 3]
        for c in planned:
            wants = "newsletter" in c.tags and c.email and not c.do_not_contact
            if wants and c.since <= day and (c.cancelled_on or mk.today) > day:
                rows.append((day, c.id, "Newsletter", "", f"{season} newsletter", ""))
    return rows


# --- highlights ---------------------------------------------------------------------------------


def _median_gap(visits: list[dt.date]) -> float:
    return statistics.median((b - a).days for a, b in itertools.pairwise(visits))


def _change(c: _Client, today: dt.date) -> float:
    """Recent visit rate against the year before it, as a fraction (+0.4 is 40% more)."""
    recent = sum(d > today - RECENT_DAYS * DAY for d in c.visits) / RECENT_DAYS
    before_start = today - (RECENT_DAYS + 365) * DAY
    before = sum(before_start < d <= today - RECENT_DAYS * DAY for d in c.visits) / 365
    return recent / before - 1 if before else 0.0


def _regular(gap: float) -> str:
    """'Weekly regular' for a usual gap of about a week, and so on."""
    for limit, word in ((9, "Weekly"), (17, "Fortnightly"), (35, "Monthly")):
        if gap <= limit:
            return f"{word} regular"
    return f"Came every {gap:.0f} days"


def _say_date(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _highlights(mk: _Maker, planned: list[_Client]) -> list[Highlight]:
    today = mk.today
    by_story = {s: [c for c in planned if c.story == s] for s in Story}
    cancelled = by_story[Story.CANCELLED][0]
    assert cancelled.cancelled_on is not None
    lapsed = min(by_story[Story.LAPSED], key=lambda c: (_median_gap(c.visits), c.id))
    usual, silent = _median_gap(lapsed.visits), (today - lapsed.visits[-1]).days
    up = max(by_story[Story.UP], key=lambda c: (_change(c, today), c.id))
    down = min(by_story[Story.DOWN], key=lambda c: (_change(c, today), c.id))
    out = [
        (cancelled, f"Cancelled {(today - cancelled.cancelled_on).days} days ago, not called"),
        (lapsed, f"{_regular(usual)}; none for {silent} days"),
        (up, f"Visits up {_change(up, today):.0%} in 4 months"),
        (down, f"Visits down {-_change(down, today):.0%} in 4 months"),
        *_soon(mk, by_story[Story.STEADY]),
    ]
    return [Highlight(c.id, c.name, c.owner, why) for c, why in out]


def _soon(mk: _Maker, steady: list[_Client]) -> list[tuple[_Client, str]]:
    """A birthday and a recall coming up: planted if chance did not bring one."""
    today = mk.today
    contactable = [c for c in steady if not c.do_not_contact and c.visits]
    due = [c for c in contactable if c.next_due and today < c.next_due <= today + 14 * DAY]
    recall = min(due, key=lambda c: (c.next_due, c.id)) if due else None
    if recall is None:
        recall = next(c for c in contactable if c.service.gap >= 91)
        recall.next_due = today + mk.days(3, 12)
    birthday = mk.rng.choice([c for c in contactable if c is not recall])
    soon = today + mk.days(4, 12)
    if (soon.month, soon.day) == (2, 29):
        soon += DAY
    birthday.birthday = soon.replace(year=soon.year - mk.rng.randint(30, 70))
    assert recall.next_due is not None
    return [
        (birthday, f"Birthday on {_say_date(soon)}"),
        (recall, f"{recall.service.kind.capitalize()} due on {_say_date(recall.next_due)}"),
    ]


# --- writing the files --------------------------------------------------------------------------

# The headers a practice system's exports might carry: keepwarm matches them by alias.
CLIENT_HEADER = (
    "Patient ID",
    "First Name",
    "Last Name",
    "Email",
    "Mobile",
    "Address",
    "Date of Birth",
    "Patient Since",
    "Provider",
    "Tags",
    "Status",
    "Cancellation Date",
    "Recall Date",
    "Do Not Contact",
    "Notes",
)
ACTIVITY_HEADER = (
    "Invoice Number",
    "Patient ID",
    "Appointment Date",
    "Service",
    "Amount",
    "Qty",
    "Notes",
)
TOUCH_HEADER = ("Patient ID", "Date", "Type", "Staff", "Notes", "Outcome")


def _write(path: Path, header: Sequence[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def generate_practice(folder: Path, *, seed: int, today: dt.date) -> DemoFiles:
    """Write demo-clients.csv, demo-activities.csv and demo-touches.csv into `folder`.

    About 300 clients of a physio practice over the three years before `today`, with rhythms
    from weekly to yearly, each their own spend, and the cases keepwarm exists for. Pure apart
    from writing the files: the same `seed` and `today` give byte-identical files.
    """
    mk = _Maker(seed, today)
    planned = _plan_clients(mk)
    _plant_a_family_and_a_duplicate(planned, seed)
    highlights = _highlights(mk, planned)
    visits = sorted(row for c in planned for row in _activity_rows(mk, c))
    activity_rows = [
        [f"INV-{n}", cid, d.isoformat(), kind, _money(cents), qty, note]
        for n, (d, cid, cents, qty, kind, note) in enumerate(visits, start=100001)
    ]
    contacts = [row for c in planned for row in _touch_rows(mk, c)]
    contacts = sorted(contacts + _newsletter_rows(mk, planned))
    touch_rows = [[cid, d.isoformat(), *rest] for d, cid, *rest in contacts]
    client_rows = [_client_row(c) for c in planned]
    return DemoFiles(
        clients=_write(folder / FILE_NAMES[ImportKind.CLIENTS], CLIENT_HEADER, client_rows),
        activities=_write(
            folder / FILE_NAMES[ImportKind.ACTIVITIES], ACTIVITY_HEADER, activity_rows
        ),
        touches=_write(folder / FILE_NAMES[ImportKind.TOUCHES], TOUCH_HEADER, touch_rows),
        highlights=tuple(highlights),
    )


# --- building the database ----------------------------------------------------------------------
