"""Has a client's usage changed by enough to matter, clearly, against their own baseline?

The recent window is fitted to each client's own rhythm (the summary's ``trend_*`` fields:
about 26 usual gaps, between 91 and 182 days), so a monthly client is judged on six months
and a weekly client on 26 weeks. Repeat purchase days before the window are the baseline
(at least as long as the window, with at least ``min_baseline_visits`` visits). Two changes
are measured, each as a log ratio ``d`` of recent to baseline:

- **Visit rate**, ``d = log((n1 / W) / (n0 / t0))``. Visits are a renewal process, not
  Poisson: a weekly client comes every 5 to 9 days, far more regularly than Poisson, and a
  count over ``W`` days varies by about ``phi = CV^2`` of the gaps times its mean (Cox 1962,
  *Renewal Theory*, 4.5), plus up to 1/4 for where the window happens to start. ``phi`` is the
  client's own baseline gap ``CV^2``, shrunk towards Poisson (1) by two pseudo-gaps. Given
  all ``n = n0 + n1`` visits, under equal rates the window holds ``n1`` with mean ``n W /
  (W + t0)``; the test compares the shares on the arcsine scale (Anscombe 1948), whose
  delta-method variance carries ``phi``.
- **Spend per visit**, ``d = log(m1 / m0)`` of the mean purchase-day totals, with the pooled
  *relative* variance of both sides (a steady client's spread is the same before and after)
  and Student's t on ``n0 + n1 - 2`` degrees of freedom. The relative spread is floored at 5%,
  so fixed prices never give a zero variance and a p-value of 0.

A change is reported only when it is both **large enough to matter** — ``|d| >=
log(1 + min_change)``: with 25%, up by a quarter or down by a fifth (the same factor 1.25
either way) — and **clear**: its two-sided p-value against "no change" is below ``alpha / 2
/ (1 + TESTS_PER_QUARTER * 91 / W)`` (Bonferroni over the two measures). So fixed prices and
a 2% price rise are never usage changes, however exact, and a noisy client needs a larger
change. (Requiring the change to be *proven* above 25%, an interval null at ``min_change``,
would catch a +33% change in under a fifth of weekly clients after six months.)

``alpha`` is the false-alarm rate **per client per quarter**: a steady client scored every
day of a quarter is flagged on any of those days with probability at most ``alpha``.
Consecutive days share most of their window, so a quarter holds only a few effectively
independent tests, more for a shorter window; ``TESTS_PER_QUARTER`` was calibrated by
simulating steady weekly, monthly and quarterly clients (regular and Poisson visits; fixed,
varying and slightly rising prices) scored on 91 consecutive days (``bench/bench_trend.py``,
``docs/benchmarks.md``).

A client who has stopped coming — no visit in the window, or a silence of more than
``stopped_gaps`` usual gaps — gets direction 0: that is ``lapsing``, not a trend. When visit
rate and spend per visit both changed clearly in opposite ways, overall usage (spend per
day) decides the direction. The changes reported are plain relative changes (+0.33 = +33%).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, stdtr

from keepwarm.rhythm.summary import ClientSummary

__all__ = ["TESTS_PER_QUARTER", "Trend", "trend"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Effective independent tests per quarter, per quarter's worth of window (calibrated by
#: simulation): a client with a ``W``-day window is tested at ``alpha / (1 + k * 91 / W)``.
TESTS_PER_QUARTER = 12.0
_PRIOR_GAPS = 2.0  # pseudo-gaps of Poisson irregularity in each client's dispersion
_PHASE_VARIANCE = 0.25  # count variance of a perfectly regular client from the window's start
_MIN_SPEND_CV = 0.05  # relative spread floor: fixed prices are not infinitely precise


@dataclass(frozen=True, slots=True, eq=False)
class Trend:
    """Per-client trend statistics. Changes are relative (+0.35 = +35%) and 0.0 where they
    cannot be computed; p-values (against "no change") are 1.0 where a test was not run.
    ``window_days`` is the longest recent window; ``recent_window_days`` each client's own.
    Every array is the result's own: changing one leaves the summary as it was."""

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
    min_change: float
    recent_window_days: IntArray
    visits_dispersion: FloatArray
    stopped: BoolArray


