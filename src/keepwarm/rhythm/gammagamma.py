"""Gamma-Gamma spend model (Colombo & Jiang 1999, "A stochastic RFM model", Journal of
Interactive Marketing 13(3); Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves
for customer base analysis", Journal of Marketing Research 42(4), FHL05b; Fader & Hardie
2013, "The Gamma-Gamma model of monetary value", FH13).

Each purchase amount is ``Gamma(p, nu)``; the client's ``nu ~ Gamma(q, gamma)``. The model
is fitted on repeat buyers' number of repeat purchases ``x`` and mean repeat spend ``m``.
``gamma`` is in the currency unit of the spends given (dollars, or cents: ``p`` and ``q`` do
not depend on the unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, gammaln

from keepwarm.rhythm._optim import FAILED, FitDiagnostics, maximise, wsum

__all__ = [
    "GammaGammaParams",
    "conditional_expected_average_spend",
    "fit",
    "log_likelihood",
]

FloatArray = NDArray[np.float64]
NAME = "gamma_gamma"


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters, the log-likelihood at them, and fit diagnostics."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    diagnostics: FitDiagnostics

    name = NAME

    @property
    def population_mean_spend(self) -> float:
        """``E[Z] = p gamma / (q - 1)``; infinite when ``q <= 1`` (the mean does not exist)."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": NAME,
            "p": self.p,
            "q": self.q,
            "gamma": self.gamma,
            "log_likelihood": self.log_likelihood,
            "diagnostics": self.diagnostics.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GammaGammaParams:
        if data.get("model", NAME) != NAME:
            raise ValueError(f"not Gamma-Gamma parameters: model={data.get('model')!r}")
        return cls(
            p=float(data["p"]),
            q=float(data["q"]),
            gamma=float(data["gamma"]),
            log_likelihood=float(data["log_likelihood"]),
            diagnostics=FitDiagnostics.from_dict(data["diagnostics"]),
        )

    def conditional_expected_average_spend(self, x: ArrayLike, mean_spend: ArrayLike) -> FloatArray:
        return conditional_expected_average_spend(self, x, mean_spend)


def log_likelihood(
    params: tuple[float, float, float] | GammaGammaParams, x: ArrayLike, mean_spend: ArrayLike
) -> FloatArray:
    """Per-client log density of the mean spend ``m`` over ``x`` purchases (FH13):
    ``log Γ(px+q) - log Γ(px) - log Γ(q) + q log γ + (px-1) log m + px log x
    - (px+q) log(γ + m x)``. Needs ``x >= 1`` and ``m > 0``.
    """
    if isinstance(params, GammaGammaParams):
        p, q, gamma = params.p, params.q, params.gamma
    else:
        p, q, gamma = (float(v) for v in params)
    xs, ms = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(x, mean_spend))
    px = p * xs
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(ms)
        + px * np.log(xs)
        - (px + q) * np.log(gamma + ms * xs)
    )


@dataclass(frozen=True, slots=True, eq=False)
class _ByX:
    """Rows sorted by ``x`` with what the likelihood needs summed once per distinct ``x``;
    only ``log(gamma + m x)`` and ``1 / (gamma + m x)`` change with the parameters."""

    x_values: FloatArray
    starts: NDArray[np.int64]
    wx: FloatArray
    w_log_m: FloatArray
    mx: FloatArray
    w: FloatArray | None
    n: float


def _by_x(xs: FloatArray, ms: FloatArray, ws: FloatArray) -> _ByX:
    # Counts fit in int16 in practice, and numpy radix-sorts 16-bit integers.
    small = xs.size and xs.max() < np.iinfo(np.int16).max
    order = np.argsort(xs.astype(np.int16) if small else xs, kind="stable")
    xs, ms, ws = xs[order], ms[order], ws[order]
    starts = np.flatnonzero(np.concatenate(([True], xs[1:] != xs[:-1])))
    return _ByX(
        x_values=xs[starts],
        starts=starts,
        wx=np.add.reduceat(ws, starts),
        w_log_m=np.add.reduceat(ws * np.log(ms), starts),
        mx=ms * xs,
        w=None if np.all(ws == 1.0) else ws,
        n=float(ws.sum()),
    )


