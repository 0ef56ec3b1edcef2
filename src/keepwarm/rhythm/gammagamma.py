"""Gamma-Gamma spend model (Colombo & Jiang 1999, "A stochastic RFM model", Journal of
Interactive Marketing 13(3); Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves
for customer base analysis", Journal of Marketing Research 42(4), FHL05b; Fader & Hardie
2013, "The Gamma-Gamma model of monetary value", FH13).

Each purchase amount is ``Gamma(p, nu)``; the client's ``nu ~ Gamma(q, gamma)``. The model
is fitted on repeat buyers' number of repeat purchases ``x`` and mean repeat spend ``m``.
``gamma`` is in the currency unit of the spends given (dollars, or cents: ``p`` and ``q`` do
not depend on the unit).

The fit works on ``(log p, log q, log C)`` with ``C = p gamma`` (``C / (q - 1)`` is the
population's mean spend per purchase). ``1/sqrt(p)`` is the coefficient of variation of one
client's purchase amounts around their own mean. When clients spend about the same on every
visit, ``p`` runs to the edge of its range with ``C`` fixed: the model tends to its
well-defined limit in which each client's mean spend is ``InvGamma(q, C)`` and every purchase
equals it, so a repeat client's expected spend is their own average. The likelihood is
written so that it stays exact along that ridge (``log Γ(px+q) - log Γ(px)`` is evaluated
as ``q log(px)`` plus a small remainder, see ``_log_gamma_ratio``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

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
    density = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(ms)
        + px * np.log(xs)
        - (px + q) * np.log(gamma + ms * xs)
    )
    return cast(FloatArray, density)


# Above this argument log Γ(z+q) - log Γ(z) - q log z comes from Stirling's series (its
# first omitted term is below 1e-12 there); below it from gammaln directly.
_STIRLING_FROM = 10.0


def _log_gamma_ratio(z: FloatArray, q: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``R = log Γ(z+q) - log Γ(z) - q log z`` with ``dR/dz = ψ(z+q) - ψ(z) - q/z`` and
    ``dR/dq = ψ(z+q) - log z``, without the cancellation of the direct differences for large
    ``z`` (where ``R -> 0`` like ``q(q-1)/(2z)``): by Stirling's series,
    ``R = (z+q-1/2) log(1 + q/z) - q + S(z+q) - S(z)``, ``S(u) = 1/(12u) - 1/(360u^3) + ...``.
    """
    big = z >= _STIRLING_FROM
    r = np.empty_like(z)
    r_z = np.empty_like(z)
    r_q = np.empty_like(z)
    small = ~big
    zs = z[small]
    r[small] = gammaln(zs + q) - gammaln(zs) - q * np.log(zs)
    r_z[small] = digamma(zs + q) - digamma(zs) - q / zs
    r_q[small] = digamma(zs + q) - np.log(zs)
    zb = z[big]
    u = zb + q
    ratio = q / zb
    log1p = np.log1p(ratio)

    def series(v: FloatArray) -> FloatArray:
        i2 = 1.0 / (v * v)
        return (1.0 / 12 - i2 * (1.0 / 360 - i2 * (1.0 / 1260 - i2 / 1680))) / v

    def psi_tail(v: FloatArray) -> FloatArray:
        # ψ(v) = log v - 1/(2v) - tail(v)
        i2 = 1.0 / (v * v)
        return i2 * (1.0 / 12 - i2 * (1.0 / 120 - i2 * (1.0 / 252 - i2 / 240)))

    r[big] = (u - 0.5) * log1p - q + series(u) - series(zb)
    r_z[big] = log1p - ratio - 0.5 / u + 0.5 / zb - psi_tail(u) + psi_tail(zb)
    r_q[big] = log1p - 0.5 / u - psi_tail(u)
    return r, r_z, r_q


@dataclass(frozen=True, slots=True, eq=False)
class _ByX:
    """Rows sorted by ``x`` with what the likelihood needs summed once per distinct ``x``;
    only ``log(1 + gamma/(m x))`` changes per row with the parameters."""

    x_values: FloatArray
    starts: NDArray[np.int64]
    wx: FloatArray
    w_log_m: float
    inv_mx: FloatArray
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
        w_log_m=wsum(ws, np.log(ms)),
        inv_mx=1.0 / (ms * xs),
        w=None if np.all(ws == 1.0) else ws,
        n=float(ws.sum()),
    )


def _negative_mean_ll(theta: FloatArray, d: _ByX) -> tuple[float, FloatArray]:
    """Negative mean log-likelihood and its analytic gradient w.r.t. ``(log p, log q, log C)``,
    ``C = p gamma``. Per client, with ``z = p x`` and ``e = gamma/(m x)``:
    ``log f = R(z, q) - log Γ(q) + q log C - (q+1) log m - (q + z) log(1 + e)``
    (``R`` from ``_log_gamma_ratio``), which tends to the inverse-gamma density of ``m`` as
    ``p -> inf``."""
    p, q, c = np.exp(theta)
    xv, wx, n = d.x_values, d.wx, d.n
    z = p * xv
    e = (c / p) * d.inv_mx
    log1p_e = np.log1p(e)
    share = np.divide(e, e + 1.0, out=e)  # e / (1 + e), in place
    if d.w is not None:
        log1p_e *= d.w
        share *= d.w
    s_log = np.add.reduceat(log1p_e, d.starts)  # Σ w log(1 + e) per distinct x
    s_share = np.add.reduceat(share, d.starts)  # Σ w e/(1 + e) per distinct x
    r, r_z, r_q = _log_gamma_ratio(z, q)
    total_log = float(s_log.sum())
    total_share = float(s_share.sum())
    total = (
        wsum(wx, r)
        + n * (q * np.log(c) - gammaln(q))
        - (q + 1.0) * d.w_log_m
        - q * total_log
        - p * wsum(xv, s_log)
    )
    if not np.isfinite(total):
        return FAILED, np.zeros(3)
    g_p = wsum(wx * z, r_z) + q * total_share + p * wsum(xv, s_share - s_log)
    g_q = q * (wsum(wx, r_q) + n * (np.log(c) - digamma(q)) - d.w_log_m - total_log)
    g_c = n * q - q * total_share - p * wsum(xv, s_share)
    grad = np.array([g_p, g_q, g_c])
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
    model is defined for positive amounts only. BFGS on ``(log p, log q, log p gamma)``
    (module docstring) with the analytic gradient; ``p`` reaching the edge of its range is
    the limit of no spend variation within a client (``diagnostics.at_limit``), not a
    failure. Never raises on a failed fit (``diagnostics.converged`` says so).

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
    p0, q0, gamma0 = initial if initial else (1.0, 3.0, 2.0 * mean)
    start = np.log([p0, q0, p0 * gamma0])

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        return _negative_mean_ll(theta, data)

    theta, diag = maximise(
        objective,
        np.asarray(start, dtype=np.float64),
        n_clients=data.n,
        n_patterns=int(xs.size),
        limit_index=0,
    )
    p, q, c = (float(v) for v in np.exp(theta))
    ll = -objective(theta)[0] * data.n
    return GammaGammaParams(p, q, c / p, float(ll), diag)


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
