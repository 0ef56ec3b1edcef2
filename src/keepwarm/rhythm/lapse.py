"""The lapse score, calibrated on the business's own recent history.

The population model's chance of no activity over the next 90 days
(:attr:`keepwarm.rhythm.score.Scores.lapse_risk`) knows the population's rhythm, but not how
this business's clients really drift away: CD buyers who bought in bursts often come back after
a long silence, while a weekly patient silent for four of their own gaps rarely does. The
business's own recent history shows which: one and two horizons before the scoring day, every
client's features are computed as they stood then, and whether they came back within the
horizon is known. A small L2-regularised logistic regression on those examples combines

- the model's no-activity probability (as a logit),
- the days since the last activity, the repeat visits and the client's age (as logs),
- the silence measured in the client's own usual gaps (the business's typical gap for
  one-visit clients), and whether the client has a single visit,

and gives the calibrated chance of no activity over the horizon. Clients with no activity
keep the model's score; with too few examples of either outcome the model's score is kept
as it is (``calibrate`` returns None). Arrays in, arrays out: the caller (the service layer)
builds the summaries at the earlier days.

Measured in ``keepwarm backtest`` against practice-software baselines (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit, logit

from keepwarm.rhythm.fitstats import distinct_rows
from keepwarm.rhythm.summary import ClientSummary

__all__ = [
    "FEATURES",
    "Examples",
    "LapseCalibration",
    "calibrate",
    "calibrate_examples",
    "examples",
    "features",
    "merge_examples",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

FEATURES = (
    "model no-activity chance (logit)",
    "days since the last activity (log)",
    "repeat visits (log)",
    "silence in own usual gaps (log)",
    "a single visit",
    "days since the first activity (log)",
    "silence in the typical gap, for a single visit (log)",
)
MIN_EACH = 30
"""Fewest examples of each outcome (came back, did not) to calibrate on."""
PENALTY = 1.0
"""L2 penalty on the standardised weights (a weak prior towards "no effect")."""


def features(summary: ClientSummary, model_risk: FloatArray, typical_gap_days: float) -> FloatArray:
    """One row per client: the columns of :data:`FEATURES` (finite for every client)."""
    return _features(
        np.maximum(summary.days_since_last, 0).astype(np.float64),
        summary.frequency.astype(np.float64),
        summary.gap_median_days,
        np.maximum(summary.T * summary.unit_days, 0.0),
        model_risk,
        typical_gap_days,
    )


def _features(
    since: FloatArray,
    repeats: FloatArray,
    gap_median: FloatArray,
    age: FloatArray,
    model_risk: FloatArray,
    typical_gap_days: float,
) -> FloatArray:
    single = repeats < 1
    gap = np.where(single, typical_gap_days, gap_median)
    own = np.log1p(since / np.maximum(gap, 1.0))
    risk = np.clip(model_risk, 1e-6, 1.0 - 1e-6)
    return np.column_stack(
        [
            logit(risk),
            np.log1p(since),
            np.log1p(repeats),
            own,
            single.astype(np.float64),
            np.log1p(age),
            own * single,
        ]
    )


@dataclass(frozen=True, slots=True, eq=False)
class Examples:
    """Distinct calibration examples with how many clients each stands for.

    A client's features and model risk depend only on ``(x, recency, age, median gap)`` (in
    whole days; the median gap doubled, a whole number), so the examples are counted by those
    and the outcome: the counts add up across any split of the clients (what a Spark executor
    sends) and the regression is fitted on the distinct rows with weights. ``rows`` columns:
    x, recency days, age days, median gap x 2, not back (0/1), clients; ``risk`` per row.
    """

    rows: NDArray[np.int64]
    risk: FloatArray


def examples(summary: ClientSummary, model_risk: FloatArray, not_back: BoolArray) -> Examples:
    """The examples of the clients with activity in ``summary``, counted."""
    seen = summary.has_activity
    columns = np.column_stack(
        [
            summary.frequency[seen],
            summary.recency_days[seen],
            summary.age_days[seen],
            np.rint(2.0 * summary.gap_median_days[seen]).astype(np.int64),
            np.asarray(not_back, dtype=np.int64)[seen],
        ]
    ).astype(np.int64)
    if columns.shape[0] == 0:
        return Examples(np.zeros((0, 6), dtype=np.int64), np.zeros(0))
    keys, counts, first = distinct_rows([columns[:, i] for i in range(5)])
    rows = np.column_stack([keys, counts]).astype(np.int64)
    return Examples(rows, np.asarray(model_risk, dtype=np.float64)[seen][first])


def merge_examples(parts: list[Examples]) -> Examples:
    """Examples from several groups of clients (or steps) together: the same key's counts
    added, one canonical order."""
    present = [p for p in parts if p.rows.shape[0]]
    if not present:
        return Examples(np.zeros((0, 6), dtype=np.int64), np.zeros(0))
    rows = np.vstack([p.rows for p in present])
    risk = np.concatenate([p.risk for p in present])
    keys, counts, first = distinct_rows([rows[:, i] for i in range(5)], rows[:, 5])
    merged = np.column_stack([keys, counts]).astype(np.int64)
    return Examples(merged, risk[first])


def calibrate_examples(
    found: Examples, unit_days: float, typical_gap_days: float, *, min_each: int = MIN_EACH
) -> LapseCalibration | None:
    """:func:`calibrate` on counted examples (their features as :func:`features` computes them)."""
    r = found.rows
    x = r[:, 0].astype(np.float64)
    age = np.maximum((r[:, 2] / unit_days) * unit_days, 0.0)
    since = np.maximum(r[:, 2] - r[:, 1], 0).astype(np.float64)
    features_ = _features(since, x, r[:, 3] / 2.0, age, found.risk, typical_gap_days)
    return calibrate(features_, r[:, 4] > 0, weights=r[:, 5].astype(np.float64), min_each=min_each)


@dataclass(frozen=True)
class LapseCalibration:
    """Logistic weights on standardised features (``mean``, ``scale``), and what they were
    learned from."""

    intercept: float
    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    examples: int
    not_back: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "intercept": self.intercept,
            "weights": list(self.weights),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "examples": self.examples,
            "not_back": self.not_back,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LapseCalibration:
        return cls(
            intercept=float(data["intercept"]),
            weights=tuple(float(w) for w in data["weights"]),
            mean=tuple(float(m) for m in data["mean"]),
            scale=tuple(float(s) for s in data["scale"]),
            examples=int(data["examples"]),
            not_back=int(data["not_back"]),
        )

    def apply(self, x: FloatArray) -> FloatArray:
        """The calibrated chance of no activity over the horizon, per row of ``x``."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(expit(self.intercept + z @ np.asarray(self.weights)), dtype=np.float64)


