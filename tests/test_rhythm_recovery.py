"""Simulate-then-recover: fits on 10,000 simulated clients (fixed seed) land within sampling
error of the parameters that generated them.

Tolerance: each estimate must lie within 4 standard errors of the truth, on the log scale
the optimiser works on, with standard errors from the inverse of the observed information
(the numerical Hessian of the log-likelihood at the estimate). The standard errors must also
be small (under 25% relative), so the check has teeth.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from keepwarm.rhythm import (
    BGNBDParams,
    FitDiagnostics,
    ParetoNBDParams,
    bgnbd,
    compress,
    gammagamma,
    paretonbd,
    simulate_bgnbd,
    simulate_paretonbd,
)

N = 10_000
BG_TRUTH = (0.243, 4.414, 0.793, 2.426)
PARETO_TRUTH = (0.553, 10.578, 0.606, 11.669)
GG_TRUTH = (6.25, 3.74, 15.44)
DIAG = FitDiagnostics(True, 0, 0, "truth", 0.0, 0.0, 0, False)


def _standard_errors(log_lik: Callable[[np.ndarray], float], theta: np.ndarray) -> np.ndarray:
    """Square roots of the diagonal of the inverse observed information (central second
    differences of the total log-likelihood in the log-parameters)."""
    k, h = theta.size, 1e-4
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            hessian[i, j] = (
                log_lik(theta + ei + ej)
                - log_lik(theta + ei - ej)
                - log_lik(theta - ei + ej)
                + log_lik(theta - ei - ej)
            ) / (4 * h * h)
    return np.sqrt(np.diag(np.linalg.inv(-hessian)))


def _ages(rng: np.random.Generator) -> np.ndarray:
    # Clients who joined over a year, observed for 26 to 78 weeks, ages in whole days.
    return np.round(rng.uniform(26, 78, N) * 7) / 7


def _assert_recovered(
    estimate: tuple[float, ...], truth: tuple[float, ...], se: np.ndarray
) -> None:
    z = (np.log(estimate) - np.log(truth)) / se
    assert np.all(se < 0.25), f"standard errors too large to be a test: {se}"
    assert np.all(np.abs(z) < 4), f"estimate {estimate} vs truth {truth}: z = {z}"


def test_bgnbd_recovers_simulated_parameters_within_sampling_error() -> None:
    rng = np.random.default_rng(20240601)
    T = _ages(rng)
    x, t_x = simulate_bgnbd(BG_TRUTH, T, rng)
    data = compress(x, t_x, T)
    fitted = bgnbd.fit(data)
    assert fitted.diagnostics.converged
    estimate = (fitted.r, fitted.alpha, fitted.a, fitted.b)

    def log_lik(theta: np.ndarray) -> float:
        params = tuple(np.exp(theta))
        return float(bgnbd.log_likelihood(params, data.x, data.t_x, data.T) @ data.weight)

    _assert_recovered(estimate, BG_TRUTH, _standard_errors(log_lik, np.log(estimate)))


def test_paretonbd_recovers_simulated_parameters_within_sampling_error() -> None:
    rng = np.random.default_rng(20240602)
    T = _ages(rng)
    x, t_x = simulate_paretonbd(PARETO_TRUTH, T, rng)
    data = compress(x, t_x, T)
    fitted = paretonbd.fit(data)
    assert fitted.diagnostics.converged
    estimate = (fitted.r, fitted.alpha, fitted.s, fitted.beta)

    def log_lik(theta: np.ndarray) -> float:
        params = tuple(np.exp(theta))
        return float(paretonbd.log_likelihood(params, data.x, data.t_x, data.T) @ data.weight)

    _assert_recovered(estimate, PARETO_TRUTH, _standard_errors(log_lik, np.log(estimate)))


def test_gamma_gamma_recovers_simulated_parameters_within_sampling_error() -> None:
    rng = np.random.default_rng(20240603)
    p, q, gamma = GG_TRUTH
    x = rng.integers(1, 8, N)
    nu = rng.gamma(q, 1 / gamma, N)
    # The mean of x Gamma(p, nu) amounts is Gamma(p x, x nu).
    mean_spend = rng.gamma(p * x, 1 / (nu * x))
    fitted = gammagamma.fit(x, mean_spend)
    assert fitted.diagnostics.converged
    estimate = (fitted.p, fitted.q, fitted.gamma)

    def log_lik(theta: np.ndarray) -> float:
        return float(gammagamma.log_likelihood(tuple(np.exp(theta)), x, mean_spend).sum())

    _assert_recovered(estimate, GG_TRUTH, _standard_errors(log_lik, np.log(estimate)))


@pytest.mark.parametrize(
    ("params", "simulate"),
    [
        (BGNBDParams(*BG_TRUTH, 0.0, 7.0, DIAG), simulate_bgnbd),
        (ParetoNBDParams(*PARETO_TRUTH, 0.0, 7.0, DIAG), simulate_paretonbd),
    ],
    ids=["bgnbd", "pareto_nbd"],
)
def test_simulated_purchase_counts_average_to_the_models_expectation(
    params: BGNBDParams | ParetoNBDParams,
    simulate: Callable[..., tuple[np.ndarray, np.ndarray]],
) -> None:
    rng = np.random.default_rng(20240604)
    T = np.full(N, 52.0)
    x, t_x = simulate(params, T, rng)
    assert np.all((t_x >= 0) & (t_x <= T)) and np.all(t_x[x == 0] == 0)
    expected = float(params.expected_transactions(52.0))
    standard_error = x.std() / np.sqrt(N)
    assert abs(x.mean() - expected) < 4 * standard_error
