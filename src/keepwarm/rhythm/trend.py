"""Is a client's recent usage significantly above or below their own baseline?

Two tests per client, on the summary's split of repeat purchase days into the recent window
``(as_of - window, as_of]`` and the baseline from the first purchase to the window:

- **Visit rate** — the exact conditional test for two Poisson rates (Przyborowski & Wilenski
  1940; Lehmann & Romano, *Testing Statistical Hypotheses*, on comparing two Poisson
  distributions): given ``n = n0 + n1`` visits, under equal rates
  ``n1 ~ Binomial(n, t1 / (t0 + t1))``. Two-sided p-value by doubling the smaller tail
  (exact, conservative for discrete data). Visits are distinct purchase days, so a client
  cannot exceed one per day, and rate changes of heavy daily users are damped.
- **Spend per visit** — Welch's t-test on the recent vs baseline purchase-day totals.

A client gets a direction (+1 ``usage_up``, -1 ``usage_down``: the sign of the significant
change; of overall usage, spend per day, when visits and spend per visit both changed
significantly in opposite ways) only when the Bonferroni-
combined p-value ``min(1, 2 min(p_visits, p_spend))`` is below ``alpha``, so a steady client
is flagged with probability at most ``alpha``; and only with enough history: a baseline at
least as long as the window holding at least ``min_baseline_visits`` repeat visits (and, for
spend, ``min_spend_visits`` visits on each side with a positive baseline mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import bdtr, bdtrc, stdtr

from keepwarm.rhythm.summary import ClientSummary

__all__ = ["Trend", "trend"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class Trend:
    """Per-client trend statistics. Changes are relative (+0.35 = +35%) and 0.0 where they
    cannot be computed; p-values are 1.0 where a test was not run."""

    alpha: float
    window_days: int
    eligible: BoolArray
    visits_recent: IntArray
    visits_baseline: IntArray
    visits_change: FloatArray
    visits_p_value: FloatArray
    spend_per_visit_change: FloatArray
    spend_p_value: FloatArray
    usage_change: FloatArray
    p_value: FloatArray
    direction: IntArray


def _ratio_change(num: FloatArray, den: FloatArray, ok: BoolArray) -> FloatArray:
    out = np.zeros(num.shape)
    good = ok & (den > 0)
    out[good] = num[good] / den[good] - 1.0
    return out


def _poisson_rate_p_value(
    n1: FloatArray, n0: FloatArray, t1: float | FloatArray, t0: FloatArray
) -> FloatArray:
    """Two-sided exact conditional p-value for equal Poisson rates (see module docstring)."""
    k = n1.astype(np.int64)
    n = k + n0.astype(np.int64)
    share = t1 / (t1 + t0)
    lower = bdtr(k, n, share)
    upper = np.where(k > 0, bdtrc(np.maximum(k - 1, 0), n, share), 1.0)
    return np.minimum(1.0, 2.0 * np.minimum(lower, upper))


def _welch_p_value(
    m1: FloatArray, v1: FloatArray, n1: FloatArray, m0: FloatArray, v0: FloatArray, n0: FloatArray
) -> FloatArray:
    """Two-sided Welch t-test p-value; identical constant samples give p = 1, differing
    constant samples p = 0."""
    a, b = v1 / n1, v0 / n0
    se2 = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (m1 - m0) / np.sqrt(se2)
        df = se2**2 / (a**2 / np.maximum(n1 - 1, 1) + b**2 / np.maximum(n0 - 1, 1))
        p = 2.0 * stdtr(np.where(np.isfinite(df), df, 1.0), -np.abs(t))
    return np.where(se2 > 0, np.nan_to_num(p, nan=1.0), np.where(m1 == m0, 1.0, 0.0))


def trend(
    summary: ClientSummary,
    *,
    alpha: float = 0.05,
    min_change: float = 0.25,
    min_baseline_visits: int = 5,
    min_spend_visits: int = 3,
) -> Trend:
    """Test each client's recent window against their own baseline (module docstring).

    Vectorised over clients: one pass of closed-form binomial and Student-t tail functions.
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")
    window = float(summary.window_days)
    n1 = summary.recent_n_days.astype(np.float64)
    n0 = summary.base_n_days.astype(np.float64)
    t0 = (summary.as_of_day - summary.window_days - summary.first_day).astype(np.float64)
    t1 = np.full(n1.shape, window)
    eligible = summary.has_activity & (t0 >= window) & (n0 >= min_baseline_visits)

    visits_p = np.ones(n1.shape)
    visits_p[eligible] = _poisson_rate_p_value(n1[eligible], n0[eligible], window, t0[eligible])
    with np.errstate(divide="ignore", invalid="ignore"):
        visits_change = _ratio_change(n1 / t1, n0 / t0, eligible)

    m1 = np.where(n1 > 0, summary.recent_cents / np.maximum(n1, 1), 0.0)
    m0 = np.where(n0 > 0, summary.base_cents / np.maximum(n0, 1), 0.0)
    spend_ok = eligible & (n1 >= min_spend_visits) & (n0 >= min_spend_visits) & (m0 > 0)
    v1 = np.maximum(summary.recent_sq_cents - n1 * m1 * m1, 0.0) / np.maximum(n1 - 1, 1)
    v0 = np.maximum(summary.base_sq_cents - n0 * m0 * m0, 0.0) / np.maximum(n0 - 1, 1)
    spend_p = np.ones(n1.shape)
    ok = spend_ok
    spend_p[ok] = _welch_p_value(m1[ok], v1[ok], n1[ok], m0[ok], v0[ok], n0[ok])
    spend_change = _ratio_change(m1, m0, spend_ok)
    with np.errstate(divide="ignore", invalid="ignore"):
        usage_change = _ratio_change(
            summary.recent_cents / t1, summary.base_cents / np.maximum(t0, 1.0), eligible
        )

    p_value = np.minimum(1.0, 2.0 * np.minimum(visits_p, spend_p))
    by_visits = visits_p <= spend_p
    change = np.where(by_visits, visits_change, spend_change)
    # Which way is the client going? The way the significant test shows; but when visits and
    # spend per visit both changed significantly and in opposite ways (visits halved while
    # each visit costs more), overall usage (spend per day) decides, so that client is going
    # down, not up. Whether a client is flagged depends on p_value alone, so the false-alarm
    # rate is unchanged.
    half = alpha / 2
    torn = (visits_p < half) & (spend_p < half) & (visits_change * spend_change < 0)
    way = np.where(torn & (usage_change != 0.0), np.sign(usage_change), np.sign(change))
    large = np.abs(np.where(torn, usage_change, change)) >= min_change
    direction = np.where((p_value < alpha) & large, way, 0.0).astype(np.int64)
    return Trend(
        alpha=float(alpha),
        window_days=summary.window_days,
        eligible=eligible,
        visits_recent=summary.recent_n_days,
        visits_baseline=summary.base_n_days,
        visits_change=visits_change,
        visits_p_value=visits_p,
        spend_per_visit_change=spend_change,
        spend_p_value=spend_p,
        usage_change=usage_change,
        p_value=p_value,
        direction=direction,
    )
