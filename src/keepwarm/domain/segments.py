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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
