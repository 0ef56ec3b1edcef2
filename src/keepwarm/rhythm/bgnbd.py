"""BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284; FHL below).

While alive a client buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``; after
each repeat purchase the client drops out with probability ``p ~ Beta(a, b)``. Time is in
units of ``unit_days`` days (weeks by default). Everything here is vectorised, works in log
space and stays finite for ``x = 0``, ``x = 500``, ``t_x = T`` and tiny ``T``.

The fit works on ``(log r, log alpha, logit m, log kappa)`` with ``m = a/(a+b)`` the mean
dropout probability and ``kappa = a + b`` its concentration (the variance of ``p`` is
``m(1-m)/(kappa+1)``). When clients hardly differ in how likely they are to drop out,
``kappa`` runs to the edge of its range with ``m`` fixed: Beta(a, b) tends to a point mass
at ``m``, a well-defined limiting model (every client has the same dropout probability), not
a broken fit. On this scale the ridge ``a, b -> inf`` with ``a/(a+b)`` fixed is one axis and
the optimisation stays well-posed; the dropout terms of the likelihood are evaluated as sums
of ``log1p`` terms that stay exact there (``log B(a, b+x) - log B(a, b)`` would lose digits).
Where ``a`` is large (above ``_QUAD_A``), scipy's ``hyp2f1`` in the expectations loses
accuracy and then fails, so they are computed as an average over ``p ~ Beta`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, log_expit

from keepwarm.rhythm._optim import (
    FAILED,
    FitDiagnostics,
    Layout,
    make_layout,
    maximise,
    wsum,
)
from keepwarm.rhythm.compress import Compressed

__all__ = [
    "BGNBDParams",
    "conditional_expected_transactions",
    "expected_if_alive",
    "expected_transactions",
    "fit",
    "log_likelihood",
    "p_alive",
]

FloatArray = NDArray[np.float64]
NAME = "bgnbd"
# Closed forms divide by (a - 1); within this distance of a = 1 we average the two sides.
_A_NEAR_ONE = 1e-4
# Above this ``a`` the expectations average over p ~ Beta(a, b) by quadrature instead of
# calling hyp2f1 with large parameters (inaccurate from a ~ 1000, NaN from a ~ 2000).
_QUAD_A = 100.0
# Nodes per row of that quadrature are processed in chunks of about this many values.
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BGNBDParams:
    """Fitted BG/NBD parameters, the log-likelihood at them, and fit diagnostics."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    unit_days: float
    diagnostics: FitDiagnostics

    name = NAME

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": NAME,
            "r": self.r,
            "alpha": self.alpha,
            "a": self.a,
            "b": self.b,
            "log_likelihood": self.log_likelihood,
            "unit_days": self.unit_days,
            "diagnostics": self.diagnostics.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BGNBDParams:
        if data.get("model", NAME) != NAME:
            raise ValueError(f"not BG/NBD parameters: model={data.get('model')!r}")
        return cls(
            r=float(data["r"]),
            alpha=float(data["alpha"]),
            a=float(data["a"]),
            b=float(data["b"]),
            log_likelihood=float(data["log_likelihood"]),
            unit_days=float(data["unit_days"]),
            diagnostics=FitDiagnostics.from_dict(data["diagnostics"]),
        )

    # Methods so that callers can treat BG/NBD and Pareto/NBD alike.
    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
        return p_alive(self, x, t_x, T)

    def expected_transactions(self, t: ArrayLike) -> FloatArray:
        return expected_transactions(self, t)

    def expected_if_alive(self, t: ArrayLike, x: ArrayLike, T: ArrayLike) -> FloatArray:
        return expected_if_alive(self, t, x, T)

    def conditional_expected_transactions(
        self,
        t: ArrayLike,
        x: ArrayLike,
        t_x: ArrayLike,
        T: ArrayLike,
    ) -> FloatArray:
        return conditional_expected_transactions(self, t, x, t_x, T)


Params = tuple[float, float, float, float] | BGNBDParams


def _arrays(*values: ArrayLike) -> list[FloatArray]:
    return [np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values)]


def _unpack(params: Params) -> tuple[float, float, float, float]:
    if isinstance(params, BGNBDParams):
        return params.r, params.alpha, params.a, params.b
    r, alpha, a, b = (float(v) for v in params)
    return r, alpha, a, b


