"""Today's actions as an iCalendar feed (RFC 5545), one all-day event per action, so a member
of staff sees their list in the calendar app they already use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from icalendar import Calendar, Event


@dataclass(frozen=True)
class CalendarItem:
    action_id: int
    day: dt.date
    summary: str
    description: str
    uid: str = ""  # the event's stable id ("recall-C-1042-2026-12-01"); "" for action-<id>


def calendar_feed(
    staff: str, items: Iterable[CalendarItem], *, now: dt.datetime, host: str = "keepwarm"
) -> bytes:
    """The feed's bytes. Event UIDs are stable per action, so a subscribed calendar updates
    events in place instead of duplicating them."""
    cal = Calendar()
    cal.add("prodid", "-//keepwarm//today's list//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"keepwarm: {staff}")
    for item in items:
        event = Event()
        event.add("uid", f"{item.uid or f'action-{item.action_id}'}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", item.day)
        event.add("dtend", item.day + dt.timedelta(days=1))
        event.add("summary", item.summary)
        event.add("description", item.description)
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    # icalendar's to_ical() has no return annotation; it returns the feed's bytes.
    return cast(bytes, cal.to_ical())
