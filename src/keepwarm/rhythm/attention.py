"""When does a client's silence become unusual for *their own* rhythm?

Both repeat-purchase models share the Poisson/gamma purchasing story: while alive, a client
buys at rate ``lambda ~ Gamma(r, alpha)``. Seen at their last purchase (``x`` repeat purchases
over ``t_x`` units), the client's rate has posterior ``Gamma(r + x, alpha + t_x)`` (FHL 2005,
with ``T = t_x``), so the wait ``W`` for their next purchase, if still active, is
Lomax (Pareto II) distributed:

    P(W > w) = ((alpha + t_x) / (alpha + t_x + w))^(r + x).

``attention_after_day`` is the last purchase day plus the ``quantile`` (default 90%) of that
wait: from then on the silence is longer than 90% of the gaps this client would show while
active. It shrinks a client with few visits towards the population (``r``, ``alpha``) and
trusts a long history, it is fixed at the last purchase (a stable, indexable date), and
it is computed in closed form:

    w_q = (alpha + t_x) ((1 - q)^(-1 / (r + x)) - 1).

``silence_tail_probability`` is ``P(W > days since last purchase)``: the chance an active
client with this history would be this quiet; small means unusual. ``silence_ratio`` is the
days since the last purchase over the usual gap (the client's own median gap, or the median
of ``W`` for clients without gaps yet).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keepwarm.rhythm.summary import ClientSummary

__all__ = ["Silence", "silence"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Silence:
    """Per-client silence measures. Clients without activity get ``attention_after_day ==
    -1``, zero gaps and ratios, and a tail probability of 1."""

    quantile: float
    days_since_last: IntArray
    usual_gap_days: FloatArray
    silence_ratio: FloatArray
    silence_tail_probability: FloatArray
    attention_gap_days: FloatArray
    attention_after_day: IntArray


def lomax_quantile(shape: FloatArray, scale: FloatArray, q: float) -> FloatArray:
    """``w`` with ``P(W > w) = 1 - q`` for ``P(W > w) = (scale / (scale + w))^shape``."""
    return np.asarray(scale * np.expm1(-np.log1p(-q) / shape), dtype=np.float64)


def silence(
    summary: ClientSummary,
    r: float,
    alpha: float,
    *,
    quantile: float = 0.9,
    max_gap_days: float = 3650.0,
) -> Silence:
    """Silence measures and the attention date for every client (module docstring).

    ``r`` and ``alpha`` are the purchase-rate parameters of the chosen model (in the units of
    ``summary.unit_days``); ``max_gap_days`` caps the attention gap so that a one-off buyer in a
    business of very irregular clients still gets a date.
    """
    if not 0 < quantile < 1:
        raise ValueError("quantile must lie in (0, 1)")
    unit = summary.unit_days
    active = summary.has_activity
    x = summary.frequency.astype(np.float64)
    shape = r + x
    scale = alpha + summary.t_x
    since = summary.days_since_last
    gap = np.minimum(lomax_quantile(shape, scale, quantile) * unit, max_gap_days)
    gap = np.where(active, gap, 0.0)
    attention_day = np.where(active, summary.last_day + np.ceil(gap).astype(np.int64), -1)
    tail = np.exp(shape * (np.log(scale) - np.log(scale + since / unit)))
    tail = np.where(active, tail, 1.0)
    model_median = np.minimum(lomax_quantile(shape, scale, 0.5) * unit, max_gap_days)
    usual = np.where(summary.gap_count > 0, summary.gap_median_days, model_median)
    usual = np.where(active, np.maximum(usual, 1.0), 0.0)
    ratio = np.where(active, since / np.maximum(usual, 1.0), 0.0)
    return Silence(
        quantile=float(quantile),
        days_since_last=since,
        usual_gap_days=usual,
        silence_ratio=ratio,
        silence_tail_probability=tail,
        attention_gap_days=gap,
        attention_after_day=attention_day,
    )
