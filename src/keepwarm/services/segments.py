"""Value tiers and recency-frequency-value segments of clients, from their stored rhythms and
the cuts stored with them (the rules are in keepwarm.domain.segments)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from keepwarm.domain.errors import NotFound
from keepwarm.domain.segments import Rfm, StandingCuts
from keepwarm.store import audiences as store
from keepwarm.store import reading, rhythms
from keepwarm.store.tables import clients


@dataclass(frozen=True)
class Standing:
    """A client's value tier ("top", "middle", "rest") and RFM scores and segment (None for a
    client without a visit on record in their rhythm)."""

    tier: str
    rfm: Rfm | None

    @property
    def segment(self) -> str | None:
        return self.rfm.segment if self.rfm else None


@dataclass(frozen=True)
class Standings:
    """Every client's standing; a client not in `by_client` (no rhythm yet) is "rest", no
    segment."""

    by_client: dict[int, Standing]

    def of(self, client_id: int) -> Standing:
        return self.by_client.get(client_id, Standing("rest", None))


def standings(conn: Connection) -> Standings:
    """Tiers and segments of every client with a rhythm, in the caller's transaction."""
    cuts = rhythms.current_standing_cuts(conn)
    return Standings({n.client_id: _standing(cuts, n) for n in store.rhythm_numbers(conn)})


def client_standing(engine: Engine, client_ref: str) -> Standing:
    """The standing of the client with the business's id `client_ref` (for their page): what
    `standings` gives them, from the stored cuts instead of ranking everyone."""
    with reading(engine) as conn:
        internal = conn.execute(
            select(clients.c.id).where(clients.c.external_id == client_ref)
        ).scalar_one_or_none()
        if internal is None:
            raise NotFound(f"no client {client_ref!r} (see `keepwarm clients`)")
        found = store.rhythm_numbers(conn, internal)
        if not found:
            return Standing("rest", None)
        return _standing(rhythms.current_standing_cuts(conn), found[0])


def _standing(cuts: StandingCuts, n: store.RhythmNumbers) -> Standing:
    tier = cuts.tier(n.client_id, n.clv_cents)
    if n.days_since_last is None or n.activities <= 0:
        return Standing(tier, None)
    return Standing(tier, cuts.rfm(n.days_since_last, n.activities, n.monthly_value_cents))
