"""Discounted customer lifetime value over a finite horizon.

As in lifetimes' ``customer_lifetime_value`` (after Fader, Hardie & Lee 2005b):
the horizon is cut into periods (months of ``period_days`` days); the expected purchases in
each period are the difference of the conditional expectations at its two ends; each
period's purchases are valued at the expected spend per purchase and discounted at the
per-period rate:

    CLV = spend × Σ_{i=1..H} (E[Y(t_i)] - E[Y(t_{i-1})]) / (1 + d)^i,   t_i = i × period.

Both repeat-purchase models factor ``E[Y(t) | x, t_x, T] = P(alive) × K(t; x, T)``, so the sum
is computed once per distinct ``(x, T)`` pair and multiplied by each client's P(alive).
"""

from __future__ import annotations

from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keepwarm.rhythm._optim import unique_rows
from keepwarm.rhythm.bgnbd import BGNBDParams
from keepwarm.rhythm.paretonbd import ParetoNBDParams

__all__ = ["customer_lifetime_value", "discounted_expected_transactions"]

FloatArray = NDArray[np.float64]
RepeatModel = BGNBDParams | ParetoNBDParams


def discounted_expected_transactions(
    model: RepeatModel,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    periods: int = 12,
    discount_rate: float = 0.01,
    period_days: float = 30.0,
    p_alive: ArrayLike | None = None,
) -> FloatArray:
    """``Σ_i (E[Y(t_i)] - E[Y(t_{i-1})]) / (1 + d)^i`` per client (times in model units).

    ``p_alive`` may be passed when already computed, to save its evaluation.
    """
    if periods < 0 or discount_rate <= -1 or period_days <= 0:
        raise ValueError("need periods >= 0, discount_rate > -1 and period_days > 0")
    xs, txs, ts = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(x, t_x, T))
    shape = xs.shape
    xs, txs, ts = xs.ravel(), txs.ravel(), ts.ravel()
    (ux, uT), inverse = unique_rows(xs, ts)
    step = period_days / model.unit_days
    horizons = step * np.arange(periods + 1, dtype=np.float64)[:, None]
    cumulative = model.expected_if_alive(horizons, ux[None, :], uT[None, :])
    discount = (1.0 + discount_rate) ** -np.arange(1, periods + 1, dtype=np.float64)
    # einsum, not ``@``: multi-threaded BLAS is slow for this shape on small busy machines.
    per_pair = np.einsum("i,ij->j", discount, np.diff(cumulative, axis=0))
    alive = model.p_alive(xs, txs, ts) if p_alive is None else np.asarray(p_alive).ravel()
    return cast(FloatArray, (per_pair[inverse] * alive).reshape(shape))


def customer_lifetime_value(
    model: RepeatModel,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    expected_spend: ArrayLike,
    *,
    months: int = 12,
    monthly_discount: float = 0.01,
    period_days: float = 30.0,
) -> FloatArray:
    """Discounted value of each client's expected purchases over the next ``months`` months,
    in the currency unit of ``expected_spend`` (per purchase). Never negative."""
    units = discounted_expected_transactions(
        model, x, t_x, T, periods=months, discount_rate=monthly_discount, period_days=period_days
    )
    return units * np.maximum(np.asarray(expected_spend, dtype=np.float64), 0.0)
