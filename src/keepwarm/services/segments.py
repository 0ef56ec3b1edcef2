"""Value tiers and recency-frequency-value segments of every client, computed from the stored
rhythms once per request (the rules are in keepwarm.domain.segments)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from keepwarm.domain.errors import NotFound
from keepwarm.domain.segments import Rfm, RfmInput, quintile_at, rfm, tier_at, value_tiers
from keepwarm.store import audiences as store
from keepwarm.store import reading
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
    numbers = store.rhythm_numbers(conn)
    tiers = value_tiers({n.client_id: n.clv_cents for n in numbers})
    scored = rfm(
        [
            RfmInput(n.client_id, n.days_since_last, n.activities, n.monthly_value_cents)
            for n in numbers
            if n.days_since_last is not None and n.activities > 0
        ]
    )
    return Standings(
        {n.client_id: Standing(tiers[n.client_id], scored.get(n.client_id)) for n in numbers}
    )


def client_standing(engine: Engine, client_ref: str) -> Standing:
    """The standing of the client with the business's id `client_ref` (for their page): what
    `standings` gives them, from counts instead of ranking everyone."""
    with reading(engine) as conn:
        internal = conn.execute(
            select(clients.c.id).where(clients.c.external_id == client_ref)
        ).scalar_one_or_none()
        if internal is None:
            raise NotFound(f"no client {client_ref!r} (see `keepwarm clients`)")
        found = store.rhythm_numbers(conn, internal)
        if not found:
            return Standing("rest", None)
        # counted in one scan, not by ranking every client (13.9 s a page at a million)
        mine = found[0]
        ranks = store.ranks_of(conn, mine)
    tier = tier_at(ranks.value_rank, ranks.n)
    if mine.days_since_last is None or mine.activities <= 0:
        return Standing(tier, None)
    return Standing(
        tier,
        Rfm(
            quintile_at(ranks.recency_rank, ranks.scored),
            quintile_at(ranks.frequency_rank, ranks.scored),
            quintile_at(ranks.monthly_rank, ranks.scored),
        ),
    )
