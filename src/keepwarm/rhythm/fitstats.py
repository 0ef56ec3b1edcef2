"""What the population fit needs to know, compressed: counts of distinct patterns, never one
row per client.

The repeat-purchase models need each client only through ``(x, t_x, T)``; the spend model
through ``(x, repeat spend)``; the typical gap through the clients' median gaps; the holdout
choice through the calibration patterns and how many repeat days followed each. All of these
are *counts of distinct integer rows*, which add up across any split of the clients: a Spark
executor counts its own clients, the driver adds the counts up and fits. The number of
distinct rows grows far slower than the clients (docs/benchmarks.md measures it).

:func:`fit_stats` builds them from a local summary; :func:`from_counts` from counts added up
elsewhere. Both end in the same canonical order (sorted, repeated rows merged), so the same
counts give the same fit, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keepwarm.rhythm.compress import Compressed, compress_counts
from keepwarm.rhythm.summary import ClientSummary

__all__ = [
    "FitCounts",
    "FitStats",
    "Holdout",
    "add_counts",
    "distinct_rows",
    "fit_counts",
    "fit_stats",
    "from_counts",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Holdout:
    """The calibration day's patterns, and the repeat days each client made after it."""

    patterns: Compressed
    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    actual: FloatArray
    weight: FloatArray
    horizon: float
    """Units from the calibration day to the scoring day."""