def _negative_mean_ll(theta: FloatArray, d: _ByX) -> tuple[float, FloatArray]:
    """Negative mean log-likelihood and its analytic gradient w.r.t. log-parameters."""
    p, q, gamma = np.exp(theta)
    xv, wx, n = d.x_values, d.wx, d.n
    px = p * xv
    den = gamma + d.mx
    log_den = np.log(den)
    inv_den = 1.0 / den
    if d.w is not None:
        log_den *= d.w
        inv_den *= d.w
    s_log = np.add.reduceat(log_den, d.starts)
    s_inv = np.add.reduceat(inv_den, d.starts)
    total = (
        wsum(wx, gammaln(px + q) - gammaln(px) + px * np.log(xv))
        + wsum(px - 1.0, d.w_log_m)
        - wsum(px + q, s_log)
        + n * (q * np.log(gamma) - gammaln(q))
    )
    if not np.isfinite(total):
        return FAILED, np.zeros(3)
    psi = digamma(px + q)
    g_p = wsum(xv, wx * (psi - digamma(px) + np.log(xv)) + d.w_log_m - s_log)
    g_q = wsum(wx, psi) - n * digamma(q) + n * np.log(gamma) - s_log.sum()
    g_gamma = n * q / gamma - wsum(px + q, s_inv)
    grad = np.array([g_p * p, g_q * q, g_gamma * gamma])
    return -total / n, -grad / n


def fit(
    x: ArrayLike,
    mean_spend: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    initial: tuple[float, float, float] | None = None,
) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from repeat buyers.

    Rows with ``x < 1`` or ``mean_spend <= 0`` (zero or refund-only spend) are left out: the
    model is defined for positive amounts only. BFGS on log-parameters with the analytic
    gradient; never raises on a failed fit (``diagnostics.converged`` says so).

    Raises:
        ValueError: if no row has ``x >= 1`` and a positive mean spend.
    """
    xs = np.asarray(x, dtype=np.float64).ravel()
    ms = np.asarray(mean_spend, dtype=np.float64).ravel()
    ws = np.ones_like(xs) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    keep = (xs >= 1) & (ms > 0) & np.isfinite(ms) & (ws > 0)
    if not keep.any():
        raise ValueError("Gamma-Gamma needs repeat buyers with a positive mean spend")
    xs, ms, ws = xs[keep], ms[keep], ws[keep]
    data = _by_x(xs, ms, ws)
    mean = wsum(ws, ms) / data.n
    start = np.log(initial) if initial else np.log([1.0, 3.0, 2.0 * mean])

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        return _negative_mean_ll(theta, data)

    theta, diag = maximise(
        objective, np.asarray(start, dtype=np.float64), n_clients=data.n, n_patterns=int(xs.size)
    )
    p, q, gamma = (float(v) for v in np.exp(theta))
    ll = -objective(theta)[0] * data.n
    return GammaGammaParams(p, q, gamma, float(ll), diag)


def conditional_expected_average_spend(
    params: GammaGammaParams, x: ArrayLike, mean_spend: ArrayLike
) -> FloatArray:
    """E[Z | x, m] (FHL05b; FH13): ``(p γ + p x m) / (p x + q - 1)``, a weighted average of
    the population mean ``pγ/(q-1)`` and the client's own mean ``m``.

    For ``x = 0`` this is the population mean. A non-positive ``m`` (free visits, refunds) is
    taken as 0, shrinking the client towards zero. Needs ``q > 1``; otherwise (the population
    mean does not exist) the client's own mean ``max(m, 0)`` is returned.
    """
    xs, ms = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(x, mean_spend))
    ms = np.maximum(ms, 0.0)
    p, q, gamma = params.p, params.q, params.gamma
    if q <= 1.0:
        return ms.copy()
    return (p * gamma + p * xs * ms) / (p * xs + q - 1.0)
