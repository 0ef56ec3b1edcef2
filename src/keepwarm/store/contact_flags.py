"""Phones and emails kept as written: an import that meets a value it cannot use (555-0407
without its area code, "ann(at)example") leaves the client's column empty and keeps the value
here, with the reason, for people to correct. A flag stands while the client's column is still
empty; each import of that column replaces the flags of the clients it names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
)

from keepwarm.domain.fields import AS_WRITTEN_KINDS, CLIENT_FIELDS, as_written, flag_reason
from keepwarm.store.staging import STAGE_CLIENTS
from keepwarm.store.tables import clients, contact_flags


@dataclass(frozen=True)
class ContactFlag:
    """A phone or email kept as written on one client."""

    field: str  # "phone" or "email": a field of the register
    written: str
    reason: str  # e.g. "not a full number"


def staged_counts(conn: Connection, fields: Iterable[str]) -> dict[str, int]:
    """How many rows of the staged clients file keep each field as written."""
    s = STAGE_CLIENTS
    columns = [func.count(s.c[as_written(f)]).label(f) for f in fields]
    if not columns:
        return {}
    return dict(conn.execute(select(*columns)).one()._mapping)


def replace_flags(conn: Connection, fields: Iterable[str], now: dt.datetime) -> None:
    """After a clients file is merged: for each of `fields` the file has a column for, the
    clients it names get the flags of this file (none where the value was usable or empty)."""
    s = STAGE_CLIENTS
    named = select(clients.c.id).where(clients.c.external_id == s.c.id)
    for field in fields:
        conn.execute(
            delete(contact_flags).where(
                contact_flags.c.field == field, contact_flags.c.client_id.in_(named)
            )
        )
        conn.execute(
            insert(contact_flags).from_select(
                ["client_id", "field", "written", "reason", "created_at"],
                select(
                    clients.c.id,
                    literal(field, contact_flags.c.field.type),
                    s.c[as_written(field)],
                    s.c[flag_reason(field)],
                    literal(now, contact_flags.c.created_at.type),
                )
                .join(clients, clients.c.external_id == s.c.id)
                .where(s.c[as_written(field)].is_not(None)),
            )
        )


def _standing() -> ColumnElement[bool]:
    """A flag stands while the client's own column for its field is still empty."""
    return and_(
        *(
            ~and_(contact_flags.c.field == f.name, clients.c[f.column].is_not(None))
            for f in CLIENT_FIELDS
            if f.kind in AS_WRITTEN_KINDS
        )
    )


def flags_of(conn: Connection, client_id: int) -> list[ContactFlag]:
    """The standing flags of one client (by internal id), phone first."""
    rows = conn.execute(
        select(contact_flags.c.field, contact_flags.c.written, contact_flags.c.reason)
        .join(clients, clients.c.id == contact_flags.c.client_id)
        .where(contact_flags.c.client_id == client_id, _standing())
        .order_by(contact_flags.c.field.desc())
    ).all()
    return [ContactFlag(*r) for r in rows]


def is_flagged() -> ColumnElement[bool]:
    """A condition on `clients`: the client has a standing flag (for list filters)."""
    return exists().where(contact_flags.c.client_id == clients.c.id, _standing())


def standing_as_written(conn: Connection) -> dict[str, dict[str, str]]:
    """Every standing flag as {client's business id: {field: value as written}}: what an
    export writes in the client's empty column, so its re-import keeps the same flags."""
    rows = conn.execute(
        select(clients.c.external_id, contact_flags.c.field, contact_flags.c.written)
        .join(clients, clients.c.id == contact_flags.c.client_id)
        .where(_standing())
    ).all()
    out: dict[str, dict[str, str]] = {}
    for external_id, field, written in rows:
        out.setdefault(external_id, {})[field] = written
    return out


def clear_flags(conn: Connection, client_id: int, fields: Iterable[str]) -> None:
    """Forget the flags of `fields` on one client (by internal id): a usable value was given,
    so the one kept as written is corrected, and does not come back if the field is emptied."""
    names = list(fields)
    if names:
        conn.execute(
            delete(contact_flags).where(
                contact_flags.c.client_id == client_id, contact_flags.c.field.in_(names)
            )
        )