@dataclass(frozen=True, slots=True, eq=False)
class FitStats:
    """Everything :func:`keepwarm.rhythm.population.fit_population_from` reads."""

    unit_days: float
    patterns: Compressed
    n_repeat_buyers: int
    gap_days: FloatArray
    gap_weight: FloatArray
    n_active: int
    mean_spend_sum: float
    spend_x: FloatArray
    spend_mean: FloatArray
    spend_weight: FloatArray
    holdout: Holdout | None

    @property
    def typical_gap_days(self) -> float | None:
        """The median of the clients' own median gaps (numpy's median of the expanded list),
        or None when no client has a gap."""
        n = round(float(self.gap_weight.sum()))
        if n == 0:
            return None
        ends = np.cumsum(self.gap_weight)

        def at(rank: int) -> float:
            return float(self.gap_days[int(np.searchsorted(ends, rank + 1))])

        if n % 2:
            return at(n // 2)
        return (at(n // 2 - 1) + at(n // 2)) / 2.0

    @property
    def mean_spend_cents(self) -> float:
        return self.mean_spend_sum / self.n_active if self.n_active else 0.0


@dataclass(frozen=True, slots=True, eq=False)
class FitCounts:
    """The raw counts behind :class:`FitStats`, as integer columns that add up across any split
    of the clients (what a Spark executor sends): ``patterns`` rows are ``(x, recency days,
    age days, clients)``; ``gaps`` ``(median gap x 2, clients)``; ``spend`` ``(x, repeat spend
    cents, clients)`` for repeat buyers; ``holdout`` ``(x, recency, age, repeat days after,
    clients)`` at the calibration day; plus the active clients, repeat buyers and the sum of
    their mean spends."""

    patterns: IntArray
    gaps: IntArray
    spend: IntArray
    holdout: IntArray | None
    n_active: int
    n_repeat_buyers: int
    mean_spend_sum: float


def distinct_rows(
    columns: list[IntArray], weights: IntArray | None = None
) -> tuple[IntArray, IntArray, IntArray]:
    """The distinct rows of non-negative integer columns, sorted (by the first column, then
    the next...), with the summed weights of each (1 per row by default) and the index of each
    one's first row. The columns are packed into one integer key when their ranges allow it:
    a 1-D sort is many times faster than ``np.unique(..., axis=0)``."""
    n = columns[0].size
    if weights is None:
        weights = np.ones(n, dtype=np.int64)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros((0, len(columns)), dtype=np.int64), empty, empty
    spans = [int(c.max()) + 1 for c in columns]
    if min(int(c.min()) for c in columns) < 0 or float(np.prod([float(x) for x in spans])) >= 2**62:
        rows = np.column_stack(columns)
        keys, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=weights, minlength=keys.shape[0])
        return keys.astype(np.int64), np.rint(counts).astype(np.int64), first.astype(np.int64)
    key = np.zeros(n, dtype=np.int64)
    for column, span in zip(columns, spans, strict=True):
        key = key * span + column
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    unique = ordered[starts]
    counts = np.add.reduceat(weights[order], starts)
    out = np.empty((unique.size, len(columns)), dtype=np.int64)
    rest = unique
    for i in range(len(columns) - 1, -1, -1):
        out[:, i] = rest % spans[i]
        rest = rest // spans[i]
    return out, counts.astype(np.int64), order[starts].astype(np.int64)


def _counted(columns: list[IntArray]) -> IntArray:
    """Distinct rows of the integer columns with how many times each occurs (last column)."""
    if columns[0].size == 0:
        return np.zeros((0, len(columns) + 1), dtype=np.int64)
    rows, counts, _ = distinct_rows([np.asarray(c, dtype=np.int64) for c in columns])
    return np.column_stack([rows, counts]).astype(np.int64)


def _merged(rows: IntArray) -> IntArray:
    """Rows with the same key (all but the last column) merged, counts added, sorted."""
    if rows.shape[0] == 0:
        return rows.astype(np.int64)
    keys, counts, _ = distinct_rows(
        [rows[:, i] for i in range(rows.shape[1] - 1)], rows[:, -1].astype(np.int64)
    )
    return np.column_stack([keys, counts]).astype(np.int64)


def fit_counts(summary: ClientSummary, calibration: ClientSummary | None = None) -> FitCounts:
    """Count one summary's clients (and, optionally, the same clients at a calibration day)."""
    active = summary.has_activity
    x = summary.frequency
    with_gap = summary.gap_count > 0
    repeat = x > 0
    holdout = None
    if calibration is not None:
        seen = calibration.has_activity
        holdout = _counted(
            [
                calibration.frequency[seen],
                calibration.recency_days[seen],
                calibration.age_days[seen],
                (summary.n_days - calibration.n_days)[seen],
            ]
        )
    return FitCounts(
        patterns=_counted([x[active], summary.recency_days[active], summary.age_days[active]]),
        gaps=_counted([np.rint(2.0 * summary.gap_median_days[with_gap]).astype(np.int64)]),
        spend=_counted([x[repeat], summary.repeat_cents[repeat]]),
        holdout=holdout,
        n_active=int(np.count_nonzero(active)),
        n_repeat_buyers=int(np.count_nonzero(repeat)),
        mean_spend_sum=float(np.sum(summary.mean_spend[active])),
    )


def from_counts(counts: FitCounts, unit_days: float, horizon_days: int | None) -> FitStats:
    """The fit's input from counts (in any order, repeated rows allowed); ``horizon_days``:
    from the calibration day to the scoring day, when ``counts.holdout`` is given."""
    p = _merged(counts.patterns)
    g = _merged(counts.gaps)
    s = _merged(counts.spend)
    holdout = None
    if counts.holdout is not None and horizon_days is not None:
        h = _merged(counts.holdout)
        holdout = Holdout(
            patterns=compress_counts(h[:, 0], h[:, 1], h[:, 2], h[:, 4], unit_days),
            x=h[:, 0].astype(np.float64),
            t_x=h[:, 1] / unit_days,
            T=h[:, 2] / unit_days,
            actual=h[:, 3].astype(np.float64),
            weight=h[:, 4].astype(np.float64),
            horizon=horizon_days / unit_days,
        )
    spend_x = s[:, 0]
    return FitStats(
        unit_days=float(unit_days),
        patterns=compress_counts(p[:, 0], p[:, 1], p[:, 2], p[:, 3], unit_days),
        n_repeat_buyers=int(counts.n_repeat_buyers),
        gap_days=g[:, 0] / 2.0,
        gap_weight=g[:, 1].astype(np.float64),
        n_active=int(counts.n_active),
        mean_spend_sum=float(counts.mean_spend_sum),
        spend_x=spend_x.astype(np.float64),
        spend_mean=s[:, 1] / np.maximum(spend_x, 1),
        spend_weight=s[:, 2].astype(np.float64),
        holdout=holdout,
    )


def fit_stats(summary: ClientSummary, calibration: ClientSummary | None = None) -> FitStats:
    """The fit's input from a local summary (and calibration summary)."""
    horizon = None if calibration is None else summary.as_of_day - calibration.as_of_day
    return from_counts(fit_counts(summary, calibration), summary.unit_days, horizon)


def add_counts(parts: list[FitCounts]) -> FitCounts:
    """The counts of several groups of clients together."""

    def stacked(rows: list[IntArray | None], width: int) -> IntArray:
        present = [r for r in rows if r is not None and r.shape[0]]
        return np.vstack(present) if present else np.zeros((0, width), dtype=np.int64)

    with_holdout = any(p.holdout is not None for p in parts)
    return FitCounts(
        patterns=stacked([p.patterns for p in parts], 4),
        gaps=stacked([p.gaps for p in parts], 2),
        spend=stacked([p.spend for p in parts], 3),
        holdout=stacked([p.holdout for p in parts], 5) if with_holdout else None,
        n_active=sum(p.n_active for p in parts),
        n_repeat_buyers=sum(p.n_repeat_buyers for p in parts),
        mean_spend_sum=float(sum(p.mean_spend_sum for p in parts)),
    )
