"""Queries behind the Clients list and the client page: the filtered, sorted page of clients,
one client's timeline and open actions, and writing one client. Never commits."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)

from keepwarm.domain.model import Client
from keepwarm.domain.policy import Policy
from keepwarm.store.client_search import refresh_search_text, text_condition
from keepwarm.store.contact_flags import is_flagged
from keepwarm.store.queries import client_select, clients_from_result
from keepwarm.store.report_queries import lapsing_clause
from keepwarm.store.rhythms import refresh_standing_cuts
from keepwarm.store.tables import actions, activities, clients, rhythms, staff, touches

_owner = staff.alias("owner")


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


def client_filters(
    dialect: str,
    *,
    text: str | None,
    phone_digits: Sequence[str],
    signal: str | None,
    tag: str | None,
    owner: str | None,
    status: str | None,
    today: dt.date | None = None,
    policy: Policy | None = None,
    kept_as_written: bool = False,
) -> list[ColumnElement[bool]]:
    """WHERE conditions on `clients` for the list's search box and filters. The lapsing
    signal ("Gone quiet"), given `today` and `policy`, is the clients Reports counts as lapsing
    (`lapsing_clause`), not the open actions'. `kept_as_written`: only clients with a phone or email
    an import kept as written (keepwarm.store.contact_flags)."""
    where: list[ColumnElement[bool]] = []
    if kept_as_written:
        where.append(is_flagged())
    if text:
        found = text_condition(dialect, text, phone_digits)
        if found is not None:
            where.append(found)
    if status:
        where.append(clients.c.status == status)
    if owner:
        owner_id = select(staff.c.id).where(staff.c.name == owner).scalar_subquery()
        where.append(clients.c.owner_id == owner_id)
    if tag:
        wrapped = func.lower(literal(";") + clients.c.tags + literal(";"))
        where.append(wrapped.like(f"%;{_like(tag.lower())};%", escape="\\"))
    if signal == "lapsing" and today is not None and policy is not None:
        quiet = (
            select(rhythms.c.client_id)
            .select_from(rhythms.join(clients, clients.c.id == rhythms.c.client_id))
            .where(lapsing_clause(today, policy))
            .correlate(None)
        )
        where.append(clients.c.id.in_(quiet))
    elif signal:
        # The signals column is the JSON list json.dumps wrote: [{"code": "lapsing", ...}].
        flagged = select(actions.c.client_id).where(
            actions.c.status == "open",
            actions.c.signals.like(f'%"code": "{_like(signal)}"%', escape="\\"),
        )
        where.append(clients.c.id.in_(flagged))
    return where


_SORTS = {
    "name": func.lower(clients.c.name),
    "last_activity": rhythms.c.last_activity,
    "attention": rhythms.c.attention_after,
    "value": rhythms.c.monthly_value_cents,  # the yearly value is twelve months of it
}


def count_clients(conn: Connection, where: list[ColumnElement[bool]]) -> int:
    return conn.execute(select(func.count()).select_from(clients).where(*where)).scalar_one()


def page_of_clients(
    conn: Connection,
    where: list[ColumnElement[bool]],
    *,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
    few: bool = False,
) -> list[dict[str, Any]]:
    """One page of clients with their owner, stored rhythm, last activity and the signal codes
    of their open actions. Sorting by rhythm columns puts clients without a rhythm last.
    `few` says the filters match few clients (the caller counted them)."""
    key = _SORTS[sort]
    if sort == "name" and few:
        # Few matches: sort them rather than walk the whole name index (ix_clients_lower_name)
        # looking for them; `|| ''` keeps the planner off that index.
        key = key + literal("")
    ordered = key.desc() if descending else key.asc()
    if sort != "name":
        ordered = ordered.nulls_last()
    tie = clients.c.id.desc() if descending else clients.c.id.asc()
    query = (
        select(
            clients.c.id,
            clients.c.external_id,
            clients.c.name,
            clients.c.email,
            clients.c.phone,
            clients.c.status,
            clients.c.tags,
            _owner.c.name.label("owner_name"),
            rhythms.c.p_alive,
            rhythms.c.usual_gap_days,
            rhythms.c.clv_cents,
            rhythms.c.monthly_value_cents,
            rhythms.c.at_risk_cents,
            rhythms.c.attention_after,
        )
        .select_from(clients)
        .outerjoin(_owner, _owner.c.id == clients.c.owner_id)
        .outerjoin(rhythms, rhythms.c.client_id == clients.c.id)
        .where(*where)
        .order_by(ordered, tie)
        .limit(limit)
        .offset(offset)
    )
    rows = [dict(r._mapping) for r in conn.execute(query)]
    ids = [r["id"] for r in rows]
    last: dict[int, dt.date] = {}
    codes: dict[int, list[str]] = {}
    if ids:
        last = dict(
            conn.execute(
                select(activities.c.client_id, func.max(activities.c.date))
                .where(activities.c.client_id.in_(ids))
                .group_by(activities.c.client_id)
            ).all()
        )
        for client_id, signals in conn.execute(
            select(actions.c.client_id, actions.c.signals)
            .where(actions.c.client_id.in_(ids), actions.c.status == "open")
            .order_by(actions.c.id)
        ):
            found = codes.setdefault(client_id, [])
            found += [s["code"] for s in json.loads(signals) if s["code"] not in found]
    for row in rows:
        row["last_activity"] = last.get(row["id"])
        row["open_signals"] = tuple(codes.get(row["id"], ()))
    return rows


def clients_by_name(
    conn: Connection,
    where: list[ColumnElement[bool]],
    *,
    limit: int,
    offset: int,
    few: bool = False,
) -> list[tuple[Client, dt.date | None, int]]:
    """A page of whole clients matching `where`, by name ignoring case, each with the date of
    their last activity and their number of activities. `few`: as for `page_of_clients`."""
    key: ColumnElement[Any] = func.lower(clients.c.name)
    if few:
        key = key + literal("")  # sort the few matches rather than walk the name index
    page = client_select().where(*where).order_by(key, clients.c.id).limit(limit).offset(offset)
    found = clients_from_result(conn.execute(page))
    stats: dict[int, tuple[dt.date | None, int]] = {}
    if found:
        rows = conn.execute(
            select(activities.c.client_id, func.max(activities.c.date), func.count())
            .where(activities.c.client_id.in_([internal for internal, _ in found]))
            .group_by(activities.c.client_id)
        )
        stats = {internal: (last, count) for internal, last, count in rows}
    return [(client, *stats.get(internal, (None, 0))) for internal, client in found]


def staff_id(conn: Connection, name: str) -> int | None:
    return conn.execute(select(staff.c.id).where(staff.c.name == name)).scalar_one_or_none()


def insert_client(conn: Connection, values: Mapping[str, Any]) -> int:
    result: int = conn.execute(insert(clients).values(**values)).inserted_primary_key[0]  # type: ignore[index]
    refresh_search_text(conn, result)
    return result


def update_client(conn: Connection, internal_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(clients).where(clients.c.id == internal_id).values(**values))
    refresh_search_text(conn, internal_id)  # from the new values


def delete_client(conn: Connection, internal_id: int) -> None:
    # Activities, touches, actions and the rhythm go with the client (ON DELETE CASCADE);
    # deleted explicitly as well so a database without enforced foreign keys stays clean.
    for table in (actions, rhythms, touches, activities):
        conn.execute(delete(table).where(table.c.client_id == internal_id))
    conn.execute(delete(clients).where(clients.c.id == internal_id))
    refresh_standing_cuts(conn)  # their rhythm went: the others' ranks moved


def timeline(conn: Connection, internal_id: int, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` activities and touches of one client, merged, newest first."""
    done = (
        select(
            activities.c.id,
            activities.c.date,
            activities.c.kind,
            activities.c.amount_cents,
            activities.c.quantity,
            activities.c.note,
        )
        .where(activities.c.client_id == internal_id)
        .order_by(activities.c.date.desc(), activities.c.id.desc())
        .limit(limit)
    )
    contacted = (
        select(
            touches.c.id,
            touches.c.date,
            touches.c.channel,
            touches.c.note,
            touches.c.outcome,
            touches.c.personal,
            staff.c.name.label("staff_name"),
        )
        .outerjoin(staff, staff.c.id == touches.c.staff_id)
        .where(touches.c.client_id == internal_id)
        .order_by(touches.c.date.desc(), touches.c.id.desc())
        .limit(limit)
    )
    entries = [{"type": "activity", **r._mapping} for r in conn.execute(done)]
    entries += [{"type": "touch", **r._mapping} for r in conn.execute(contacted)]
    # Same day: the touch after the visit it followed; otherwise the newest record first.
    entries.sort(key=lambda e: (e["date"], e["type"] == "touch", e["id"]), reverse=True)
    return entries[:limit]


def activity_dates(conn: Connection, internal_id: int, since: dt.date) -> list[dt.date]:
    rows = conn.execute(
        select(activities.c.date)
        .where(activities.c.client_id == internal_id, activities.c.date >= since)
        .order_by(activities.c.date)
    )
    return [r[0] for r in rows]


def client_open_actions(conn: Connection, internal_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            actions.c.id,
            actions.c.day,
            actions.c.channel,
            actions.c.why,
            actions.c.signals,
            staff.c.name.label("staff_name"),
        )
        .outerjoin(staff, staff.c.id == actions.c.staff_id)
        .where(actions.c.client_id == internal_id, actions.c.status == "open")
        .order_by(actions.c.day, actions.c.id)
    )
    return [{**r._mapping, "signals": json.loads(r.signals)} for r in rows]
