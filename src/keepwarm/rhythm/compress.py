"""Compressed sufficient statistics: distinct ``(x, t_x, T)`` patterns with their counts.

The BG/NBD and Pareto/NBD likelihoods depend on a client only through ``(x, t_x, T)``, so the
log-likelihood of a population is the count-weighted sum over the distinct patterns. With
recency and age in whole days, a million clients share far fewer patterns than a million, and
fitting cost grows with the patterns rather than the clients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keepwarm.rhythm.summary import ClientSummary

__all__ = ["Compressed", "compress", "compress_counts", "compress_summary"]


@dataclass(frozen=True, slots=True, eq=False)
class Compressed:
    """Distinct patterns ``(x, t_x, T)`` with ``weight`` = number of clients sharing each.

    ``inverse`` maps every input row to its pattern, so ``pattern_values[inverse]`` expands a
    per-pattern result back to one value per input row. Times are in model units of
    ``unit_days`` days.
    """

    x: NDArray[np.float64]
    t_x: NDArray[np.float64]
    T: NDArray[np.float64]
    weight: NDArray[np.float64]
    inverse: NDArray[np.int64]
    unit_days: float

    @property
    def n_patterns(self) -> int:
        return int(self.x.size)

    @property
    def n_clients(self) -> float:
        return float(self.weight.sum())


def compress(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    unit_days: float = 7.0,
) -> Compressed:
    """Group identical ``(x, t_x, T)`` rows (any float values) and add up their weights.

    Raises:
        ValueError: on mismatched lengths, negative values, ``t_x > T`` or non-integer ``x``.
    """
    xs = np.asarray(x, dtype=np.float64).ravel()
    txs = np.asarray(t_x, dtype=np.float64).ravel()
    ts = np.asarray(T, dtype=np.float64).ravel()
    w = np.ones_like(xs) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if not xs.shape == txs.shape == ts.shape == w.shape:
        raise ValueError("x, t_x, T and weights must have the same length")
    if xs.size:
        if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(txs)) and np.all(np.isfinite(ts))):
            raise ValueError("x, t_x and T must be finite")
        if xs.min() < 0 or txs.min() < 0 or np.any(txs > ts) or np.any(xs != np.round(xs)):
            raise ValueError("need integer x >= 0 and 0 <= t_x <= T")
    rows = np.stack([xs, txs, ts], axis=1)
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    inverse = inverse.ravel().astype(np.int64)
    weight = np.bincount(inverse, weights=w, minlength=unique.shape[0]).astype(
        np.float64, copy=False
    )
    return Compressed(
        x=unique[:, 0].copy(),
        t_x=unique[:, 1].copy(),
        T=unique[:, 2].copy(),
        weight=weight,
        inverse=inverse,
        unit_days=float(unit_days),
    )


def compress_summary(summary: ClientSummary, mask: ArrayLike | None = None) -> Compressed:
    """Compress the clients of a summary (those with activity, and in ``mask`` if given).

    Uses integer day keys, so it costs one integer sort. ``inverse`` has one entry per selected
    client, in client order.
    """
    select = summary.has_activity.copy()
    if mask is not None:
        select &= np.asarray(mask, dtype=bool)
    x = summary.frequency[select]
    rec = summary.recency_days[select]
    age = summary.age_days[select]
    if x.size == 0:
        empty = np.zeros(0, dtype=np.float64)
        return Compressed(empty, empty, empty, empty, np.zeros(0, np.int64), summary.unit_days)
    span = np.int64(max(int(age.max()), 0) + 1)
    key = (x * span + rec) * span + age
    unique, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    age_u = unique % span
    rec_u = (unique // span) % span
    x_u = unique // (span * span)
    unit = summary.unit_days
    return Compressed(
        x=x_u.astype(np.float64),
        t_x=rec_u / unit,
        T=age_u / unit,
        weight=counts.astype(np.float64),
        inverse=inverse.ravel().astype(np.int64),
        unit_days=unit,
    )


def compress_counts(
    x: ArrayLike, recency_days: ArrayLike, age_days: ArrayLike, counts: ArrayLike, unit_days: float
) -> Compressed:
    """The patterns of whole-day ``(x, recency, age)`` rows with client counts, in one
    canonical order (sorted by ``x``, then recency, then age; repeated rows added up).

    Both engines build the fit's input through here: the local engine from its own summary,
    the Spark engine from the counts its executors send. The same counts give the same arrays,
    bit for bit, whatever order they arrive in. ``inverse`` is empty (there are no client rows).
    """
    xs = np.asarray(x, dtype=np.int64).ravel()
    rec = np.asarray(recency_days, dtype=np.int64).ravel()
    age = np.asarray(age_days, dtype=np.int64).ravel()
    w = np.asarray(counts, dtype=np.int64).ravel()
    if not xs.shape == rec.shape == age.shape == w.shape:
        raise ValueError("x, recency, age and counts must have the same length")
    if xs.size == 0:
        empty = np.zeros(0, dtype=np.float64)
        return Compressed(empty, empty, empty, empty, np.zeros(0, np.int64), float(unit_days))
    if xs.min() < 0 or rec.min() < 0 or np.any(rec > age) or w.min() < 0:
        raise ValueError("need x >= 0, 0 <= recency <= age and counts >= 0")
    span = np.int64(int(age.max()) + 1)
    key = (xs * span + rec) * span + age
    unique, inverse = np.unique(key, return_inverse=True)
    weight = np.bincount(inverse.ravel(), weights=w.astype(np.float64), minlength=unique.size)
    return Compressed(
        x=(unique // (span * span)).astype(np.float64),
        t_x=((unique // span) % span) / unit_days,
        T=(unique % span) / unit_days,
        weight=weight.astype(np.float64, copy=False),
        inverse=np.zeros(0, dtype=np.int64),
        unit_days=float(unit_days),
    )
