"""The week ahead for one member of staff (or everyone): day by day, the recalls due, the
birthdays and other occasions, the reminders set and the snoozed actions coming back, and on
today, the open list. The week view and the calendar feed are both made from it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine

from keepwarm.messaging.calendar import CalendarItem
from keepwarm.services.todays_list import todays_list
from keepwarm.store import reading
from keepwarm.store import week as store

DAYS = 7


class ItemKind(StrEnum):
    TODAY = "today"  # an open action on the list now
    RECALL = "recall"  # the client's next due date (check-up, service, renewal)
    BIRTHDAY = "birthday"
    ANNIVERSARY = "anniversary"  # years as a client
    REMINDER = "reminder"  # a dated reminder a member of staff set
    SNOOZED = "snoozed"  # a snoozed action whose snooze ends that day


LABELS = {
    ItemKind.TODAY: "On the list",
    ItemKind.RECALL: "Recall due",
    ItemKind.BIRTHDAY: "Birthday",
    ItemKind.ANNIVERSARY: "Client anniversary",
    ItemKind.REMINDER: "Reminder",
    ItemKind.SNOOZED: "Snoozed until today",
}


@dataclass(frozen=True)
class WeekItem:
    day: dt.date
    kind: ItemKind
    client_id: str
    client_name: str
    staff: str | None
    text: str  # one line: what is due and why
    key: str  # stable across reads: the calendar event's id

    @property
    def label(self) -> str:
        return LABELS[self.kind]


@dataclass(frozen=True)
class WeekDay:
    day: dt.date
    items: tuple[WeekItem, ...]


def _same_day_in(month: int, day: int, year: int) -> dt.date:
    """The date of month/day in `year`; 29 February falls on the 28th in other years."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        return dt.date(year, month, day - 1)


def _occasions(rows: Iterable[dict[str, Any]], start: dt.date, end: dt.date) -> list[WeekItem]:
    out = []
    for r in rows:
        for kind, date in ((ItemKind.BIRTHDAY, r["birthday"]), (ItemKind.ANNIVERSARY, r["since"])):
            if date is None:
                continue
            for year in {start.year, end.year}:
                day = _same_day_in(date.month, date.day, year)
                years = day.year - date.year
                if not start <= day < end or years < (0 if kind is ItemKind.BIRTHDAY else 1):
                    continue
                text = (
                    f"{r['name']}'s birthday"
                    if kind is ItemKind.BIRTHDAY
                    else f"{years} year{'s' if years > 1 else ''} a client"
                )
                key = f"{kind.value}-{r['external_id']}-{day.isoformat()}"
                out.append(WeekItem(day, kind, r["external_id"], r["name"], r["staff"], text, key))
    return out


def week_items(
    engine: Engine, start: dt.date, *, today: dt.date, staff_name: str | None, days: int = DAYS
) -> list[WeekDay]:
    """The `days` days from `start`, each with its items; `staff_name` None for everyone.
    The open list (today's actions) shows on `today` when it is in the range."""
    end = start + dt.timedelta(days=days)
    with reading(engine) as conn:
        recalls = store.recalls(conn, start, end, staff_name)
        dated = store.dated_clients(conn, staff_name)
        reminders = store.pending_reminders(conn, start, end, staff_name)
        snoozed = store.snoozed_returning(conn, start, end, staff_name)
    items: list[WeekItem] = []
    if start <= today < end:
        for a in todays_list(engine, staff_name, today):
            text = f"{a.channel.capitalize()}: {a.reason}"
            items.append(
                WeekItem(
                    today,
                    ItemKind.TODAY,
                    a.client_id,
                    a.client_name,
                    a.staff,
                    text,
                    f"action-{a.id}",
                )
            )
    items += [
        WeekItem(
            r["day"],
            ItemKind.RECALL,
            r["external_id"],
            r["name"],
            r["staff"],
            "Next check-up, service or renewal due",
            f"recall-{r['external_id']}-{r['day'].isoformat()}",
        )
        for r in recalls
    ]
    items += _occasions(dated, start, end)
    items += [
        WeekItem(
            r["day"],
            ItemKind.REMINDER,
            r["external_id"],
            r["name"],
            r["staff"],
            r["note"],
            f"reminder-{r['id']}",
        )
        for r in reminders
    ]
    items += [
        WeekItem(
            r["day"],
            ItemKind.SNOOZED,
            r["external_id"],
            r["name"],
            r["staff"],
            f"{r['channel'].capitalize()}: back on the list",
            f"snoozed-{r['id']}",
        )
        for r in snoozed
    ]
    order = list(ItemKind)
    by_day: dict[dt.date, list[WeekItem]] = {start + dt.timedelta(days=n): [] for n in range(days)}
    for item in items:
        by_day[item.day].append(item)
    return [
        WeekDay(day, tuple(sorted(found, key=lambda i: (order.index(i.kind), i.client_name))))
        for day, found in by_day.items()
    ]


def calendar_items(week: Iterable[WeekDay]) -> list[CalendarItem]:
    """The week's items as calendar events (one all-day event each)."""
    return [
        CalendarItem(
            0,
            item.day,
            f"{item.label}: {item.client_name}",
            f"{item.text}\n\nClient {item.client_id}" + (f", {item.staff}" if item.staff else ""),
            uid=item.key,
        )
        for day in week
        for item in day.items
    ]
