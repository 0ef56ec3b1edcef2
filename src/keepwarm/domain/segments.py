"""Value tiers and recency-frequency-value segments: pure functions of the rhythms' numbers.

Value tiers rank clients by the rhythm's expected value (clv_cents): the top 20% are "top", the
next 30% "middle", the rest (and clients without a rhythm) "rest". Ties are broken by the
internal id, so the split is exactly 20/30/50 and the same on every run.

Segments follow the standard RFM recipe: each client with a visit gets three scores from 1 to
5 by quintile of the practice's own clients — recency (days since the last visit, fewer is
better), frequency (visits) and value (the rhythm's monthly value) — and the scores name the
segment (first rule that matches):

    champions        R >= 4, F >= 4, V >= 4
    loyal            R >= 3, F >= 4
    can't lose them  R <= 2, F >= 4, V >= 4
    at risk          R <= 2, F >= 3
    new              R >= 4, F = 1
    promising        R >= 4
    need attention   R = 3
    hibernating      R = 2
    lost             R = 1

Ranking every client for each page would cost a scan of every rhythm (a quarter of a second
a page at a million clients), so the rankings are summed up once, whenever the rhythms are
written, as `StandingCuts`: the few values where the tiers and quintiles split. A client's
standing is then a handful of comparisons, and the same as ranking everyone
(`value_tiers`, `rfm`: the definition, which the tests hold the cuts to).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

TOP_SHARE = 0.2
MIDDLE_SHARE = 0.3


def value_tiers(values: Mapping[int, int]) -> dict[int, str]:
    """Tier per client id from the expected value in cents (see the module docstring)."""
    ranked = sorted(values, key=lambda cid: (-values[cid], cid))
    n = len(ranked)
    return {cid: tier_at(i, n) for i, cid in enumerate(ranked)}


def tier_at(rank: int, n: int) -> str:
    """The tier of the client at `rank` (0 = the most valuable; ties by internal id) of `n`."""
    if rank < round(n * TOP_SHARE):
        return "top"
    return "middle" if rank < round(n * (TOP_SHARE + MIDDLE_SHARE)) else "rest"


def quintile_scores(values: Mapping[int, float], *, higher_is_better: bool) -> dict[int, int]:
    """Scores 1-5 by quintile of rank; equal values get the same score (the lower rank's)."""
    ordered = sorted(values.items(), key=lambda kv: kv[1] if higher_is_better else -kv[1])
    n = len(ordered)
    out: dict[int, int] = {}
    first_rank: dict[float, int] = {}
    for i, (cid, v) in enumerate(ordered):
        out[cid] = quintile_at(first_rank.setdefault(v, i), n)
    return out


def quintile_at(rank: int, n: int) -> int:
    """The score 1-5 of a value whose rank (how many of the `n` values are worse) is `rank`."""
    return 1 + min(4, (5 * rank) // n)


@dataclass(frozen=True)
class Rfm:
    """A client's recency, frequency and value scores (1-5) and the segment they name."""

    recency: int
    frequency: int
    value: int

    @property
    def segment(self) -> str:
        return segment_of(self.recency, self.frequency, self.value)


def segment_of(r: int, f: int, v: int) -> str:
    """The segment named by the three scores (the table in the module docstring)."""
    if r >= 4 and f >= 4 and v >= 4:
        return "champions"
    if r >= 3 and f >= 4:
        return "loyal"
    if r <= 2 and f >= 4 and v >= 4:
        return "can't lose them"
    if r <= 2 and f >= 3:
        return "at risk"
    if r >= 4 and f == 1:
        return "new"
    if r >= 4:
        return "promising"
    if r == 3:
        return "need attention"
    if r == 2:
        return "hibernating"
    return "lost"


@dataclass(frozen=True)
class RfmInput:
    client_id: int
    days_since_last: int
    visits: int
    monthly_value_cents: int


def rfm(rows: Sequence[RfmInput]) -> dict[int, Rfm]:
    """Scores and segment per client (clients who never came are not in `rows`)."""
    r = quintile_scores({x.client_id: x.days_since_last for x in rows}, higher_is_better=False)
    f = quintile_scores({x.client_id: x.visits for x in rows}, higher_is_better=True)
    v = quintile_scores({x.client_id: x.monthly_value_cents for x in rows}, higher_is_better=True)
    return {x.client_id: Rfm(r[x.client_id], f[x.client_id], v[x.client_id]) for x in rows}


QUINTILES = 5


@dataclass(frozen=True)
class StandingCuts:
    """Where the tiers and the RFM quintiles of a practice's rhythms split.

    `n` rhythms; `top` and `middle`: the (value, internal id) of the first client ranked below
    the top tier and below the middle tier (None: there is none, everyone ranks above).
    `scored` clients with a visit on record; `recency`, `frequency`, `value`: for the scores
    2 to 5, the value a client must be strictly better than to reach that score (the score's
    first rank's worse neighbour), or nothing when no one is scored."""

    n: int
    top: tuple[int, int] | None
    middle: tuple[int, int] | None
    scored: int
    recency: tuple[int, ...]
    frequency: tuple[int, ...]
    value: tuple[int, ...]

    def tier(self, client_id: int, clv_cents: int) -> str:
        """The tier of the client `client_id` worth `clv_cents`: what `value_tiers` gives."""

        def above(cut: tuple[int, int] | None) -> bool:
            return cut is None or (-clv_cents, client_id) < (-cut[0], cut[1])

        if above(self.top):
            return "top"
        return "middle" if above(self.middle) else "rest"

    def rfm(self, days_since_last: int, visits: int, monthly_value_cents: int) -> Rfm:
        """The RFM scores of a client with a visit on record: what `rfm` gives."""
        return Rfm(
            1 + sum(days_since_last < cut for cut in self.recency),
            1 + sum(visits > cut for cut in self.frequency),
            1 + sum(monthly_value_cents > cut for cut in self.value),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "top": self.top,
            "middle": self.middle,
            "scored": self.scored,
            "recency": self.recency,
            "frequency": self.frequency,
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StandingCuts:
        def key(found: Sequence[int] | None) -> tuple[int, int] | None:
            return None if found is None else (int(found[0]), int(found[1]))

        return cls(
            n=int(data["n"]),
            top=key(data["top"]),
            middle=key(data["middle"]),
            scored=int(data["scored"]),
            recency=tuple(int(v) for v in data["recency"]),
            frequency=tuple(int(v) for v in data["frequency"]),
            value=tuple(int(v) for v in data["value"]),
        )


def standing_cuts(
    client_id: NDArray[np.int64],
    clv_cents: NDArray[np.int64],
    days_since_last: NDArray[np.float64],
    visits: NDArray[np.int64],
    monthly_value_cents: NDArray[np.int64],
) -> StandingCuts:
    """The cuts of every client's rhythm numbers (one entry per client; `days_since_last` NaN
    for a client without a visit on record, who is not scored)."""
    n = int(client_id.size)
    by_value = np.lexsort((client_id, -clv_cents))  # the most valuable first, ties by id

    def key_at(rank: int) -> tuple[int, int] | None:
        if rank >= n:
            return None
        at = by_value[rank]
        return int(clv_cents[at]), int(client_id[at])

    scored = ~np.isnan(days_since_last) & (visits > 0)
    m = int(np.count_nonzero(scored))
    # a score s+1 needs at least ceil(s*m/5) worse values: the value at that place, worst first
    places = [math.ceil(s * m / QUINTILES) - 1 for s in range(1, QUINTILES)] if m else []

    def cuts(values: NDArray[Any], *, higher_is_better: bool) -> tuple[int, ...]:
        ordered = np.sort(values[scored])
        if not higher_is_better:
            ordered = ordered[::-1]
        return tuple(int(ordered[p]) for p in places)

    return StandingCuts(
        n=n,
        top=key_at(round(n * TOP_SHARE)),
        middle=key_at(round(n * (TOP_SHARE + MIDDLE_SHARE))),
        scored=m,
        recency=cuts(days_since_last, higher_is_better=False),
        frequency=cuts(visits, higher_is_better=True),
        value=cuts(monthly_value_cents, higher_is_better=True),
    )
