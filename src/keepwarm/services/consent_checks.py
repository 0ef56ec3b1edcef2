"""Consent on Today's list: before the daily job plans, each client's recorded refusals are
applied to what the planner sees, so a client who refused calls is not told "call" (the
planner falls back to a channel they allow) and one who refused every channel (phone, email,
texts and post) is not on the list at all. keepwarm.services.consent.refusal_of's rules, read
in one query for the clients with any consent event (few, in practice)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func, select

from keepwarm.domain.signals import ClientFacts
from keepwarm.services.consent import refusal_of
from keepwarm.store import reading
from keepwarm.store.audiences import latest_consent
from keepwarm.store.tables import clients, consent_events

# A channel's refusal blanks the contact detail the planner reads to suggest it.
BLANKED = {"phone": "phone", "email": "email", "post": "address"}
EVERY = ("phone", "email", "sms", "post")
_BATCH = 500


def reachable(engine: Engine, facts: Sequence[ClientFacts]) -> list[ClientFacts]:
    """`facts` with refused channels' details blanked, without clients who refused all."""
    with reading(engine) as conn:
        ids = dict(
            conn.execute(
                select(clients.c.external_id, clients.c.id).where(
                    clients.c.id.in_(select(func.distinct(consent_events.c.client_id)))
                )
            ).all()
        )
        events: dict[int, dict[str, Any]] = {}
        internal = list(ids.values())
        for start in range(0, len(internal), _BATCH):
            events |= latest_consent(conn, internal[start : start + _BATCH])
    out: list[ClientFacts] = []
    for f in facts:
        internal_id = ids.get(f.client.id)
        if internal_id is None:
            out.append(f)
            continue
        mine = events.get(internal_id, {})
        refused = {
            ch
            for ch in EVERY
            if ch in mine and not mine[ch].allowed and refusal_of(f.client, mine, ch) is not None
        }
        if refused >= set(EVERY) - {"sms"} and ("sms" in refused or not mine.get("sms")):
            continue  # refused everything: not on anyone's list
        blank: dict[str, Any] = {BLANKED[ch]: None for ch in refused if ch in BLANKED}
        out.append(
            dataclasses.replace(f, client=dataclasses.replace(f.client, **blank)) if blank else f
        )
    return out
