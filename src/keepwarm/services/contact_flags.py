"""Phones and emails an import kept as written because they could not be used (see
keepwarm.store.contact_flags): listed for people to correct, and shown on the client."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from keepwarm.domain.errors import NotFound
from keepwarm.store import contact_flags as store
from keepwarm.store import queries as q
from keepwarm.store import reading
from keepwarm.store.tables import clients

ContactFlag = store.ContactFlag


@dataclass(frozen=True)
class FlaggedClient:
    id: str  # the business's id
    name: str
    flags: tuple[ContactFlag, ...]


def flagged_clients(engine: Engine, *, limit: int | None = None) -> list[FlaggedClient]:
    """Clients with a phone or email kept as written, by name."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(clients.c.id, clients.c.external_id, clients.c.name)
            .where(store.is_flagged())
            .order_by(clients.c.name, clients.c.id)
            .limit(limit)
        ).all()
        return [
            FlaggedClient(external, name, tuple(store.flags_of(conn, internal)))
            for internal, external, name in rows
        ]


def client_flags(engine: Engine, client_id: str) -> list[ContactFlag]:
    """The phone or email kept as written on one client (by the business's id)."""
    with reading(engine) as conn:
        internal = q.client_internal_id(conn, client_id)
        if internal is None:
            raise NotFound(f"no client with id {client_id!r}")
        return store.flags_of(conn, internal)


def describe(flag: ContactFlag) -> str:
    """How a flag reads to people: "phone as written: 555-0407 — not a full number"."""
    return f"{flag.field} as written: {flag.written} — {flag.reason}"
