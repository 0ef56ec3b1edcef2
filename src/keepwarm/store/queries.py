"""Reads and small writes that return domain objects. Never commits: callers own transactions."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, CursorResult, Row, Select, delete, func, insert, or_, select

from keepwarm.domain.model import (
    Activity,
    Client,
    ClientStatus,
    Staff,
    Touch,
    is_personal_channel,
)
from keepwarm.domain.policy import Policy
from keepwarm.store.policy import load_policy_data
from keepwarm.store.tables import activities, clients, staff, staff_quota_history, touches

_owner = staff.alias("owner")


def client_from_row(row: Row[Any]) -> Client:
    return Client(
        id=row.external_id,
        name=row.name,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        phone=row.phone,
        address=row.address,
        birthday=row.birthday,
        since=row.since,
        owner=row.owner_name,
        tags=tuple(t for t in row.tags.split(";") if t),
        status=ClientStatus(row.status),
        cancelled_on=row.cancelled_on,
        next_due=row.next_due,
        do_not_contact=bool(row.do_not_contact),
        notes=row.notes,
    )


_CLIENT_COLUMNS = (
    "external_id",
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "birthday",
    "since",
    "owner_name",
    "tags",
    "status",
    "cancelled_on",
    "next_due",
    "do_not_contact",
    "notes",
)
_STATUS = {s.value: s for s in ClientStatus}


def clients_from_result(result: CursorResult[Any]) -> list[tuple[int, Client]]:
    """(internal id, Client) for every row of a `client_select()` query. Reads columns by
    position: three times faster than `client_from_row` per row, which counts at 100,000."""
    keys = list(result.keys())
    pick = operator.itemgetter(keys.index("id"), *(keys.index(n) for n in _CLIENT_COLUMNS))
    out = []
    for row in result.all():
        iid, cid, name, first, last, email, phone, address, born, since, owner, tags, *rest = pick(
            row
        )
        status, cancelled, due, dnc, notes = rest
        client = Client(
            cid,
            name,
            first,
            last,
            email,
            phone,
            address,
            born,
            since,
            owner,
            tuple(t for t in tags.split(";") if t),
            _STATUS[status],
            cancelled,
            due,
            bool(dnc),
            notes,
        )
        out.append((iid, client))
    return out


def client_select() -> Select[Any]:
    return select(clients, _owner.c.name.label("owner_name")).outerjoin(
        _owner, _owner.c.id == clients.c.owner_id
    )


def staff_by_name(conn: Connection, name: str) -> Staff | None:
    row = conn.execute(select(staff).where(staff.c.name == name)).first()
    return _staff(row) if row else None


def _staff(row: Row[Any]) -> Staff:
    return Staff(
        row.id,
        row.name,
        row.email,
        row.weekly_quota,
        bool(row.active),
        row.daily_capacity,
        row.joined_on,
    )


def staff_by_id(conn: Connection, staff_id: int) -> Staff | None:
    row = conn.execute(select(staff).where(staff.c.id == staff_id)).first()
    return _staff(row) if row else None


def policy_in(conn: Connection) -> Policy:
    """The policy in force (the defaults until the owner changes one)."""
    data = load_policy_data(conn)
    return Policy() if data is None else Policy.from_dict(data)


def record_quota(conn: Connection, staff_id: int, since: dt.date, weekly_quota: int) -> None:
    """The member's quota in force from `since` on (replacing a change made the same day)."""
    conn.execute(
        delete(staff_quota_history).where(
            staff_quota_history.c.staff_id == staff_id, staff_quota_history.c.since == since
        )
    )
    conn.execute(
        insert(staff_quota_history).values(
            staff_id=staff_id, since=since, weekly_quota=weekly_quota
        )
    )


def record_quota_change(
    conn: Connection, member: Staff, old: int, new: int, today: dt.date
) -> None:
    """Record that the member's quota changed from `old` to `new` today; a member with no
    history yet first gets `old` from the day they joined, so earlier weeks keep it."""
    known = conn.execute(
        select(func.count()).where(staff_quota_history.c.staff_id == member.id)
    ).scalar_one()
    if not known:
        record_quota(conn, member.id, min(member.joined_on or today, today), old)
    record_quota(conn, member.id, today, new)


def quota_history(conn: Connection) -> dict[int, list[tuple[dt.date, int]]]:
    """Every member's recorded quotas: staff id -> [(since, weekly quota)] in date order."""
    out: dict[int, list[tuple[dt.date, int]]] = {}
    rows = conn.execute(
        select(
            staff_quota_history.c.staff_id,
            staff_quota_history.c.since,
            staff_quota_history.c.weekly_quota,
        ).order_by(staff_quota_history.c.staff_id, staff_quota_history.c.since)
    )
    for staff_id, since, quota in rows:
        out.setdefault(staff_id, []).append((since, quota))
    return out


def list_staff(conn: Connection) -> list[Staff]:
    return [_staff(r) for r in conn.execute(select(staff).order_by(staff.c.name))]


