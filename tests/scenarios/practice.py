"""Writing a practice as CSV files and living through its week with the real CLI.

A practice is a list of `Client`s (each with their whole history: visits and personal
touches, some of them dated inside the simulated week) plus a few events (a clients file
re-imported on a given evening). `live_week` brings it in through `keepwarm import`, then,
day by day, runs `keepwarm run-daily --as-of DAY`, reads `keepwarm today --as-of DAY --format
json`, lets the members of staff who use keepwarm mark their actions done
(`keepwarm done ID --on DAY`), and in the evening imports what happened that day (the day's
visits and the calls staff logged in the practice software).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import Cli, pg_schema

Day = dt.date


@dataclass(frozen=True)
class Visit:
    date: Day
    amount: str  # dollars and cents, as the export writes them
    kind: str = "visit"


@dataclass(frozen=True)
class Touch:
    date: Day
    staff: str
    channel: str = "call"
    note: str = "Checked in"


@dataclass(frozen=True)
class Client:
    id: str
    first: str
    last: str
    owner: str
    visits: tuple[Visit, ...] = ()
    touches: tuple[Touch, ...] = ()
    birthday: Day | None = None
    since: Day | None = None
    status: str = "active"
    next_due: Day | None = None
    cancelled_on: Day | None = None
    do_not_contact: bool = False
    tags: str = ""

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


CLIENT_HEADER = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "birthday",
    "since",
    "owner",
    "tags",
    "status",
    "cancelled_on",
    "next_due",
    "do_not_contact",
]


def _iso(day: Day | None) -> str:
    return day.isoformat() if day else ""


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_clients(path: Path, people: Iterable[Client]) -> Path:
    rows = [CLIENT_HEADER]
    for n, c in enumerate(people):
        rows.append(
            [
                c.id,
                c.first,
                c.last,
                f"{c.first}.{c.last}.{c.id}".lower().replace(" ", "") + "@example.com",
                f"(415) 555-{1000 + n:04d}",
                f"{10 + n} Elm Street, Springfield",
                _iso(c.birthday),
                _iso(c.since),
                c.owner,
                c.tags,
                c.status,
                _iso(c.cancelled_on),
                _iso(c.next_due),
                "yes" if c.do_not_contact else "no",
            ]
        )
    return _write(path, rows)


def write_activities(
    path: Path, people: Iterable[Client], keep: Callable[[Day], bool]
) -> Path | None:
    rows = [["id", "client_id", "date", "amount", "kind"]]
    for c in people:
        for n, v in enumerate(c.visits):
            if keep(v.date):
                rows.append([f"{c.id}-{n}", c.id, v.date.isoformat(), v.amount, v.kind])
    return _write(path, rows) if len(rows) > 1 else None


def write_touches(path: Path, people: Iterable[Client], keep: Callable[[Day], bool]) -> Path | None:
    rows = [["client_id", "date", "channel", "staff", "note", "outcome"]]
    for c in people:
        for t in c.touches:
            if keep(t.date):
                rows.append([c.id, t.date.isoformat(), t.channel, t.staff, t.note, "reached"])
    return _write(path, rows) if len(rows) > 1 else None


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


@dataclass
class Week:
    """What the practice saw, day by day."""

    days: list[Day]
    plans: dict[Day, dict[str, Any]] = field(default_factory=dict)  # today --format json
    done: dict[Day, list[dict[str, Any]]] = field(default_factory=dict)  # actions marked done
    quota: dict[Day, dict[str, Any]] = field(default_factory=dict)  # quota before the plan
    reread: dict[str, Any] = field(default_factory=dict)  # lists read again after the week

    def actions(self, day: Day, staff: str | None = None) -> list[dict[str, Any]]:
        out = [a for a in self.plans[day]["actions"] if staff is None or a["staff"] == staff]
        return sorted(out, key=lambda a: (a["staff"] or "", a["rank"]))

    def action(self, day: Day, client_id: str) -> dict[str, Any] | None:
        found = [a for a in self.plans[day]["actions"] if a["client"]["id"] == client_id]
        assert len(found) <= 1, f"{client_id} has {len(found)} actions on {day}"
        return found[0] if found else None

    def codes(self, day: Day, client_id: str) -> list[str]:
        action = self.action(day, client_id)
        assert action is not None, f"{client_id} is not on the list of {day}: {self.summary(day)}"
        return [s["code"] for s in action["signals"]]

    def waiting(self, day: Day, staff: str) -> int:
        return int(self.plans[day].get("waiting", {}).get(staff, 0))

    def summary(self, day: Day) -> str:
        """The day's lists in one line, for failure messages."""
        return "; ".join(
            f"{a['staff']}#{a['rank']} {a['client']['id']}"
            f"({','.join(s['code'] for s in a['signals']) or 'hug'})"
            for a in self.actions(day)
        )


