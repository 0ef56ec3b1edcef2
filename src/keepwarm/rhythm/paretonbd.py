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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def _log_q(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``log Q(y)`` and ``log(1 - Q(y))`` for clients with ``x`` repeat purchases (see module)."""
    rsf = r + s + x
    if alpha >= beta:
        hyp = hyp2f1(1.0, r + x, rsf + 1.0, (alpha - beta) / (alpha + y))
        log_f = np.log(hyp)
    else:
        w = (beta - alpha) / (beta + y)
        hyp = hyp2f1(1.0, s + 1.0, rsf + 1.0, w)
        log_f = np.log(hyp) + np.log(alpha + y) - np.log(beta + y)
    log_q = np.minimum(np.log(s) - np.log(rsf) + log_f, 0.0)
    with np.errstate(divide="ignore"):
        log_1mq = np.log(-np.expm1(log_q))
    return log_q, log_1mq


def _rows(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per-row ``h(T)`` (the log of the "still alive at T" term of the likelihood) and the log
    of the whole bracket (module docstring)."""
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
    h_T = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    h_tx = -(r + x) * np.log(alpha + t_x) - s * np.log(beta + t_x)
    return h_T, np.logaddexp(h_T + log_1mq_T, h_tx + log_q_tx)


def _arrays(*values: ArrayLike) -> list[FloatArray]:
    return [np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values)]


def log_likelihood(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Per-client log-likelihood (FH05), in the stable form of the module docstring."""
    r, alpha, s, beta = _unpack(params)
    xs, txs, ts = _arrays(x, t_x, T)
    _, bracket = _rows(r, alpha, s, beta, xs, txs, ts)
    return gammaln(r + xs) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + bracket


# Relative step for the central differences of the hypergeometric terms: truncation error
# ~1e-10 and rounding error ~1e-11 in d log Q, enough to locate the optimum to 4-5 digits.
_STEP = 1e-5


def _objective(
    theta: FloatArray, lay: Layout, with_gradient: bool = True
) -> tuple[float, FloatArray]:
    """Negative mean log-likelihood and its gradient w.r.t. the log-parameters.

    Hypergeometric terms are evaluated once per distinct ``(x, time)`` pair. Their parameter
    derivatives have no closed form, so ``d log Q / d theta`` comes from central differences
    on the pairs only; everything else in the gradient is analytic and per row.
    """
    r, alpha, s, beta = np.exp(theta)
    pair_x = lay.x_values[lay.pair_x_index]
    pair_t = lay.times[lay.pair_t_index]
    log_q, log_1mq = _log_q(r, alpha, s, beta, pair_x, pair_t)
    log_a = np.log(alpha + lay.times)
    log_b = np.log(beta + lay.times)
    rx = r + lay.x
    w = lay.weight
    n = lay.total_weight
    u = -rx * log_a[lay.T_index] - s * log_b[lay.T_index] + log_1mq[lay.T_pair]
    v = -rx * log_a[lay.tx_index] - s * log_b[lay.tx_index] + log_q[lay.tx_pair]
    bracket = fast_logaddexp(u, v)
    head = gammaln(r + lay.x_values) - gammaln(r)
    wx = np.bincount(lay.x_index, weights=w, minlength=lay.x_values.size)
    total = wsum(w, bracket) + wsum(wx, head) + n * (r * np.log(alpha) + s * np.log(beta))
    if not np.isfinite(total):
        return FAILED, np.zeros(4)
    if not with_gradient:
        return -total / n, np.zeros(4)

    d_q = np.empty((4, log_q.size))
    d_1mq = np.empty((4, log_q.size))
    for k in range(4):
        up = np.exp(theta + _STEP * np.eye(4)[k])
        down = np.exp(theta - _STEP * np.eye(4)[k])
        q_up, m_up = _log_q(*up, pair_x, pair_t)
        q_down, m_down = _log_q(*down, pair_x, pair_t)
        d_q[k] = (q_up - q_down) / (2 * _STEP)
        d_1mq[k] = (m_up - m_down) / (2 * _STEP)
    share_v = np.exp(v - bracket)  # weight of the second term of the bracket
    share_u = 1.0 - share_v
    t_T = lay.times[lay.T_index]
    t_x = lay.times[lay.tx_index]
    wu, wv = w * share_u, w * share_v
    # d(u)/d log r = -r log(α+T) + d log(1-Q_T); likewise for v with t_x and log Q.
    grad = np.empty(4)
    grad[0] = r * (wsum(wx, digamma(r + lay.x_values) - digamma(r)) + n * np.log(alpha))
    grad[0] -= r * (wsum(wu, log_a[lay.T_index]) + wsum(wv, log_a[lay.tx_index]))
    grad[1] = n * r - alpha * (
        wsum(wu * rx, 1.0 / (alpha + t_T)) + wsum(wv * rx, 1.0 / (alpha + t_x))
    )
    grad[2] = s * n * np.log(beta) - s * (
        wsum(wu, log_b[lay.T_index]) + wsum(wv, log_b[lay.tx_index])
    )
    grad[3] = n * s - s * beta * (wsum(wu, 1.0 / (beta + t_T)) + wsum(wv, 1.0 / (beta + t_x)))
    for k in range(4):
        grad[k] += wsum(wu, d_1mq[k][lay.T_pair]) + wsum(wv, d_q[k][lay.tx_pair])
    return -total / n, -grad / n


def _start(data: Compressed) -> FloatArray:
    repeats = max(wsum(data.weight, data.x), 1.0)
    rate = repeats / max(wsum(data.weight, data.T), 1e-9)
    mean_age = max(wsum(data.weight, data.T) / data.n_clients, 1e-3)
    return np.log([1.0, 1.0 / rate, 1.0, mean_age])


def fit(
    data: Compressed,
    *,
    initial: tuple[float, float, float, float] | None = None,
    max_iterations: int = 300,
) -> ParetoNBDParams:
    """Maximum-likelihood Pareto/NBD parameters for compressed statistics.

    BFGS on the log-parameters. The gradient is analytic except for the hypergeometric
    term, whose parameter derivatives (no closed form) are central differences on the
    distinct ``(x, time)`` pairs. ``initial`` may be e.g. the BG/NBD ``(r, alpha)`` with a
    guess for ``(s, beta)``. Never raises on a failed fit: ``diagnostics.converged`` says
    whether the result can be trusted.

    Raises:
        ValueError: if ``data`` holds no clients.
    """
    if data.n_patterns == 0 or data.n_clients <= 0:
        raise ValueError("cannot fit Pareto/NBD to no clients")
    lay = make_layout(data)
    start = _start(data)
    if initial is not None:
        proposed = np.log(np.asarray(initial, dtype=np.float64))
        if _objective(proposed, lay, with_gradient=False)[0] < FAILED:
            start = proposed
    theta, diag = maximise(
        lambda th: _objective(th, lay),
        start,
        n_clients=data.n_clients,
        n_patterns=data.n_patterns,
        max_iterations=max_iterations,
    )
    r, alpha, s, beta = (float(v) for v in np.exp(theta))
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
