"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987, "Counting your customers: who are
they and what will they do next?", Management Science 33(1); likelihood and expressions as in
Fader & Hardie 2005, "A note on deriving the Pareto/NBD model and related expressions", FH05).

While alive a client buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``; the
lifetime is exponential with rate ``mu ~ Gamma(s, beta)``. Time is in units of ``unit_days``.

The likelihood (FH05) contains the Gauss hypergeometric term ``A_0``. We write it as

    L = Γ(r+x) α^r β^s / Γ(r) · [e^{h(T)} (1 - Q(T)) + e^{h(t_x)} Q(t_x)],
    h(y) = -(r+x) log(α+y) - s log(β+y),
    Q(y) = s e^{-h(y)} ∫_y^∞ (α+u)^{-(r+x)} (β+u)^{-(s+1)} du
         = s/(r+s+x) · 2F1(1, r+x; r+s+x+1; (α-β)/(α+y))           (Euler's integral),

which is FH05's ``A_0`` rearranged: ``s/(r+s+x) A_0 = e^{h(t_x)} Q(t_x) - e^{h(T)} Q(T)``.
``Q`` lies in ``(0, 1]`` (bound ``(α+u)^{-(r+x)}`` by its value at ``u = y``), so both terms of
the bracket are non-negative and combine with log-sum-exp: no difference of two large
hypergeometric values, no overflow for ``x = 500``. The first term of FH05's bracket,
``e^{h(T)}``, is the "still alive at T" part, so ``P(alive) = e^{h(T)} / bracket``.
When ``α < β`` the argument is negative; Pfaff's transformation
``2F1(1, B; C; z) = (1-z)^{-1} 2F1(1, C-B; C; z/(z-1))`` brings it back into ``[0, 1)``, so
``scipy.special.hyp2f1`` is always called with ``a = 1`` and ``0 <= z < 1``.

Homogeneous dropout. The fit works on ``(log r, log α, log μ, log s)`` with ``μ = s/β`` the
mean dropout rate (``1/μ`` the mean lifetime) and ``s`` its shape, i.e. concentration (the
coefficient of variation of a client's dropout rate is ``1/sqrt(s)``). When clients hardly
differ in their dropout rate, ``s`` runs to the edge of its range with ``μ`` fixed:
Gamma(s, β) tends to a point mass at ``μ``, a well-defined limiting model (every client has
the same exponential lifetime), not a broken fit. There ``β`` is huge, the hypergeometric
argument is close to 1 and ``hyp2f1`` becomes slow, then inaccurate, then NaN (from
``s ~ 1000``). For ``s > _QUAD_S`` we therefore compute ``Q`` from its integral, with
``t = e^{w/s} - 1``:

    Q(y) = ∫_0^∞ e^{-w} (1 + c (e^{w/s} - 1))^{-(r+x)} dw,    c = (β+y)/(α+y),

by the trapezoid rule in ``log w`` (see ``_q_by_quadrature``): exact for any ``s`` including
the limit ``(1 + w/(μ(α+y)))^{-(r+x)}``, accurate to ~1e-13, and with analytic parameter
derivatives from the same nodes. ``s log(1 + y/β)`` replaces ``s log(β+y) - s log β``, which
would cancel to nothing when ``β`` is huge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, gammaln, hyp2f1

from keepwarm.rhythm._optim import (
    FAILED,
    FitDiagnostics,
    Layout,
    fast_logaddexp,
    make_layout,
    maximise,
    unique_rows,
    wsum,
)
from keepwarm.rhythm.compress import Compressed

__all__ = [
    "ParetoNBDParams",
    "conditional_expected_transactions",
    "expected_if_alive",
    "expected_transactions",
    "fit",
    "log_likelihood",
    "p_alive",
]

FloatArray = NDArray[np.float64]
NAME = "pareto_nbd"
# Above this s, Q comes from quadrature (module docstring): hyp2f1 is slower and less
# accurate there. The quadrature is accurate to ~1e-12 from s ~ 5 up.
_QUAD_S = 10.0
# Trapezoid rule for Q in log w: step, how far below the integrand's own scale it starts
# (the part left out is added in closed form to second order), and where it stops (e^-45).
_Q_STEP = 0.3
_Q_BELOW = 14.0
_Q_TOP = float(np.log(45.0))
# Nodes x pairs processed at once.
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ParetoNBDParams:
    """Fitted Pareto/NBD parameters, the log-likelihood at them, and fit diagnostics."""

    r: float
    alpha: float
    s: float
    beta: float
    log_likelihood: float
    unit_days: float
    diagnostics: FitDiagnostics

    name = NAME

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": NAME,
            "r": self.r,
            "alpha": self.alpha,
            "s": self.s,
            "beta": self.beta,
            "log_likelihood": self.log_likelihood,
            "unit_days": self.unit_days,
            "diagnostics": self.diagnostics.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParetoNBDParams:
        if data.get("model", NAME) != NAME:
            raise ValueError(f"not Pareto/NBD parameters: model={data.get('model')!r}")
        return cls(
            r=float(data["r"]),
            alpha=float(data["alpha"]),
            s=float(data["s"]),
            beta=float(data["beta"]),
            log_likelihood=float(data["log_likelihood"]),
            unit_days=float(data["unit_days"]),
            diagnostics=FitDiagnostics.from_dict(data["diagnostics"]),
        )

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
        return p_alive(self, x, t_x, T)

    def expected_transactions(self, t: ArrayLike) -> FloatArray:
        return expected_transactions(self, t)

    def expected_if_alive(self, t: ArrayLike, x: ArrayLike, T: ArrayLike) -> FloatArray:
        return expected_if_alive(self, t, x, T)

    def conditional_expected_transactions(
        self, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        return conditional_expected_transactions(self, t, x, t_x, T)


Params = tuple[float, float, float, float] | ParetoNBDParams


def _unpack(params: Params) -> tuple[float, float, float, float]:
    if isinstance(params, ParetoNBDParams):
        return params.r, params.alpha, params.s, params.beta
    r, alpha, s, beta = (float(v) for v in params)
    return r, alpha, s, beta


def _log_q_hyp2f1(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, y: FloatArray
) -> FloatArray:
    """``log Q(y)`` by ``hyp2f1`` (module docstring); may be non-finite for large ``s``."""
    rsf = r + s + x
    with np.errstate(all="ignore"):
        if alpha >= beta:
            hyp = hyp2f1(1.0, r + x, rsf + 1.0, (alpha - beta) / (alpha + y))
            log_f = np.log(hyp)
        else:
            w = (beta - alpha) / (beta + y)
            hyp = hyp2f1(1.0, s + 1.0, rsf + 1.0, w)
            log_f = np.log(hyp) + np.log(alpha + y) - np.log(beta + y)
        return np.asarray(np.log(s) - np.log(rsf) + log_f, dtype=np.float64)


def _q_by_quadrature(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: FloatArray,
    y: FloatArray,
    gradient: bool = False,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``Q(y)``, ``1 - Q(y)`` and, if ``gradient``, ``dQ/dθ`` for
    ``θ = (log r, log α, log μ, log s)`` (shape ``(4, n)``; zeros otherwise).

    ``Q = ∫ e^{-w} G(w) dw`` with ``G = (1 + c E)^{-k}``, ``E = e^{w/s} - 1``, ``k = r+x``,
    ``c = (β+y)/(α+y)``; ``1 - Q = ∫ e^{-w} (1 - G) dw`` (both integrands positive, so both
    keep full relative accuracy). With ``w = e^η`` the integrands decay exponentially as
    ``η -> -∞`` and double-exponentially as ``η -> +∞``, and are analytic in a strip, so the
    trapezoid rule converges geometrically. The grid starts ``_Q_BELOW`` below the smallest
    scale ``w0 = min(1, s/(c max(k, 1)))`` on which a ``G`` falls; the rule's missing left
    terms are added in closed form to second order in ``w``. ``dlog G/dk = -log(1 + cE)``,
    ``dlog G/dlog c = -k cE/(1+cE)``, ``dlog G/dlog s = k c (E+1)(w/s)/(1+cE)`` at fixed
    ``c``; ``c`` depends on ``α`` and on ``β = s/μ``.
    """
    h = _Q_STEP
    n = x.size
    k = r + x
    c = np.exp(np.log(beta + y) - np.log(alpha + y))
    w0 = np.minimum(1.0, s / (c * np.maximum(k, 1.0)))
    # One grid for all rows, from the lowest start (the left-tail formula holds for any
    # start below a row's own): the factors that depend on w alone are computed once.
    lowest = float(np.log(w0.min(initial=1.0))) - _Q_BELOW
    eta = lowest + h * np.arange(int(np.ceil((_Q_TOP - lowest) / h)) + 1)
    w = np.exp(eta)
    e = np.expm1(w / s)
    base = np.exp(eta - w)
    grow = (e + 1.0) * (w / s)
    q = np.empty(n)
    one_minus_q = np.empty(n)
    d_k, d_c, d_s = np.zeros(n), np.zeros(n), np.zeros(n)
    chunk = max(_CHUNK // eta.size, 1)
    for lo in range(0, n, chunk):
        sl = slice(lo, lo + chunk)
        ce = c[sl, None] * e
        log_d = np.log1p(ce)
        log_g = -k[sl, None] * log_d
        f = base * np.exp(log_g)
        q[sl] = h * f.sum(axis=1)
        one_minus_q[sl] = -h * np.einsum("ij,j->i", np.expm1(log_g), base)
        if gradient:
            inv = 1.0 / (1.0 + ce)
            d_k[sl] = -h * np.einsum("ij,ij->i", f, log_d)
            d_c[sl] = -h * k[sl] * np.einsum("ij,ij->i", f, ce * inv)
            d_s[sl] = h * k[sl] * c[sl] * np.einsum("ij,ij->i", f, inv * grow)
    # Left of the grid (w < w_L): e^{-w} G ~ 1 - (1 + kc/s) w and 1 - G ~ kc w/s.
    w_left = np.full(n, w[0])
    first = h * w_left / np.expm1(h)
    second = h * w_left * w_left / np.expm1(2.0 * h)
    slope = c / s
    q += first - (1.0 + k * slope) * second
    one_minus_q += k * slope * second
    dq = np.zeros((4, n))
    if gradient:
        d_k -= slope * second
        d_c -= k * slope * second
        d_s += k * slope * second
        to_beta = beta / (beta + y)
        dq[0] = r * d_k
        dq[1] = -alpha / (alpha + y) * d_c
        dq[2] = -to_beta * d_c
        dq[3] = to_beta * d_c + d_s
    return q, one_minus_q, dq


def _log_q(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``log Q(y)`` and ``log(1 - Q(y))`` for clients with ``x`` repeat purchases (see module):
    by quadrature for ``s > _QUAD_S`` (and wherever ``hyp2f1`` fails), else by ``hyp2f1``."""
    if s > _QUAD_S:
        q, one_minus_q, _ = _q_by_quadrature(r, alpha, s, beta, x, y)
        with np.errstate(divide="ignore"):
            return np.log(q), np.log(one_minus_q)
    log_q = _log_q_hyp2f1(r, alpha, s, beta, x, y)
    bad = ~np.isfinite(log_q)
    if bad.any():
        q, _, _ = _q_by_quadrature(r, alpha, s, beta, x[bad], y[bad])
        with np.errstate(divide="ignore"):
            log_q[bad] = np.log(q)
    log_q = np.minimum(log_q, 0.0)
    with np.errstate(divide="ignore"):
        log_1mq = np.log(-np.expm1(log_q))
    return log_q, log_1mq


def _rows(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per-row ``h(T)`` (the log of the "still alive at T" term of the likelihood) and the log
    of the whole bracket (module docstring), both plus ``s log β``."""
    # Q depends on (x, y) only; large inputs share few pairs, so evaluate each pair once.
    xy = np.concatenate([x.ravel(), x.ravel()])
    yy = np.concatenate([t_x.ravel(), T.ravel()])
    if xy.size > 4096:
        (ux, uy), inverse = unique_rows(xy, yy)
        log_q_u, log_1mq_u = _log_q(r, alpha, s, beta, ux, uy)
        log_q, log_1mq = log_q_u[inverse], log_1mq_u[inverse]
    else:
        log_q, log_1mq = _log_q(r, alpha, s, beta, xy, yy)
    log_q_tx = log_q[: x.size].reshape(x.shape)
    log_1mq_T = log_1mq[x.size :].reshape(x.shape)
    # h(y) + s log β, with s log(1 + y/β) in place of s log(β+y) - s log β.
    h_T = -(r + x) * np.log(alpha + T) - s * np.log1p(T / beta)
    h_tx = -(r + x) * np.log(alpha + t_x) - s * np.log1p(t_x / beta)
    return h_T, np.logaddexp(h_T + log_1mq_T, h_tx + log_q_tx)


def _arrays(*values: ArrayLike) -> list[FloatArray]:
    return [np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values)]


def log_likelihood(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Per-client log-likelihood (FH05), in the stable form of the module docstring."""
    r, alpha, s, beta = _unpack(params)
    xs, txs, ts = _arrays(x, t_x, T)
    _, bracket = _rows(r, alpha, s, beta, xs, txs, ts)
    return cast(FloatArray, gammaln(r + xs) - gammaln(r) + r * np.log(alpha) + bracket)


# Relative step for the central differences of the hypergeometric terms: truncation error
# ~1e-10 and rounding error ~1e-11 in d log Q, enough to locate the optimum to 4-5 digits.
_STEP = 1e-5


def _natural(theta: FloatArray) -> tuple[float, float, float, float]:
    """``(r, α, s, β)`` from ``(log r, log α, log μ, log s)``, ``β = s/μ``."""
    return (
        float(np.exp(theta[0])),
        float(np.exp(theta[1])),
        float(np.exp(theta[3])),
        float(np.exp(theta[3] - theta[2])),
    )


def _working(r: float, alpha: float, s: float, beta: float) -> FloatArray:
    """``(log r, log α, log μ, log s)`` from ``(r, α, s, β)``."""
    return np.array([np.log(r), np.log(alpha), np.log(s) - np.log(beta), np.log(s)])


def _q_terms(
    theta: FloatArray, x: FloatArray, y: FloatArray, with_gradient: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``log Q``, ``log(1-Q)`` and their derivatives w.r.t. ``theta`` (shape ``(4, n)``):
    analytic from the quadrature for ``s > _QUAD_S``, central differences of the
    ``hyp2f1`` form otherwise."""
    params = _natural(theta)
    d_q = np.zeros((4, x.size))
    d_1mq = np.zeros((4, x.size))
    if params[2] > _QUAD_S:
        q, one_minus_q, dq = _q_by_quadrature(*params, x, y, gradient=with_gradient)
        with np.errstate(divide="ignore", invalid="ignore"):
            if with_gradient:
                d_q = dq / q
                d_1mq = -dq / one_minus_q
            return np.log(q), np.log(one_minus_q), d_q, d_1mq
    log_q, log_1mq = _log_q(*params, x, y)
    if with_gradient:
        for k in range(4):
            up = _log_q(*_natural(theta + _STEP * np.eye(4)[k]), x, y)
            down = _log_q(*_natural(theta - _STEP * np.eye(4)[k]), x, y)
            d_q[k] = (up[0] - down[0]) / (2 * _STEP)
            d_1mq[k] = (up[1] - down[1]) / (2 * _STEP)
    return log_q, log_1mq, d_q, d_1mq


def _objective(
    theta: FloatArray, lay: Layout, with_gradient: bool = True
) -> tuple[float, FloatArray]:
    """Negative mean log-likelihood and its gradient w.r.t. ``(log r, log α, log μ, log s)``.

    Hypergeometric terms are evaluated once per distinct ``(x, time)`` pair (see
    ``_q_terms`` for their derivatives); everything else in the gradient is analytic and
    per row.
    """
    r, alpha, s, beta = _natural(theta)
    pair_x = lay.x_values[lay.pair_x_index]
    pair_t = lay.times[lay.pair_t_index]
    log_q, log_1mq, d_q, d_1mq = _q_terms(theta, pair_x, pair_t, with_gradient)
    log_a = np.log(alpha + lay.times)
    ratio = lay.times / beta
    log_b = s * np.log1p(ratio)  # s log(β+y) - s log β
    rx = r + lay.x
    w = lay.weight
    n = lay.total_weight
    u = -rx * log_a[lay.T_index] - log_b[lay.T_index] + log_1mq[lay.T_pair]
    v = -rx * log_a[lay.tx_index] - log_b[lay.tx_index] + log_q[lay.tx_pair]
    bracket = fast_logaddexp(u, v)
    head = gammaln(r + lay.x_values) - gammaln(r)
    wx = np.bincount(lay.x_index, weights=w, minlength=lay.x_values.size).astype(
        np.float64, copy=False
    )
    total = wsum(w, bracket) + wsum(wx, head) + n * r * np.log(alpha)
    if not np.isfinite(total):
        return FAILED, np.zeros(4)
    if not with_gradient:
        return -total / n, np.zeros(4)

    share_v = np.exp(v - bracket)  # weight of the second term of the bracket
    share_u = 1.0 - share_v
    t_T = lay.times[lay.T_index]
    t_x = lay.times[lay.tx_index]
    wu, wv = w * share_u, w * share_v
    # d(s log(1 + y/β)) / d log μ and / d log s (at fixed μ, so β = s/μ moves with s).
    lb_mu = s * lay.times / (beta + lay.times)
    lb_s = s * (np.log1p(ratio) - ratio / (1.0 + ratio))
    grad = np.empty(4)
    grad[0] = r * (wsum(wx, digamma(r + lay.x_values) - digamma(r)) + n * np.log(alpha))
    grad[0] -= r * (wsum(wu, log_a[lay.T_index]) + wsum(wv, log_a[lay.tx_index]))
    grad[1] = n * r - alpha * (
        wsum(wu * rx, 1.0 / (alpha + t_T)) + wsum(wv * rx, 1.0 / (alpha + t_x))
    )
    grad[2] = -(wsum(wu, lb_mu[lay.T_index]) + wsum(wv, lb_mu[lay.tx_index]))
    grad[3] = -(wsum(wu, lb_s[lay.T_index]) + wsum(wv, lb_s[lay.tx_index]))
    for k in range(4):
        grad[k] += wsum(wu, d_1mq[k][lay.T_pair]) + wsum(wv, d_q[k][lay.tx_pair])
    if not np.all(np.isfinite(grad)):
        return FAILED, np.zeros(4)
    return -total / n, -grad / n


def _start(data: Compressed) -> FloatArray:
    repeats = max(wsum(data.weight, data.x), 1.0)
    rate = repeats / max(wsum(data.weight, data.T), 1e-9)
    mean_age = max(wsum(data.weight, data.T) / data.n_clients, 1e-3)
    return _working(1.0, 1.0 / rate, 1.0, mean_age)


def fit(
    data: Compressed,
    *,
    initial: tuple[float, float, float, float] | None = None,
    max_iterations: int = 300,
) -> ParetoNBDParams:
    """Maximum-likelihood Pareto/NBD parameters for compressed statistics.

    BFGS on ``(log r, log α, log μ, log s)`` (module docstring). The gradient is analytic
    except for the hypergeometric term at ``s <= _QUAD_S``, whose parameter derivatives (no
    closed form) are central differences on the distinct ``(x, time)`` pairs. ``initial =
    (r, α, s, β)`` may be e.g. the BG/NBD ``(r, alpha)`` with a guess for ``(s, beta)``.
    ``s`` reaching the edge of its range is the homogeneous-dropout limit
    (``diagnostics.at_limit``), not a failure. Never raises on a failed fit:
    ``diagnostics.converged`` says whether the result can be trusted.

    Raises:
        ValueError: if ``data`` holds no clients.
    """
    if data.n_patterns == 0 or data.n_clients <= 0:
        raise ValueError("cannot fit Pareto/NBD to no clients")
    lay = make_layout(data)
    start = _start(data)
    if initial is not None:
        proposed = _working(*(float(v) for v in initial))
        if _objective(proposed, lay, with_gradient=False)[0] < FAILED:
            start = proposed
    theta, diag = maximise(
        lambda th: _objective(th, lay),
        start,
        n_clients=data.n_clients,
        n_patterns=data.n_patterns,
        max_iterations=max_iterations,
        limit_index=3,
    )
    r, alpha, s, beta = _natural(theta)
    ll = float(-_objective(theta, lay, with_gradient=False)[0] * lay.total_weight)
    return ParetoNBDParams(r, alpha, s, beta, ll, data.unit_days, diag)


def p_alive(params: ParetoNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """P(alive | x, t_x, T) (FH05; SMC 1987): the share of the likelihood's bracket taken by
    its "still alive at T" term ``e^{h(T)} = (α+T)^-(r+x) (β+T)^-s``."""
    r, alpha, s, beta = _unpack(params)
    xs, txs, ts = _arrays(x, t_x, T)
    alive, bracket = _rows(r, alpha, s, beta, xs, txs, ts)
    return np.clip(np.exp(alive - bracket), 0.0, 1.0)


def _integral_factor(c: float, log_ratio: FloatArray) -> FloatArray:
    """``(1 - exp(-c L)) / c``, equal to ``L`` in the limit ``c -> 0`` (s = 1)."""
    if abs(c) < 1e-10:
        return log_ratio
    return -np.expm1(-c * log_ratio) / c


def expected_transactions(params: ParetoNBDParams, t: ArrayLike) -> FloatArray:
    """E[X(t)] for a new client (FH05; SMC 1987): ``rβ/(α(s-1)) [1 - (β/(β+t))^(s-1)]``."""
    r, alpha, s, beta = _unpack(params)
    (ts,) = _arrays(t)
    ts = np.maximum(ts, 0.0)
    return r * beta / alpha * _integral_factor(s - 1.0, np.log1p(ts / beta))


def expected_if_alive(
    params: ParetoNBDParams, t: ArrayLike, x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """E[Y(t) | alive now, x, T]: FH05's conditional expectation without its P(alive) factor,
    ``(r+x)(β+T)/((α+T)(s-1)) [1 - ((β+T)/(β+T+t))^(s-1)]`` (its ``s -> 1`` limit at s = 1).
    """
    r, alpha, s, beta = _unpack(params)
    ts, xs, tts = _arrays(t, x, T)
    ts = np.maximum(ts, 0.0)
    factor = _integral_factor(s - 1.0, np.log1p(ts / (beta + tts)))
    return (r + xs) * (beta + tts) / (alpha + tts) * factor


def conditional_expected_transactions(
    params: ParetoNBDParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """E[Y(t) | x, t_x, T] (FH05; SMC 1987): :func:`expected_if_alive` times :func:`p_alive`."""
    ts, xs, txs, tts = _arrays(t, x, t_x, T)
    return expected_if_alive(params, ts, xs, tts) * p_alive(params, xs, txs, tts)
