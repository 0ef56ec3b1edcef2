"""Shared fitting machinery: convergence diagnostics, the optimiser call, data layout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from keepwarm.rhythm.compress import Compressed

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Log-parameters are boxed so that exp() never overflows and a diverging fit is detectable:
# parameters live in (e^-13, e^13) ~ (2e-6, 4e5), and beyond e^12.5 or below e^-12.5 a fit is
# flagged as degenerate -- except a heterogeneity (concentration) parameter running to its
# upper edge, which is the model's homogeneous limit (``maximise(limit_index=...)``).
LOG_BOUND = 13.0
EDGE = LOG_BOUND - 0.5
# Convergence criterion: every component of the gradient of the *mean log-likelihood per
# client* with respect to the free working parameters (logs of the model's parameters, or a
# logit for BG/NBD's mean dropout) is below this in absolute value. Scaled so,
# the gradient is dimensionless and independent of the number of clients: at 1e-5 a
# parameter is within about 1e-5 / I of its optimum on the log scale (I, the information per
# client, is typically 0.01-1), i.e. within 0.1% and far inside its standard error, and the
# total log-likelihood is within about n 1e-10 / I of its maximum.
GRADIENT_TOLERANCE = 1e-5
# What objectives return where the likelihood is not finite: large but finite, so that
# the line search backtracks instead of stopping.
FAILED = 1e300


@dataclass(frozen=True, slots=True)
class FitDiagnostics:
    """How an optimisation went.

    ``gradient_max`` is the largest absolute gradient of the *mean* log-likelihood per client
    with respect to the free working parameters at the solution (logs of the parameters, a
    logit for BG/NBD's mean dropout; a parameter held at its homogeneous limit is not free).
    ``converged`` is the criterion the engine trusts, not the optimiser's own verdict: the
    log-likelihood is finite, no parameter ran to the edge of the search box (``at_bound``),
    ``gradient_max < gradient_tolerance`` and, when ``at_limit``, the log-likelihood still
    rises (or is flat within the tolerance) towards the limit. ``message`` is the optimiser's
    own; BFGS reports "precision loss" when its line search can no longer improve on rounding
    noise, which at such a small gradient is convergence at a flat optimum, not a failure.

    ``at_limit`` says the model's heterogeneity pair ran to its homogeneous limit: its
    concentration parameter (BG/NBD ``a + b``, Pareto/NBD ``s``, Gamma-Gamma ``p``) reached
    the edge of its range while its mean stayed put, so the fitted model is (to within a
    negligible spread) the well-defined limiting model in which that quantity is the same
    for every client. It is not a degenerate fit.
    """

    converged: bool
    iterations: int
    function_evaluations: int
    message: str
    gradient_max: float
    n_clients: float
    n_patterns: int
    at_bound: bool
    at_limit: bool = False
    gradient_tolerance: float = GRADIENT_TOLERANCE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitDiagnostics:
        return cls(
            converged=bool(data["converged"]),
            iterations=int(data["iterations"]),
            function_evaluations=int(data["function_evaluations"]),
            message=str(data["message"]),
            gradient_max=float(data["gradient_max"]),
            n_clients=float(data["n_clients"]),
            n_patterns=int(data["n_patterns"]),
            at_bound=bool(data["at_bound"]),
            at_limit=bool(data.get("at_limit", False)),
            gradient_tolerance=float(data.get("gradient_tolerance", GRADIENT_TOLERANCE)),
        )


@dataclass(frozen=True, slots=True, eq=False)
class Layout:
    """Compressed statistics decomposed so that special functions are evaluated once per
    distinct ``x`` (or distinct ``(x, time)`` pair) instead of once per pattern.

    ``times`` holds the distinct values of ``t_x`` and ``T`` together; ``tx_index`` and
    ``T_index`` point into it. ``pair_x``/``pair_t`` are the distinct ``(x, time)`` pairs met
    as ``(x, t_x)`` or ``(x, T)``, with ``tx_pair``/``T_pair`` pointing into them.
    """

    x: FloatArray
    weight: FloatArray
    x_values: FloatArray
    x_index: IntArray
    times: FloatArray
    tx_index: IntArray
    T_index: IntArray
    pair_x_index: IntArray
    pair_t_index: IntArray
    tx_pair: IntArray
    T_pair: IntArray
    total_weight: float


def make_layout(data: Compressed) -> Layout:
    """Index the distinct ``x`` values, time values and ``(x, time)`` pairs of ``data``."""
    x_values, x_index = np.unique(data.x, return_inverse=True)
    times, t_index = np.unique(np.concatenate([data.t_x, data.T]), return_inverse=True)
    n = data.x.size
    tx_index = t_index[:n].astype(np.int64)
    T_index = t_index[n:].astype(np.int64)
    x_index = x_index.astype(np.int64)
    n_times = np.int64(max(times.size, 1))
    pair_key = np.concatenate([x_index * n_times + tx_index, x_index * n_times + T_index])
    pairs, pair_index = np.unique(pair_key, return_inverse=True)
    return Layout(
        x=data.x,
        weight=data.weight,
        x_values=x_values,
        x_index=x_index,
        times=times,
        tx_index=tx_index,
        T_index=T_index,
        pair_x_index=(pairs // n_times).astype(np.int64),
        pair_t_index=(pairs % n_times).astype(np.int64),
        tx_pair=pair_index[:n].astype(np.int64),
        T_pair=pair_index[n:].astype(np.int64),
        total_weight=float(data.weight.sum()),
    )


def unique_rows(*columns: FloatArray) -> tuple[list[FloatArray], IntArray]:
    """Distinct rows of equal-length 1-D columns and the inverse index (like
    ``np.unique(axis=0, return_inverse=True)``, but one ``lexsort`` and no void views)."""
    n = columns[0].size
    if n == 0:
        return [c.copy() for c in columns], np.zeros(0, dtype=np.int64)
    order = np.lexsort(columns[::-1])
    ordered = [c[order] for c in columns]
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for c in ordered:
        new[1:] |= c[1:] != c[:-1]
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return [c[new] for c in ordered], inverse


def wsum(a: FloatArray, b: FloatArray) -> float:
    """Weighted sum without BLAS: a multi-threaded OpenBLAS ``ddot`` can be 100x slower than
    this on small machines busy with other work."""
    return float(np.einsum("i,i->", a, b))


def fast_logaddexp(u: FloatArray, v: FloatArray) -> FloatArray:
    """``log(e^u + e^v)`` for ``v`` finite, ``u`` possibly ``-inf``; numpy's ``logaddexp`` is
    several times slower, and this sits in the fits' inner loops."""
    with np.errstate(invalid="ignore"):
        return np.maximum(u, v) + np.log(1.0 + np.exp(-np.abs(u - v)))


def maximise(
    negative_mean_ll: Callable[[FloatArray], tuple[float, FloatArray]],
    start: FloatArray,
    *,
    n_clients: float,
    n_patterns: int,
    max_iterations: int = 500,
    limit_index: int | None = None,
) -> tuple[FloatArray, FitDiagnostics]:
    """Minimise a negative mean log-likelihood over boxed log-parameters.

    ``negative_mean_ll`` returns the value and its gradient at log-parameters ``theta``. The
    box ``|theta| < LOG_BOUND`` is kept by the smooth map ``theta = B tanh(phi / B)``
    (nearly the identity where real estimates live) and ``phi`` is optimised by BFGS.
    Returns the log-parameters and diagnostics (criteria in :class:`FitDiagnostics`); never
    raises on a failed optimisation (the diagnostics say so).

    ``limit_index`` names the log-concentration parameter whose upper edge is the model's
    homogeneous limit: reaching it sets ``at_limit`` instead of ``at_bound``, and that
    parameter is then held out of ``gradient_max`` (it only has to not pull back). Any other
    parameter at the edge, or that one at its lower edge, sets ``at_bound``.

    Why not L-BFGS-B: its calls into BLAS wake OpenBLAS's worker threads, which then spin and
    halve the speed of every numpy loop that follows on a 2-core machine; BFGS on four
    parameters does its algebra without waking them, and needs as few evaluations.
    """
    bound = LOG_BOUND

    def objective(phi: FloatArray) -> tuple[float, FloatArray]:
        squash = np.tanh(phi / bound)
        value, grad = negative_mean_ll(bound * squash)
        return value, grad * (1.0 - squash * squash)

    inner = np.clip(start, -bound + 1, bound - 1)
    result = minimize(
        objective,
        bound * np.arctanh(inner / bound),
        jac=True,
        method="BFGS",
        options={"maxiter": max_iterations, "gtol": 1e-7},
    )
    theta = bound * np.tanh(np.asarray(result.x, dtype=np.float64) / bound)
    value, grad = negative_mean_ll(theta)
    free = np.ones(theta.size, dtype=bool)
    at_limit = False
    holds = True
    if limit_index is not None and theta[limit_index] >= EDGE:
        at_limit = True
        free[limit_index] = False
        # grad is of the *negative* log-likelihood: at the limit it must not pull back.
        holds = bool(grad[limit_index] <= GRADIENT_TOLERANCE)
    at_bound = bool(np.any(np.abs(theta[free]) >= EDGE))
    finite = bool(np.isfinite(value)) and value < FAILED and bool(np.all(np.isfinite(grad)))
    grad_max = float(np.max(np.abs(grad[free]))) if finite else float("inf")
    converged = finite and not at_bound and holds and grad_max < GRADIENT_TOLERANCE
    return theta, FitDiagnostics(
        converged=converged,
        iterations=int(result.nit),
        function_evaluations=int(result.nfev),
        message=str(result.message),
        gradient_max=grad_max,
        n_clients=float(n_clients),
        n_patterns=int(n_patterns),
        at_bound=at_bound,
        at_limit=at_limit,
        gradient_tolerance=GRADIENT_TOLERANCE,
    )
