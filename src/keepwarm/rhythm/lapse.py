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

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit, logit

from keepwarm.rhythm.summary import ClientSummary

__all__ = ["FEATURES", "LapseCalibration", "calibrate", "features"]

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
    since = np.maximum(summary.days_since_last, 0).astype(np.float64)
    single = summary.n_days < 2
    gap = np.where(single, typical_gap_days, summary.gap_median_days)
    own = np.log1p(since / np.maximum(gap, 1.0))
    risk = np.clip(model_risk, 1e-6, 1.0 - 1e-6)
    age = np.maximum(summary.T * summary.unit_days, 0.0)
    return np.column_stack(
        [
            logit(risk),
            np.log1p(since),
            np.log1p(summary.frequency.astype(np.float64)),
            own,
            single.astype(np.float64),
            np.log1p(age),
            own * single,
        ]
    )


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

    def apply(self, x: FloatArray) -> FloatArray:
        """The calibrated chance of no activity over the horizon, per row of ``x``."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(expit(self.intercept + z @ np.asarray(self.weights)), dtype=np.float64)


def calibrate(
    x: FloatArray, not_back: BoolArray, *, min_each: int = MIN_EACH, penalty: float = PENALTY
) -> LapseCalibration | None:
    """Fit the weights on examples ``x`` (rows of :func:`features`) whose outcome is
    ``not_back`` (no activity within the horizon); None with fewer than ``min_each`` of either
    outcome."""
    y = np.asarray(not_back, dtype=np.float64)
    gone = int(y.sum())
    if gone < min_each or y.size - gone < min_each:
        return None
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    z = (x - mean) / scale

    def loss(w: FloatArray) -> tuple[float, FloatArray]:
        eta = w[0] + z @ w[1:]
        ll = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
        residual = y - expit(eta)
        grad = np.concatenate(([residual.sum()], z.T @ residual))
        grad[1:] -= 2.0 * penalty * w[1:]
        return -ll + penalty * float(w[1:] @ w[1:]), -grad

    start = np.zeros(z.shape[1] + 1)
    start[0] = float(logit(np.clip(y.mean(), 1e-6, 1 - 1e-6)))
    w = minimize(loss, start, jac=True, method="L-BFGS-B").x
    return LapseCalibration(
        intercept=float(w[0]),
        weights=tuple(float(v) for v in w[1:]),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        examples=int(y.size),
        not_back=gone,
    )