def _safe_ratio(num: FloatArray, den: FloatArray, ok: BoolArray) -> FloatArray:
    out = np.ones(num.shape)
    good = ok & (den > 0) & (num > 0)
    out[good] = num[good] / den[good]
    return out


def _visit_p_value(
    n1: FloatArray, n0: FloatArray, t1: FloatArray, t0: FloatArray, phi: FloatArray
) -> FloatArray:
    """Two-sided p-value for equal visit rates of an overdispersed renewal count: given all
    ``n`` visits, the window's share against its share of the time, on the arcsine scale
    (nearly symmetric even for a handful of visits, where the log of a count is skewed)."""
    n = n0 + n1
    share = t1 / (t0 + t1)
    var = phi * n * share * (1 - share) + _PHASE_VARIANCE * (1 - share) ** 2
    se = np.sqrt(var / (4 * n**2 * share * (1 - share)))
    seen = np.arcsin(np.sqrt((n1 + 0.375) / (n + 0.75)))
    z = (seen - np.arcsin(np.sqrt(share))) / se
    return np.asarray(np.minimum(1.0, 2.0 * ndtr(-np.abs(z))), dtype=np.float64)


def _spend_p_value(
    m1: FloatArray, s1: FloatArray, n1: FloatArray, m0: FloatArray, s0: FloatArray, n0: FloatArray
) -> FloatArray:
    """Two-sided p-value for equal mean spend, on the log scale with the pooled relative
    variance (``s`` are sums of squares of the purchase-day totals)."""
    ss = np.maximum(s1 / m1**2 - n1, 0.0) + np.maximum(s0 / m0**2 - n0, 0.0)
    df = np.maximum(n1 + n0 - 2, 1)
    cv2 = np.maximum(ss / df, _MIN_SPEND_CV**2)
    t = np.log(m1 / m0) / np.sqrt(cv2 * (1 / n1 + 1 / n0))
    return np.asarray(np.minimum(1.0, 2.0 * stdtr(df, -np.abs(t))), dtype=np.float64)


