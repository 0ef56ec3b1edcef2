"""Staff: the people who contact clients, their quotas and capacities."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, update

from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.model import (
    Staff,
)
from keepwarm.domain.quotas import allowance
from keepwarm.ingest.values import parse_email
from keepwarm.store import queries as q
from keepwarm.store import reading, writing
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


def unknown_staff(name: str, members: list[Staff]) -> NotFound:
    """The error for a name that is no member of staff, naming the ones there are."""
    known = ", ".join(m.name for m in members) or "none yet: `keepwarm staff add NAME`"
    return NotFound(f"no staff member called {name!r} (staff: {known})")


def staff_named(engine: Engine, name: str) -> Staff:
    """The member of staff called `name` (exactly, as files and lists write it); NotFound
    naming the staff there are otherwise."""
    members = list_staff(engine)
    for member in members:
        if member.name == name:
            return member
    raise unknown_staff(name, members)


def update_staff(
    engine: Engine,
    staff_id: int,
    *,
    email: str | None,
    weekly_quota: int | None,
    active: bool,
    daily_capacity: int | None = None,
    now: dt.datetime | None = None,
    name: str | None = None,
) -> Staff:
    """Change a staff member's email (None or "" removes it), own weekly quota and daily
    capacity (None: the policy's default) and whether they are active; a bad value raises
    InvalidInput and changes nothing. A change of the quota that applies is recorded from
    today, so earlier weeks stay judged by the quota of their time. `name` renames them
    (their clients, touches and actions follow: they refer to the member, not the name)."""
    email = _checked_staff_values(email, weekly_quota, daily_capacity)
    if name is not None:
        name = name.strip()
        if not name:
            raise InvalidInput("name: a staff member needs a name")
    with writing(engine) as conn:
        before = q.staff_by_id(conn, staff_id)
        if before is None:
            raise NotFound(f"no staff member {staff_id}")
        if name is not None and name != before.name and q.staff_by_name(conn, name) is not None:
            raise InvalidInput(f"name: there is already a staff member called {name!r}")
        conn.execute(
            update(staff_table)
            .where(staff_table.c.id == staff_id)
            .values(
                name=before.name if name is None else name,
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
