"""Staff, clients and touches: the everyday reads and writes outside imports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, update

from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.model import (
    BULK_CHANNELS,
    PERSONAL_CHANNELS,
    Client,
    ClientCard,
    Staff,
    Touch,
)
from keepwarm.domain.quotas import allowance
from keepwarm.ingest.records import CHANNEL_ALIASES, fingerprint_key, fingerprint_of
from keepwarm.ingest.values import parse_email
from keepwarm.store import queries as q
from keepwarm.store import reading, writing
from keepwarm.store.plans import close_touched_actions
from keepwarm.store.tables import staff as staff_table


def add_staff(
    engine: Engine,
    name: str,
    *,
    email: str | None,
    weekly_quota: int | None = None,
    daily_capacity: int | None = None,
    joined_on: dt.date | None = None,
    now: dt.datetime,
) -> Staff:
    """Add a member of staff. A quota or capacity of None follows the policy's default;
    `joined_on` (default: today) is the day from which their weeks are judged."""
    name = name.strip()
    if not name:
        raise InvalidInput("a staff member needs a name")
    email = _checked_staff_values(email, weekly_quota, daily_capacity)
    with writing(engine) as conn:
        if q.staff_by_name(conn, name) is not None:
            raise InvalidInput(f"there is already a staff member called {name!r}")
        policy = q.policy_in(conn)
        joined = joined_on or policy.local_date(now)
        member = q.insert_staff(conn, name, email, weekly_quota, daily_capacity, joined, now)
        q.record_quota(conn, member.id, joined, allowance(member, policy).weekly_quota)
    return member


def _checked_staff_values(
    email: str | None, weekly_quota: int | None, daily_capacity: int | None
) -> str | None:
    """The email as stored (None for none); InvalidInput for a bad email, quota or capacity."""
    if weekly_quota is not None and weekly_quota < 0:
        raise InvalidInput("weekly quota: it cannot be negative")
    if daily_capacity is not None and daily_capacity < 0:
        raise InvalidInput("daily capacity: it cannot be negative")
    if not email:
        return None
    try:
        return parse_email(email)
    except ValueError as exc:
        raise InvalidInput(f"email: {exc}") from None


def list_staff(engine: Engine) -> list[Staff]:
    with reading(engine) as conn:
        return q.list_staff(conn)


def update_staff(
    engine: Engine,
    staff_id: int,
    *,
    email: str | None,
    weekly_quota: int | None,
    active: bool,
    daily_capacity: int | None = None,
    now: dt.datetime | None = None,
) -> Staff:
    """Change a staff member's email (None or "" removes it), own weekly quota and daily
    capacity (None: the policy's default) and whether they are active; a bad value raises
    InvalidInput and changes nothing. A change of the quota that applies is recorded from
    today, so earlier weeks stay judged by the quota of their time."""
    email = _checked_staff_values(email, weekly_quota, daily_capacity)
    with writing(engine) as conn:
        before = q.staff_by_id(conn, staff_id)
        if before is None:
            raise NotFound(f"no staff member {staff_id}")
        conn.execute(
            update(staff_table)
            .where(staff_table.c.id == staff_id)
            .values(
                email=email,
                weekly_quota=weekly_quota,
                daily_capacity=daily_capacity,
                active=active,
            )
        )
        after = q.staff_by_id(conn, staff_id)
        assert after is not None
        policy = q.policy_in(conn)
        old, new = allowance(before, policy).weekly_quota, allowance(after, policy).weekly_quota
        if old != new:
            today = policy.local_date(now or dt.datetime.now(dt.UTC))
            q.record_quota_change(conn, before, old, new, today)
    return after


@dataclass(frozen=True)
class ClientListItem:
    client: Client
    last_activity: dt.date | None
    activity_count: int


def find_clients(
    engine: Engine, text: str | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[ClientListItem], int]:
    with reading(engine) as conn:
        rows, total = q.search_clients(conn, text, limit, offset)
    return [ClientListItem(*row) for row in rows], total


def client_card(engine: Engine, client_id: str, *, history: int = 20) -> ClientCard:
    with reading(engine) as conn:
        client = q.get_client(conn, client_id)
        internal = q.client_internal_id(conn, client_id)
        if client is None or internal is None:
            raise NotFound(f"no client with id {client_id!r}")
        count, total, first, last = q.activity_totals(conn, internal)
        return ClientCard(
            client=client,
            activities=tuple(q.client_activities(conn, internal, history)),
            activity_count=count,
            total_cents=total,
            first_activity=first,
            last_activity=last,
            touches=tuple(q.client_touches(conn, internal, history)),
        )


def normalise_channel(channel: str) -> str:
    text = CHANNEL_ALIASES.get(channel.strip().lower(), channel.strip().lower())
    if text not in PERSONAL_CHANNELS and text not in BULK_CHANNELS:
        raise InvalidInput(
            f"{channel!r} is not a channel ({', '.join((*PERSONAL_CHANNELS, *BULK_CHANNELS))})"
        )
    return text


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
) -> Touch:
    """Record a contact with a client. Its key is the same content fingerprint an import of
    the exported touch would compute, so export and re-import never duplicate it."""
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
            raise NotFound(f"no staff member called {touch.staff!r} (see `keepwarm staff list`)")
        staff_id = member.id
    fingerprint = fingerprint_of(
        touch.client_id, touch.date, touch.channel, touch.staff, touch.note, touch.outcome
    )
    earlier = q.count_touch_key_prefix(conn, fingerprint_key(fingerprint, 1)[:-1])
    key = fingerprint_key(fingerprint, earlier + 1)
    return q.insert_touch(
        conn, client_id=internal, key=key, touch=touch, staff_id=staff_id, now=now
    )