def trend(
    summary: ClientSummary,
    *,
    alpha: float = 0.05,
    min_change: float = 0.25,
    min_baseline_visits: int = 5,
    min_spend_visits: int = 3,
    stopped_gaps: float = 4.0,
) -> Trend:
    """Flag clients whose usage changed by at least ``min_change``, clearly, with at most
    ``alpha`` false alarms per steady client per quarter (module docstring).

    Vectorised over clients: closed-form normal and Student-t tails, no per-client loop.
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")
    if min_change <= 0:
        raise ValueError("min_change must be positive")
    s = summary
    t0_all = (s.as_of_day - s.trend_window_days - s.first_day).astype(np.float64)
    n0_all = (s.frequency - s.trend_recent_n_days).astype(np.float64)
    eligible = s.has_activity & (t0_all >= s.trend_window_days) & (n0_all >= min_baseline_visits)
    # Everything below is computed for the eligible clients only (often a minority), then
    # scattered back: the same numbers, without passes over every client.
    e = np.flatnonzero(eligible)
    t1 = s.trend_window_days[e].astype(np.float64)
    n1 = s.trend_recent_n_days[e].astype(np.float64)
    n0, t0 = n0_all[e], t0_all[e]
    is_stopped = (n1 == 0) | (
        s.days_since_last[e] > stopped_gaps * np.maximum(s.gap_median_days[e], 1.0)
    )
    live = ~is_stopped
    every = np.ones(e.size, dtype=bool)

    # The client's own irregularity: CV^2 of their baseline gaps, shrunk towards Poisson.
    g = np.maximum(n0, 1.0)
    mean_gap = s.trend_base_gap_sum[e] / g
    with np.errstate(divide="ignore", invalid="ignore"):
        var_gap = np.maximum(s.trend_base_gap_sq[e] - g * mean_gap**2, 0.0) / np.maximum(g - 1, 1)
        cv2 = np.where(mean_gap > 0, var_gap / mean_gap**2, 1.0)
    phi = (n0 * cv2 + _PRIOR_GAPS) / (n0 + _PRIOR_GAPS)

    visits_ratio = _safe_ratio(n1 / t1, n0 / np.maximum(t0, 1.0), every)
    visits_p = np.ones(e.size)
    visits_p[live] = _visit_p_value(n1[live], n0[live], t1[live], t0[live], phi[live])

    recent_cents = s.trend_recent_cents[e].astype(np.float64)
    base_cents = (s.repeat_cents[e] - s.trend_recent_cents[e]).astype(np.float64)
    recent_sq = s.trend_recent_sq_cents[e]
    base_sq = s.base_sq_cents[e] + s.recent_sq_cents[e] - recent_sq
    m1 = recent_cents / np.maximum(n1, 1.0)
    m0 = base_cents / np.maximum(n0, 1.0)
    ok = live & (n1 >= min_spend_visits) & (n0 >= min_spend_visits) & (m0 > 0) & (m1 > 0)
    spend_ratio = _safe_ratio(m1, m0, ok)
    spend_p = np.ones(e.size)
    spend_p[ok] = _spend_p_value(m1[ok], recent_sq[ok], n1[ok], m0[ok], base_sq[ok], n0[ok])
    usage_ratio = _safe_ratio(recent_cents / t1, base_cents / np.maximum(t0, 1.0), every)

    # Each measure fires when its change is large enough and clear (module docstring).
    level = alpha / 2.0 / (1.0 + TESTS_PER_QUARTER * 91.0 / t1)
    large = np.log1p(min_change)
    fires_v = live & (visits_p < level) & (np.abs(np.log(visits_ratio)) >= large)
    fires_s = ok & (spend_p < level) & (np.abs(np.log(spend_ratio)) >= large)
    sign_v, sign_s = np.sign(np.log(visits_ratio)), np.sign(np.log(spend_ratio))
    # Visits halved while each visit costs more: overall usage (spend per day) decides.
    torn = fires_v & fires_s & (sign_v != sign_s)
    way = np.where(fires_v, sign_v, sign_s)
    way = np.where(torn & (usage_ratio != 1.0), np.sign(np.log(usage_ratio)), way)

    def full(values: FloatArray, fill: float = 0.0) -> FloatArray:
        out = np.full(s.n_clients, fill, dtype=np.float64)
        out[e] = values
        return out

    stopped = np.zeros(s.n_clients, dtype=bool)
    stopped[e] = is_stopped
    spend_ok = np.zeros(s.n_clients, dtype=bool)
    spend_ok[e] = ok
    direction = full(np.where(fires_v | fires_s, way, 0.0)).astype(np.int64)
    visits_p, spend_p = full(visits_p, 1.0), full(spend_p, 1.0)
    return Trend(
        alpha=float(alpha),
        window_days=int(s.trend_window_days.max()) if s.n_clients else 0,
        eligible=eligible,
        visits_recent=s.trend_recent_n_days.copy(),
        visits_baseline=n0_all.astype(np.int64),
        visits_change=full(visits_ratio - 1.0),
        visits_p_value=visits_p,
        spend_per_visit_change=full(np.where(ok, spend_ratio - 1.0, 0.0)),
        spend_p_value=spend_p,
        usage_change=full(usage_ratio - 1.0),
        p_value=np.minimum(1.0, 2.0 * np.minimum(visits_p, spend_p)),
        direction=direction,
        min_change=float(min_change),
        recent_window_days=s.trend_window_days.copy(),
        visits_dispersion=full(phi),
        stopped=stopped,
    )