def log_likelihood(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Per-client log-likelihood, FHL eq. (6), in log space.

    ``log L = log Γ(r+x) - log Γ(r) + r log α + log(e^A1 + δ(x>0) e^A2)`` with
    ``A1 = log B(a, b+x) - log B(a, b) - (r+x) log(α+T)`` and
    ``A2 = log B(a+1, b+x-1) - log B(a, b) - (r+x) log(α+t_x)``, combined by log-sum-exp.
    """
    r, alpha, a, b = _unpack(params)
    xs, txs, ts = _arrays(x, t_x, T)
    xv, xi = np.unique(xs, return_inverse=True)
    c1, dc = _dropout(a, b, xv)
    c1, dc = c1[xi.reshape(xs.shape)], dc[xi.reshape(xs.shape)]
    head = gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
    a1 = c1 - (r + xs) * np.log(alpha + ts)
    repeat = xs > 0
    a2 = np.full_like(a1, -np.inf)
    a2[repeat] = (
        a1[repeat]
        + dc[repeat]
        + (r + xs[repeat]) * (np.log(alpha + ts[repeat]) - np.log(alpha + txs[repeat]))
    )
    return cast(FloatArray, head + np.logaddexp(a1, a2))


def _dropout(a: float, b: float, xv: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per distinct ``x``: ``c1 = log B(a, b+x) - log B(a, b)`` and
    ``dc = log B(a+1, b+x-1) - log B(a, b+x) = log a - log(b+x-1)`` (``-inf`` for ``x = 0``).

    For whole ``x``, ``c1 = Σ_{j<x} log((b+j)/(a+b+j))`` is summed as ``log1p`` terms, exact
    even for ``a, b ~ 1e5`` where the difference of ``betaln`` values loses digits.
    """
    kappa = a + b
    rep = xv > 0
    dc = np.full_like(xv, -np.inf)
    dc[rep] = np.log(a) - np.log(b + xv[rep] - 1)
    whole = xv.size > 0 and bool(np.all(xv == np.round(xv))) and xv.min() >= 0
    if not whole:
        return betaln(a, b + xv) - betaln(a, b), dc
    j = np.arange(int(xv.max()), dtype=np.float64)
    share = a / (kappa + j)
    terms = np.where(share < 0.5, np.log1p(-share), np.log(b + j) - np.log(kappa + j))
    c1 = np.concatenate(([0.0], np.cumsum(terms)))[xv.astype(np.int64)]
    return c1, dc


def _dropout_gradient(
    a: float, b: float, xv: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Derivatives of ``c1`` and ``dc`` (see ``_dropout``) with respect to ``logit m`` and
    ``log kappa``, in forms without cancellation (the ``kappa`` ones vanish as ``kappa`` grows):

    ``dc1/dlogit m = -(1-m) Σ_{j<x} a/(b+j)``, ``dc1/dlog kappa = -Σ_{j<x} j a/((b+j)(kappa+j))``,
    ``ddc/dlogit m = (1-m)(kappa+x-1)/(b+x-1)``, ``ddc/dlog kappa = (x-1)/(b+x-1)``.
    """
    kappa = a + b
    one_minus_m = b / kappa
    j = np.arange(int(xv.max()) if xv.size else 0, dtype=np.float64)
    index = xv.astype(np.int64)
    c1_m = -one_minus_m * np.concatenate(([0.0], np.cumsum(a / (b + j))))[index]
    c1_k = -np.concatenate(([0.0], np.cumsum(j * a / ((b + j) * (kappa + j)))))[index]
    below = np.maximum(b + xv - 1, b)  # b + x - 1 for x >= 1; any positive value for x = 0
    dc_m = one_minus_m * (kappa + xv - 1) / below
    dc_k = (xv - 1) / below
    return c1_m, c1_k, dc_m, dc_k


def _softplus_and_sigmoid(d: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``log(1 + e^d)`` and ``1 / (1 + e^-d)`` with one exp and one log (``logaddexp`` and
    ``log1p`` are several times slower in numpy, and this is the fit's inner loop)."""
    e = np.exp(-np.abs(d))
    one_plus = 1.0 + e
    softplus = np.maximum(d, 0.0) + np.log(one_plus)
    sigmoid = np.where(d >= 0, 1.0, e) / one_plus
    return softplus, sigmoid


def _natural(theta: FloatArray) -> tuple[float, float, float, float]:
    """``(r, alpha, a, b)`` from ``(log r, log alpha, logit m, log kappa)``."""
    kappa = float(np.exp(theta[3]))
    return (
        float(np.exp(theta[0])),
        float(np.exp(theta[1])),
        kappa * float(expit(theta[2])),
        kappa * float(expit(-theta[2])),
    )


def _working(r: float, alpha: float, a: float, b: float) -> FloatArray:
    """``(log r, log alpha, logit m, log kappa)`` from ``(r, alpha, a, b)``."""
    return np.array([np.log(r), np.log(alpha), np.log(a) - np.log(b), np.log(a + b)])


def _negative_mean_ll(theta: FloatArray, lay: Layout) -> tuple[float, FloatArray]:
    """Negative mean log-likelihood and its analytic gradient w.r.t.
    ``(log r, log alpha, logit m, log kappa)``.

    Per row, ``log L = head(x) + A1 + log(1 + e^d)`` with ``d = A2 - A1``; special functions
    are evaluated once per distinct ``x`` and logarithms once per distinct time value.
    """
    r, alpha, a, b = _natural(theta)
    xv = lay.x_values
    rep = xv > 0
    c_head = gammaln(r + xv) - gammaln(r)
    c1, dc = _dropout(a, b, xv)
    log_t = np.log(alpha + lay.times)
    inv_t = 1.0 / (alpha + lay.times)
    xi = lay.x_index
    rx = r + lay.x
    w = lay.weight
    n = lay.total_weight
    l_T = log_t[lay.T_index]
    l_diff = log_t[lay.tx_index] - l_T
    softplus, p2 = _softplus_and_sigmoid(dc[xi] - rx * l_diff)  # p2: share of "dropped out"
    wx = np.bincount(xi, weights=w, minlength=xv.size).astype(np.float64, copy=False)
    wp2 = np.bincount(xi, weights=w * p2, minlength=xv.size).astype(np.float64, copy=False)
    wrx = w * rx
    total = wsum(wx, c_head + c1) - wsum(wrx, l_T) + wsum(w, softplus) + n * r * np.log(alpha)
    if not np.isfinite(total):
        return FAILED, np.zeros(4)

    c1_m, c1_k, dc_m, dc_k = _dropout_gradient(a, b, xv)
    g_r = wsum(wx, digamma(r + xv) - digamma(r)) + n * np.log(alpha)
    g_r -= wsum(w, l_T) + wsum(w * p2, l_diff)
    i_T = inv_t[lay.T_index]
    g_alpha = n * r / alpha - wsum(wrx, i_T + p2 * (inv_t[lay.tx_index] - i_T))
    g_m = wsum(wx, c1_m) + wsum(wp2[rep], dc_m[rep])
    g_k = wsum(wx, c1_k) + wsum(wp2[rep], dc_k[rep])
    grad = np.array([g_r * r, g_alpha * alpha, g_m, g_k])
    return -total / n, -grad / n


def _start(data: Compressed) -> FloatArray:
    """Moment-based start: mean rate = repeat purchases per unit of observed time; dropout
    ``a = 1, b = 3``."""
    repeats = max(wsum(data.weight, data.x), 1.0)
    rate = repeats / max(wsum(data.weight, data.T), 1e-9)
    return _working(1.0, 1.0 / rate, 1.0, 3.0)


def fit(
    data: Compressed,
    *,
    initial: tuple[float, float, float, float] | None = None,
    max_iterations: int = 500,
) -> BGNBDParams:
    """Maximum-likelihood BG/NBD parameters for compressed statistics.

    Optimises ``(log r, log alpha, logit m, log kappa)`` (module docstring) by BFGS (see
    ``_optim.maximise``) with the analytic gradient, from a moment-based start or from
    ``initial = (r, alpha, a, b)``. ``kappa = a + b`` reaching the edge of its range is the
    homogeneous-dropout limit (``diagnostics.at_limit``), not a failure. Never raises on a
    failed fit: ``diagnostics.converged`` says whether the result can be trusted.

    Raises:
        ValueError: if ``data`` holds no clients.
    """
    if data.n_patterns == 0 or data.n_clients <= 0:
        raise ValueError("cannot fit BG/NBD to no clients")
    lay = make_layout(data)
    start = _working(*(float(v) for v in initial)) if initial else _start(data)
    theta, diag = maximise(
        lambda th: _negative_mean_ll(th, lay),
        start,
        n_clients=data.n_clients,
        n_patterns=data.n_patterns,
        max_iterations=max_iterations,
        limit_index=3,
    )
    r, alpha, a, b = _natural(theta)
    ll = -_negative_mean_ll(theta, lay)[0] * lay.total_weight
    return BGNBDParams(r, alpha, a, b, float(ll), data.unit_days, diag)


def p_alive(params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """P(alive | x, t_x, T) (Fader, Hardie & Lee 2008, "Computing P(alive) using
    the BG/NBD model"):
    ``1 / (1 + δ(x>0) a/(b+x-1) ((α+T)/(α+t_x))^(r+x))``, computed as a logistic in log space.
    Equals 1 for ``x = 0`` (in BG/NBD a client can only drop out after a repeat purchase).
    """
    xs, txs, ts = _arrays(x, t_x, T)
    r, alpha, a, b = _unpack(params)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            np.log(a)
            - np.log(np.maximum(b + xs - 1, 1e-300))
            + (r + xs) * (np.log(alpha + ts) - np.log(alpha + txs))
        )
    return np.asarray(np.where(xs > 0, expit(-log_odds), 1.0), dtype=np.float64)


def _bracket_off_one(
    a: float, b: float, r: float, z: FloatArray, log1mz: FloatArray, c_shift: FloatArray
) -> FloatArray:
    """``(1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b-1+c_shift; z)) / (a-1)`` for ``a != 1``.

    This is the bracket of FHL eqs. (7) and (10) after Euler's transformation
    ``2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)``: the new hypergeometric factor
    stays bounded, and ``(α+T)^(r+x)`` (which overflows for large ``x``) never appears.
    """
    power = np.exp((a - 1) * log1mz)
    hyp = hyp2f1(a + b - 1 - r, a - 1, a + b - 1 + c_shift, z)
    return np.asarray((1.0 - power * hyp) / (a - 1), dtype=np.float64)


def _bracket(
    a: float, b: float, r: float, z: FloatArray, log1mz: FloatArray, c_shift: FloatArray
) -> FloatArray:
    if abs(a - 1) > _A_NEAR_ONE:
        return _bracket_off_one(a, b, r, z, log1mz, c_shift)
    # The bracket is smooth in a; averaging both sides of a = 1 costs O(_A_NEAR_ONE^2).
    lo = _bracket_off_one(1 - _A_NEAR_ONE, b, r, z, log1mz, c_shift)
    hi = _bracket_off_one(1 + _A_NEAR_ONE, b, r, z, log1mz, c_shift)
    return 0.5 * (lo + hi)


def _beta_average(a: float, b: FloatArray, k: FloatArray | float, tau: FloatArray) -> FloatArray:
    """``E[(1 - (1 + p tau)^-k) / p]`` over ``p ~ Beta(a, b)`` (elementwise in ``b, k, tau``).

    This is what the expectations' hypergeometric brackets are: given ``p``, a client with
    ``lambda ~ Gamma(k, A)`` makes ``(1 - (1 + p t/A)^-k) / p`` purchases in the next ``t``
    on average. Computed by the trapezoid rule in ``xi = logit p`` on a grid centred on the
    mode ``log(a/b)`` of the density of ``xi``, with step ``0.7 sigma`` (at most 0.3),
    ``sigma^2 = 1/a + 1/b``, out to where the density has fallen by ``e^-40`` on each side.
    The density is log-concave and analytic, so the rule converges geometrically (error ~
    ``exp(-2 pi^2 sigma^2 / step^2)``); it is normalised by the same rule's sum, so no
    ``betaln`` of large arguments is needed. Used for large ``a``, where it needs ~30 nodes.
    """
    b, k, tau = np.broadcast_arrays(b, k, tau)
    shape = b.shape
    b, k, tau = (np.asarray(v, dtype=np.float64).ravel() for v in (b, k, tau))
    sigma = np.sqrt(1.0 / a + 1.0 / b)
    step = np.minimum(0.7 * sigma, 0.3)
    mode = np.log(a) - np.log(b)
    at_mode = a * log_expit(mode) + b * log_expit(-mode)
    reach = []
    for side in (-1.0, 1.0):
        # Widen until the log-density has dropped by 40 (tails are at least exponential).
        d = 9.0 * sigma
        for _ in range(60):
            xi = mode + side * d
            short = at_mode - (a * log_expit(xi) + b * log_expit(-xi)) < 40.0
            if not short.any():
                break
            d = np.where(short, 1.5 * d, d)
        reach.append(np.ceil(d / step).astype(np.int64))
    left, right = reach
    out = np.empty(b.size)
    offsets = np.arange(-int(left.max(initial=0)), int(right.max(initial=0)) + 1)
    chunk = max(_CHUNK // max(offsets.size, 1), 1)
    at_mode = a * log_expit(mode) + b * log_expit(-mode)
    for lo in range(0, b.size, chunk):
        sl = slice(lo, lo + chunk)
        inside = (offsets >= -left[sl, None]) & (offsets <= right[sl, None])
        xi = mode[sl, None] + step[sl, None] * offsets
        log_density = a * log_expit(xi) + b[sl, None] * log_expit(-xi) - at_mode[sl, None]
        weight = np.where(inside, np.exp(log_density), 0.0)
        p = expit(xi)
        value = -np.expm1(-k[sl, None] * np.log1p(p * tau[sl, None])) / p
        out[sl] = np.einsum("ij,ij->i", weight, value) / weight.sum(axis=1)
    return out.reshape(shape)


def expected_transactions(params: BGNBDParams, t: ArrayLike) -> FloatArray:
    """E[X(t)] for a new client over ``(0, t]``, FHL eq. (7):
    ``(a+b-1)/(a-1) [1 - (α/(α+t))^r 2F1(r, b; a+b-1; t/(α+t))]``.
    """
    (ts,) = _arrays(t)
    r, alpha, a, b = _unpack(params)
    ts = np.maximum(ts, 0.0)
    if a > _QUAD_A:
        return np.maximum(_beta_average(a, np.full_like(ts, b), r, ts / alpha), 0.0)
    z = ts / (alpha + ts)
    log1mz = np.log(alpha) - np.log(alpha + ts)
    # Euler: (1-z)^r 2F1(r, b; a+b-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b-1; z).
    out = (a + b - 1) * _bracket(a, b, r, z, log1mz, np.zeros_like(ts))
    return np.maximum(np.where(ts > 0, out, 0.0), 0.0)


def expected_if_alive(
    params: BGNBDParams,
    t: ArrayLike,
    x: ArrayLike,
    T: ArrayLike,
) -> FloatArray:
    """E[Y(t) | alive now, x, T]: FHL eq. (10) without its P(alive) factor,
    ``(a+b+x-1)/(a-1) [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(α+T+t))]``.

    Depends on the client only through ``(x, T)``. Euler's transformation turns the
    hypergeometric term into ``(1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``. For large ``a``
    the same quantity is computed as the average over ``p ~ Beta(a, b+x)`` of
    ``(1 - (1 + p t/(α+T))^-(r+x)) / p`` (see ``_beta_average``).
    """
    ts, xs, tts = _arrays(t, x, T)
    r, alpha, a, b = _unpack(params)
    ts = np.maximum(ts, 0.0)
    if a > _QUAD_A:
        # Given alive: lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x), independently.
        return np.maximum(_beta_average(a, b + xs, r + xs, ts / (alpha + tts)), 0.0)
    z = ts / (alpha + tts + ts)
    log1mz = np.log(alpha + tts) - np.log(alpha + tts + ts)
    out = (a + b + xs - 1) * _bracket(a, b, r, z, log1mz, xs)
    return np.maximum(np.where(ts > 0, out, 0.0), 0.0)


def conditional_expected_transactions(
    params: BGNBDParams,
    t: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
) -> FloatArray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` units, FHL eq. (10):
    :func:`expected_if_alive` times :func:`p_alive`.
    """
    ts, xs, txs, tts = _arrays(t, x, t_x, T)
    return expected_if_alive(params, ts, xs, tts) * p_alive(params, xs, txs, tts)
