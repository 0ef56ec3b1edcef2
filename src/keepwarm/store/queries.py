"""Reads and small writes that return domain objects. Never commits: callers own transactions."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterator, Sequence
from email.utils import formataddr
from typing import Any

from sqlalchemy import Connection, CursorResult, Row, Select, delete, func, insert, select

from keepwarm.domain.fields import CLIENT_FIELDS, ClientField, FieldKind
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
from keepwarm.store.tables import (
    activities,
    clients,
    households,
    staff,
    staff_quota_history,
    touches,
)

_STATUS = {s.value: s for s in ClientStatus}


def read_tags(text: str | None) -> tuple[str, ...]:
    return tuple(filter(None, text.split(";"))) if text else ()


# How each kind of field is read back from its stored value (others: as stored).
_READ: dict[FieldKind, Callable[[Any], Any]] = {
    FieldKind.TAGS: read_tags,
    FieldKind.STATUS: _STATUS.__getitem__,
    FieldKind.FLAG: bool,
}


# Fields stored as another table's id and read as its name (a member of staff, a household).
_BY_NAME = (FieldKind.STAFF, FieldKind.HOUSEHOLD)


def _source(f: ClientField) -> str:
    """The name of the column of `client_select()` holding field `f` (a member of staff's
    name, joined, is "<field>_name")."""
    return f"{f.name}_name" if f.kind in _BY_NAME else f.column


_SOURCES = tuple(_source(f) for f in CLIENT_FIELDS)
_READERS = tuple((i, _READ[f.kind]) for i, f in enumerate(CLIENT_FIELDS) if f.kind in _READ)


def _client_from_values(values: Sequence[Any]) -> Client:
    """The client from their stored values in the order of the register."""
    out = list(values)
    for index, read in _READERS:
        out[index] = read(out[index])
    return Client(*out)


def client_from_row(row: Row[Any]) -> Client:
    mapping = row._mapping
    return _client_from_values([mapping[name] for name in _SOURCES])


def clients_from_result(result: CursorResult[Any]) -> list[tuple[int, Client]]:
    """(internal id, Client) for every row of a `client_select()` query. Reads columns by
    position: faster than `client_from_row` per row, which counts at 100,000."""
    keys = list(result.keys())
    pick = operator.itemgetter(*(keys.index(n) for n in _SOURCES))
    at_id = keys.index("id")
    return [(row[at_id], _client_from_values(pick(row))) for row in result.all()]


def client_select() -> Select[Any]:
    """Every column of `clients` with, for each member-of-staff or household field, its name."""
    query = select(clients)
    joined: Any = clients
    for f in CLIENT_FIELDS:
        if f.kind in _BY_NAME:
            named = (staff if f.kind is FieldKind.STAFF else households).alias(f.name)
            query = query.add_columns(named.c.name.label(_source(f)))
            joined = joined.outerjoin(named, named.c.id == clients.c[f.column])
    return query.select_from(joined)


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


def client_contact(conn: Connection, client_id: int) -> Any:
    """The client's email and phone (by internal id)."""
    return conn.execute(
        select(clients.c.email, clients.c.phone).where(clients.c.id == client_id)
    ).one()


def staff_reply_to(conn: Connection, staff_id: int | None) -> str | None:
    """The member of staff as a Reply-To ("Dana Reyes <dana@example.com>"), when they have
    an email address."""
    if staff_id is None:
        return None
    row = conn.execute(select(staff.c.name, staff.c.email).where(staff.c.id == staff_id)).first()
    if row is None or not row.email:
        return None
    return formataddr((row.name, row.email))
