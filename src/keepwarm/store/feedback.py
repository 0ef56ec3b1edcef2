"""Feedback requests (issue 14): who is due to be asked about a visit, the request's row by its
token's digest, answering it once, and the answers for NPS. The caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, insert, select, update

from keepwarm.store.tables import actions, activities, clients, feedback_requests, staff, users

fr = feedback_requests


def last_visits(conn: Connection, since: dt.date, until: dt.date) -> list[Any]:
    """Clients whose last visit (activity) up to `until` is on or after `since`: internal id,
    external id, first name, name, email, phone, owner's staff id, do-not-contact, the visit."""
    last = (
        select(activities.c.client_id, func.max(activities.c.date).label("visit"))
        .where(activities.c.date <= until)
        .group_by(activities.c.client_id)
        .subquery()
    )
    c = clients.c
    return list(
        conn.execute(
            select(
                c.id,
                c.external_id,
                c.first_name,
                c.name,
                c.email,
                c.phone,
                c.owner_id,
                c.do_not_contact,
                last.c.visit,
            )
            .join(last, last.c.client_id == c.id)
            .where(last.c.visit >= since)
            .order_by(c.id)
        ).all()
    )


def last_asked(conn: Connection) -> dict[int, tuple[dt.datetime, dt.date]]:
    """Each client's latest request: when it was made and the visit it asked about."""
    rows = conn.execute(
        select(fr.c.client_id, fr.c.created_at, fr.c.visit_date).order_by(fr.c.id)
    ).all()
    return {r.client_id: (r.created_at, r.visit_date) for r in rows}


def insert_request(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(fr).values(**values).returning(fr.c.id)).scalar_one())


def set_outbox(conn: Connection, request_id: int, outbox_id: int) -> None:
    conn.execute(update(fr).where(fr.c.id == request_id).values(outbox_id=outbox_id))


def by_digest(conn: Connection, digest: str) -> Any | None:
    """The request with this token digest, with the client's first name and the owner's name."""
    return conn.execute(
        select(fr, clients.c.first_name, clients.c.external_id, staff.c.name.label("staff_name"))
        .join(clients, clients.c.id == fr.c.client_id)
        .outerjoin(staff, staff.c.id == fr.c.staff_id)
        .where(fr.c.token_hash == digest)
    ).first()


def answer(
    conn: Connection, request_id: int, score: int, comment: str | None, now: dt.datetime
) -> bool:
    """Record the answer unless one is recorded already (False then): single use, even when
    two POSTs race (the condition is checked by the UPDATE itself)."""
    done = conn.execute(
        update(fr)
        .where(fr.c.id == request_id, fr.c.answered_at.is_(None))
        .values(answered_at=now, score=score, comment=comment)
    )
    return done.rowcount == 1


def unplaced_detractors(conn: Connection, before: dt.datetime) -> list[Any]:
    """Answers of 0-6 given before `before` that have no action yet, with the client's owner,
    the request's member of staff and the client's do-not-contact flag."""
    return list(
        conn.execute(
            select(fr, clients.c.owner_id, clients.c.external_id, clients.c.do_not_contact)
            .join(clients, clients.c.id == fr.c.client_id)
            .where(
                fr.c.score <= 6,
                fr.c.action_id.is_(None),
                fr.c.answered_at.is_not(None),
                fr.c.answered_at < before,
            )
            .order_by(fr.c.answered_at, fr.c.id)
        ).all()
    )


def link_action(conn: Connection, request_id: int, action_id: int) -> bool:
    done = conn.execute(
        update(fr)
        .where(fr.c.id == request_id, fr.c.action_id.is_(None))
        .values(action_id=action_id)
    )
    return done.rowcount == 1


def first_owner_staff(conn: Connection) -> int | None:
    """The member of staff of the practice's first owner account (the oldest active owner
    user linked to a member of staff)."""
    return conn.execute(
        select(users.c.staff_id)
        .join(staff, staff.c.id == users.c.staff_id)
        .where(users.c.role == "owner", users.c.active.is_(True), staff.c.active.is_(True))
        .order_by(users.c.id)
        .limit(1)
    ).scalar_one_or_none()


def staff_active(conn: Connection, staff_id: int) -> bool:
    return bool(
        conn.execute(select(staff.c.active).where(staff.c.id == staff_id)).scalar_one_or_none()
    )


def answers(
    conn: Connection,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    staff_name: str | None = None,
) -> list[Any]:
    """Answered requests (newest first) in [since, until), with the member of staff's name,
    the client's ids and name, and the closing action's status and outcome."""
    conds: list[ColumnElement[bool]] = [fr.c.answered_at.is_not(None)]
    if since is not None:
        conds.append(fr.c.answered_at >= since)
    if until is not None:
        conds.append(fr.c.answered_at < until)
    if staff_name is not None:
        conds.append(staff.c.name == staff_name)
    return list(
        conn.execute(
            select(
                fr.c.id,
                fr.c.visit_date,
                fr.c.answered_at,
                fr.c.score,
                fr.c.comment,
                fr.c.action_id,
                staff.c.name.label("staff_name"),
                clients.c.external_id,
                clients.c.name.label("client_name"),
                actions.c.status.label("action_status"),
                actions.c.dismissed_reason,
                actions.c.closed_at,
            )
            .join(clients, clients.c.id == fr.c.client_id)
            .outerjoin(staff, staff.c.id == fr.c.staff_id)
            .outerjoin(actions, actions.c.id == fr.c.action_id)
            .where(and_(*conds))
            .order_by(fr.c.answered_at.desc(), fr.c.id.desc())
        ).all()
    )


def client_requests(conn: Connection, client_id: int) -> list[Any]:
    """The client's requests, newest first, with the closing action's status."""
    return list(
        conn.execute(
            select(fr, actions.c.status.label("action_status"), actions.c.closed_at)
            .outerjoin(actions, actions.c.id == fr.c.action_id)
            .where(fr.c.client_id == client_id)
            .order_by(fr.c.created_at.desc(), fr.c.id.desc())
        ).all()
    )