@dataclass(frozen=True)
class Practice:
    """A practice and how its week goes: who uses keepwarm to mark actions done, and what
    arrives on which evening besides the day's visits and logged calls."""

    name: str
    clients: tuple[Client, ...]
    days: tuple[Day, ...]
    staff_commands: tuple[tuple[str, ...], ...] = ()  # run before the imports
    before_plans: tuple[tuple[str, ...], ...] = ()  # run after the imports, before day one
    marks_done: frozenset[str] = frozenset()  # staff who mark their day's actions done...
    puts_off: frozenset[str] = frozenset()  # ...except these clients' (hard calls put off)
    evening_clients: dict[Day, tuple[Client, ...]] = field(default_factory=dict)
    quota_days: tuple[Day, ...] = ()

    def everyone(self) -> tuple[Client, ...]:
        """The clients and those who arrive in an evening's clients file (their histories)."""
        known = {c.id for c in self.clients}
        later = [c for cs in self.evening_clients.values() for c in cs if c.id not in known]
        return (*self.clients, *later)


def live_week(
    url: str,
    folder: Path,
    practice: Practice,
    setup: Callable[[str], None] | None = None,
    daily: tuple[str, ...] = (),
) -> Week:
    """Bring the practice in as it was the evening before its first day, then live the week.
    `setup(url)` runs after the imports, before day one (e.g. to plant reminders); `daily`:
    more options for every `run-daily`."""
    cli = Cli(url)
    ok(cli("init"))
    for args in practice.staff_commands:
        ok(cli(*args))
    first = practice.days[0]
    people = practice.everyone()
    ok(cli("import", "clients", str(write_clients(folder / "clients.csv", practice.clients))))
    history = write_activities(folder / "activities.csv", people, lambda d: d < first)
    assert history is not None
    ok(cli("import", "activities", str(history)))
    touched = write_touches(folder / "touches.csv", people, lambda d: d < first)
    if touched is not None:
        ok(cli("import", "touches", str(touched)))
    for args in practice.before_plans:
        ok(cli(*args))
    if setup is not None:
        setup(url)
    week = Week(list(practice.days))
    for day in practice.days:
        if day in practice.quota_days:
            shown = ok(cli("quota", "--week", day.isoformat(), "--format", "json")).output
            week.quota[day] = json.loads(shown)
        ok(cli("run-daily", "--as-of", day.isoformat(), *daily))
        week.plans[day] = read_list(cli, day)
        week.done[day] = []
        for action in week.plans[day]["actions"]:
            if (
                action["staff"] in practice.marks_done
                and action["client"]["id"] not in practice.puts_off
            ):
                ok(
                    cli(
                        "done",
                        str(action["id"]),
                        "--on",
                        day.isoformat(),
                        "--channel",
                        "call",
                        "--outcome",
                        "reached",
                        "--note",
                        "Spoke with them",
                    )
                )
                week.done[day].append(action)
        evening(cli, folder, practice, day)
    last = practice.days[-1]
    week.reread["last_before"] = read_list(cli, last)
    week.reread["first"] = read_list(cli, first)
    week.reread["last_after"] = read_list(cli, last)
    return week


def evening(cli: Cli, folder: Path, practice: Practice, day: Day) -> None:
    """What the practice software exports at the end of `day`."""
    stem = folder / day.isoformat()
    changed = practice.evening_clients.get(day)
    if changed:
        ok(cli("import", "clients", str(write_clients(stem.with_suffix(".clients.csv"), changed))))
    people = practice.everyone()
    visits = write_activities(stem.with_suffix(".activities.csv"), people, lambda d: d == day)
    if visits is not None:
        ok(cli("import", "activities", str(visits)))
    calls = write_touches(stem.with_suffix(".touches.csv"), people, lambda d: d == day)
    if calls is not None:
        ok(cli("import", "touches", str(calls)))


def read_list(cli: Cli, day: Day) -> dict[str, Any]:
    listed = json.loads(ok(cli("today", "--as-of", day.isoformat(), "--format", "json")).output)
    assert listed["as_of"] == day.isoformat()
    ids = [a["client"]["id"] for a in listed["actions"]]
    assert len(ids) == len(set(ids)), f"one action per client on {day}: {ids}"
    return listed


@contextmanager
def fresh_db(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """A new empty database on the fixture's backend (its param), for as long as the block
    runs."""
    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'keepwarm.db'}"
        return
    with pg_schema(request.getfixturevalue("pg_admin"), "kwscn_") as url:
        yield url


def weekdays(monday: Day, count: int = 5) -> tuple[Day, ...]:
    assert monday.weekday() == 0
    return tuple(monday + dt.timedelta(days=i) for i in range(count))


def names_of(actions: Sequence[dict[str, Any]]) -> list[str]:
    return [a["client"]["id"] for a in actions]
