"""Touches: recording a contact with a client, by hand or as an action is done."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine

from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.model import PERSONAL_CHANNELS, Touch
from keepwarm.ingest.records import (
    FutureDate,
    fingerprint_key,
    fingerprint_of,
    not_in_future,
    parse_channel,
)
from keepwarm.services.staff import unknown_staff
from keepwarm.store import queries as q
from keepwarm.store import writing
from keepwarm.store.actions import close_touched_actions


def normalise_channel(channel: str) -> str:
    """The channel as stored: the import's rule (personal or bulk, aliases read), so a touch
    recorded by hand is one an import of the same line would accept."""
    try:
        return parse_channel(channel)
    except ValueError as exc:
        raise InvalidInput(f"channel: {exc}") from None


def personal_channel(channel: str) -> str:
    """The channel of an action done: only a personal contact does an action (a newsletter,
    an invoice or a receipt does not take a client off the list)."""
    text = normalise_channel(channel)
    if text not in PERSONAL_CHANNELS:
        raise InvalidInput(
            f"channel: {channel.strip()!r} is not a personal contact; an action is done by "
            f"{', '.join(PERSONAL_CHANNELS)}"
        )
    return text


def touch_date(date: dt.date, today: dt.date) -> dt.date:
    """The date of a touch recorded by hand: the import's rule, never after today."""
    try:
        return not_in_future(date, today)
    except FutureDate as exc:
        raise InvalidInput(f"date: {exc}; a touch records a contact already made") from None


def _cell(value: str | None) -> str | None:
    """Text as an import of the exported touch reads it back: trimmed, empty meaning none."""
    return (value or "").strip() or None


def record_touch(
    engine: Engine,
    client_id: str,
    *,
    channel: str,
    date: dt.date,
    staff: str | None = None,
    note: str | None = None,
    outcome: str | None = None,
    now: dt.datetime,
    today: dt.date | None = None,
) -> Touch:
    """Record a contact with a client. Its key is the same content fingerprint an import of
    the exported touch would compute, so export and re-import never duplicate it. With
    `today`, a date after it is refused (InvalidInput), as an import refuses it."""
    if today is not None:
        touch_date(date, today)
    touch = Touch(
        client_id, date, normalise_channel(channel), _cell(staff), _cell(note), _cell(outcome)
    )
    with writing(engine) as conn:
        add_touch(conn, touch, now)
        close_touched_actions(conn, now)
    return touch


def add_touch(conn: Connection, touch: Touch, now: dt.datetime) -> int:
    """Insert `touch` inside the caller's transaction; returns its id. Its key is the content
    fingerprint an import of the exported touch would compute, so export and re-import never
    duplicate it."""
    internal = q.client_internal_id(conn, touch.client_id)
    if internal is None:
        raise NotFound(f"no client with id {touch.client_id!r}")
    staff_id = None
    if touch.staff:
        member = q.staff_by_name(conn, touch.staff)
        if member is None:
            raise unknown_staff(touch.staff, q.list_staff(conn))
        staff_id = member.id
    fingerprint = fingerprint_of(
        touch.client_id, touch.date, touch.channel, touch.staff, touch.note, touch.outcome
    )
    earlier = q.count_touch_key_prefix(conn, fingerprint_key(fingerprint, 1)[:-1])
    key = fingerprint_key(fingerprint, earlier + 1)
    return q.insert_touch(
        conn, client_id=internal, key=key, touch=touch, staff_id=staff_id, now=now
    )
