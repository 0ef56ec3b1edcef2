"""Why each client needs attention today: the store's facts through the pure signal rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from keepwarm.domain.model import Rhythm
from keepwarm.domain.policy import Policy
from keepwarm.domain.signals import ClientFacts, Signal
from keepwarm.rules import signals_for
from keepwarm.services.policy import get_policy
from keepwarm.store import facts as q
from keepwarm.store import reading


@dataclass(frozen=True)
class ClientSignals:
    """One client's facts and the reasons (most urgent first) they need attention today."""

    facts: ClientFacts
    signals: tuple[Signal, ...]


def client_facts(
    engine: Engine,
    as_of: dt.date,
    rhythms: Mapping[int, Rhythm] | None = None,
    activity: q.ActivityFacts | None = None,
    only: Sequence[int] | None = None,
) -> list[ClientFacts]:
    """The facts of every client as of `as_of`, in one read transaction (a consistent view):
    activities and touches after `as_of` are not counted. Rhythms are `rhythms` (by internal
    client id, as `compute_rhythms` returns them) or else the stored ones (learn them for
    `as_of` first with `keepwarm rhythm --as-of`). `activity`: each client's activity dates
    as of `as_of` when the caller has them (keepwarm.services.activity_snapshot), else read.
    `only`: those clients' facts (internal ids), not everyone's."""
    with reading(engine) as conn:
        everyone = q.all_clients(conn, only)
        acts = q.activity_facts(conn, as_of) if activity is None else activity
        touched = q.last_personal_touch(conn, as_of)
        asked = q.last_feedback_asked(conn, as_of)
        learned = q.stored_rhythms(conn) if rhythms is None else rhythms
    out = []
    for cid, client in everyone.items():
        first, last = acts.spans.get(cid, (None, None))
        by_kind = acts.last_by_kind.get(cid, {})
        if len(by_kind) == 1:  # most clients: one kind of activity
            [(sole, on)] = by_kind.items()
            last_kind = sole if on == last else None
        else:
            last_kind = min((k for k, d in by_kind.items() if d == last), default=None)
        out.append(
            ClientFacts(
                client=client,
                rhythm=learned.get(cid),
                first_activity=first,
                last_activity=last,
                last_activity_kind=last_kind,
                last_by_kind=by_kind,
                last_personal_touch=touched.get(cid),
                last_feedback_asked=asked.get(cid),
            )
        )
    return out


def signals_today(
    engine: Engine, as_of: dt.date, policy: Policy | None = None
) -> list[ClientSignals]:
    """Every client with at least one signal on `as_of`, with their signals."""
    policy = policy or get_policy(engine)
    found = []
    for facts in client_facts(engine, as_of):
        signals = signals_for(facts, policy, as_of)
        if signals:
            found.append(ClientSignals(facts, signals))
    return found