def insert_staff(
    conn: Connection,
    name: str,
    email: str | None,
    weekly_quota: int | None,
    daily_capacity: int | None,
    joined_on: dt.date,
    now: dt.datetime,
) -> Staff:
    new_id = conn.execute(
        insert(staff).values(
            name=name,
            email=email,
            weekly_quota=weekly_quota,
            daily_capacity=daily_capacity,
            joined_on=joined_on,
            active=True,
            created_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return Staff(new_id, name, email, weekly_quota, True, daily_capacity, joined_on)


def client_internal_id(conn: Connection, external_id: str) -> int | None:
    return conn.execute(
        select(clients.c.id).where(clients.c.external_id == external_id)
    ).scalar_one_or_none()


def get_client(conn: Connection, external_id: str) -> Client | None:
    row = conn.execute(client_select().where(clients.c.external_id == external_id)).first()
    return client_from_row(row) if row else None


def search_clients(
    conn: Connection, text: str | None, limit: int, offset: int = 0
) -> tuple[list[tuple[Client, dt.date | None, int]], int]:
    """Clients whose id, name, email or phone contains `text` (case-insensitive), with their
    last activity date and activity count; and the total number of matches."""
    query = client_select()
    if text:
        pattern = "%" + text.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
        digits = "".join(ch for ch in text if ch.isdigit())
        conditions = [
            func.lower(clients.c.name).like(pattern, escape="\\"),
            func.lower(clients.c.external_id).like(pattern, escape="\\"),
            func.lower(clients.c.email).like(pattern, escape="\\"),
        ]
        if len(digits) >= 4:
            conditions.append(clients.c.phone.like(f"%{digits}%"))
        query = query.where(or_(*conditions))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page = query.order_by(func.lower(clients.c.name), clients.c.id).limit(limit).offset(offset)
    page_sq = page.subquery()
    stats = (
        select(
            activities.c.client_id,
            func.max(activities.c.date).label("last"),
            func.count().label("n"),
        )
        .where(activities.c.client_id.in_(select(page_sq.c.id)))
        .group_by(activities.c.client_id)
    )
    by_id = {r.client_id: (r.last, r.n) for r in conn.execute(stats)}
    rows = conn.execute(page).all()
    return [(client_from_row(r), *by_id.get(r.id, (None, 0))) for r in rows], total


def client_activities(conn: Connection, client_id: int, limit: int) -> list[Activity]:
    rows = conn.execute(
        select(activities, clients.c.external_id.label("client_ext"))
        .join(clients, clients.c.id == activities.c.client_id)
        .where(activities.c.client_id == client_id)
        .order_by(activities.c.date.desc(), activities.c.id.desc())
        .limit(limit)
    )
    return [_activity(r) for r in rows]


def activity_totals(
    conn: Connection, client_id: int
) -> tuple[int, int, dt.date | None, dt.date | None]:
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(activities.c.amount_cents), 0),
            func.min(activities.c.date),
            func.max(activities.c.date),
        ).where(activities.c.client_id == client_id)
    ).one()
    return int(row[0]), int(row[1]), row[2], row[3]


def client_touches(conn: Connection, client_id: int, limit: int) -> list[Touch]:
    rows = conn.execute(
        select(touches, clients.c.external_id.label("client_ext"), staff.c.name.label("staff"))
        .join(clients, clients.c.id == touches.c.client_id)
        .outerjoin(staff, staff.c.id == touches.c.staff_id)
        .where(touches.c.client_id == client_id)
        .order_by(touches.c.date.desc(), touches.c.id.desc())
        .limit(limit)
    )
    return [_touch(r) for r in rows]


def _activity(row: Row[Any]) -> Activity:
    return Activity(
        client_id=row.client_ext,
        date=row.date,
        id=row.external_id,
        amount_cents=row.amount_cents,
        quantity=row.quantity,
        kind=row.kind,
        note=row.note,
    )


def _touch(row: Row[Any]) -> Touch:
    return Touch(
        client_id=row.client_ext,
        date=row.date,
        channel=row.channel,
        staff=row.staff,
        note=row.note,
        outcome=row.outcome,
    )


def count_touch_key_prefix(conn: Connection, prefix: str) -> int:
    return conn.execute(
        select(func.count()).select_from(touches).where(touches.c.key.like(prefix + "%"))
    ).scalar_one()


def insert_touch(
    conn: Connection,
    *,
    client_id: int,
    key: str,
    touch: Touch,
    staff_id: int | None,
    now: dt.datetime,
) -> int:
    result: int = conn.execute(
        insert(touches).values(
            client_id=client_id,
            key=key,
            date=touch.date,
            channel=touch.channel,
            staff_id=staff_id,
            note=touch.note,
            outcome=touch.outcome,
            personal=is_personal_channel(touch.channel),
            created_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return result


def iter_clients(conn: Connection, batch: int = 5_000) -> Iterator[Client]:
    result = conn.execution_options(yield_per=batch).execute(
        client_select().order_by(clients.c.external_id)
    )
    for row in result:
        yield client_from_row(row)


def iter_activities(conn: Connection, batch: int = 5_000) -> Iterator[Activity]:
    result = conn.execution_options(yield_per=batch).execute(
        select(activities, clients.c.external_id.label("client_ext"))
        .join(clients, clients.c.id == activities.c.client_id)
        .order_by(clients.c.external_id, activities.c.date, activities.c.id)
    )
    for row in result:
        yield _activity(row)


def iter_touches(conn: Connection, batch: int = 5_000) -> Iterator[Touch]:
    result = conn.execution_options(yield_per=batch).execute(
        select(touches, clients.c.external_id.label("client_ext"), staff.c.name.label("staff"))
        .join(clients, clients.c.id == touches.c.client_id)
        .outerjoin(staff, staff.c.id == touches.c.staff_id)
        .order_by(clients.c.external_id, touches.c.date, touches.c.id)
    )
    for row in result:
        yield _touch(row)