def calibrate(
    x: FloatArray,
    not_back: BoolArray,
    *,
    weights: FloatArray | None = None,
    min_each: int = MIN_EACH,
    penalty: float = PENALTY,
) -> LapseCalibration | None:
    """Fit the weights on examples ``x`` (rows of :func:`features`) whose outcome is
    ``not_back`` (no activity within the horizon), each row standing for ``weights`` clients
    (1 each by default); None with fewer than ``min_each`` of either outcome."""
    y = np.asarray(not_back, dtype=np.float64)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    n = float(w.sum())
    gone = round(float(w @ y))
    if gone < min_each or round(n) - gone < min_each:
        return None
    mean = (w @ x) / n
    scale = np.sqrt((w @ (x - mean) ** 2) / n)
    scale = np.where(scale > 1e-9, scale, 1.0)
    z = (x - mean) / scale

    def loss(c: FloatArray) -> tuple[float, FloatArray]:
        eta = c[0] + z @ c[1:]
        ll = float(w @ (y * eta - np.logaddexp(0.0, eta)))
        residual = w * (y - expit(eta))
        grad = np.concatenate(([residual.sum()], z.T @ residual))
        grad[1:] -= 2.0 * penalty * c[1:]
        return -ll + penalty * float(c[1:] @ c[1:]), -grad

    start = np.zeros(z.shape[1] + 1)
    start[0] = float(logit(np.clip(gone / n, 1e-6, 1 - 1e-6)))
    c = minimize(loss, start, jac=True, method="L-BFGS-B").x
    return LapseCalibration(
        intercept=float(c[0]),
        weights=tuple(float(v) for v in c[1:]),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        examples=round(n),
        not_back=gone,
    )
