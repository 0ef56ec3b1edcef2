"""Previewing a draft template on a real client: one client's facts (not everyone's) and the
template rendered for a plausible signal, exactly as the morning's drafts are rendered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, select

from keepwarm.domain.errors import NotFound
from keepwarm.domain.model import Client
from keepwarm.domain.signals import ClientFacts
from keepwarm.messaging.drafts import preview_template
from keepwarm.messaging.templates import DEFAULTS
from keepwarm.services.clients import find_clients
from keepwarm.store import queries as q
from keepwarm.store import reading
from keepwarm.store.tables import activities, touches


def one_client_facts(engine: Engine, client_id: str, as_of: dt.date) -> ClientFacts:
    """The facts of one client as of `as_of` (what `services.signals.client_facts` computes for
    everyone, without the rhythm and feedback history a draft does not use)."""
    with reading(engine) as conn:
        client = q.get_client(conn, client_id)
        internal = q.client_internal_id(conn, client_id)
        if client is None or internal is None:
            raise NotFound(f"no client with id {client_id!r}")
        rows = conn.execute(
            select(activities.c.kind, func.min(activities.c.date), func.max(activities.c.date))
            .where(activities.c.client_id == internal, activities.c.date <= as_of)
            .group_by(activities.c.kind)
        ).all()
        touched = conn.execute(
            select(func.max(touches.c.date)).where(
                and_(
                    touches.c.client_id == internal,
                    touches.c.personal.is_(True),
                    touches.c.date <= as_of,
                )
            )
        ).scalar()
    first = min((r[1] for r in rows), default=None)
    last = max((r[2] for r in rows), default=None)
    by_kind = {r[0]: r[2] for r in rows if r[0] is not None}
    last_kind = min((k for k, d in by_kind.items() if d == last), default=None)
    return ClientFacts(
        client=client,
        first_activity=first,
        last_activity=last,
        last_activity_kind=last_kind,
        last_by_kind=by_kind,
        last_personal_touch=touched,
    )


@dataclass(frozen=True)
class TemplateSlot:
    """One editable template: a signal code and form, the text in force, and whose it is."""

    code: str
    form: str
    text: str
    default: str
    own: bool


def template_slots(own: Mapping[str, Mapping[str, str]]) -> list[TemplateSlot]:
    """Every template a draft can use ("lapsing.letter", ...), the owner's version when they
    have one (`own` is the policy's `templates`), else the default."""
    out = []
    for key, default in DEFAULTS.items():
        code, form = key.split(".")
        text = (own.get(code) or {}).get(form)
        out.append(TemplateSlot(code, form, text or default, default, bool(text)))
    return sorted(out, key=lambda s: (s.code, s.form != "letter"))


def preview_clients(engine: Engine, limit: int = 50) -> list[Client]:
    """The clients offered for previews: the first `limit` by name."""
    items, _ = find_clients(engine, None, limit=limit)
    return [item.client for item in items]


def client_name(engine: Engine, client_id: str) -> str | None:
    """A client's name by their id, or None when there is no such client."""
    with reading(engine) as conn:
        client = q.get_client(conn, client_id)
    return client.name if client else None


def preview(
    engine: Engine, source: str, code: str, client_id: str, *, today: dt.date, staff: str | None
) -> str:
    """`source` rendered for a plausible signal of `code` on the real client `client_id`.
    Raises NotFound for an unknown client and InvalidInput for a template that cannot render."""
    facts = one_client_facts(engine, client_id, today)
    return preview_template(source, code, facts, staff=staff or facts.client.owner, today=today)
