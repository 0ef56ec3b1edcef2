"""BG/NBD, Pareto/NBD and Gamma-Gamma expressions against closed forms, direct numerical
integration and the untransformed published formulas; finiteness at extreme inputs."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import gammaln, hyp2f1

from keepwarm.rhythm import (
    BGNBDParams,
    FitDiagnostics,
    GammaGammaParams,
    ParetoNBDParams,
    bgnbd,
    compress,
    customer_lifetime_value,
    paretonbd,
)

DIAG = FitDiagnostics(True, 0, 0, "test", 0.0, 0.0, 0, False)
BG = BGNBDParams(0.243, 4.414, 0.793, 2.426, 0.0, 7.0, DIAG)
PARETO = ParetoNBDParams(0.553, 10.578, 0.606, 11.669, 0.0, 7.0, DIAG)
GG = GammaGammaParams(6.25, 3.74, 15.44, 0.0, DIAG)

EXTREME_X = np.array([0, 0, 1, 1, 500, 500, 500, 3, 0])
EXTREME_TX = np.array([0, 0, 1e-9, 5.0, 1e-3, 38.0, 1e-9, 1e4, 0])
EXTREME_T = np.array([1e-9, 1e4, 1e-9, 5.0, 1e-3, 38.0, 1e4, 1e4, 0])


def _pareto_ll_by_quadrature(params: ParetoNBDParams, x: int, t_x: float, T: float) -> float:
    """FH05's likelihood with A_0 as the integral s ∫_{t_x}^T (α+u)^-(r+x) (β+u)^-(s+1) du,
    scaled to stay in floating-point range."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    h_T = -(r + x) * math.log(alpha + T) - s * math.log(beta + T)

    def integrand(u: float) -> float:
        log_f = -(r + x) * math.log(alpha + u) - (s + 1) * math.log(beta + u)
        return s * math.exp(log_f - h_T)

    dead, _ = quad(integrand, t_x, T, epsabs=0.0, epsrel=1e-12, limit=200)
    head = gammaln(r + x) - gammaln(r) + r * math.log(alpha) + s * math.log(beta)
    return float(head + h_T + math.log1p(dead))


def test_bgnbd_likelihood_of_a_one_time_buyer_has_its_closed_form() -> None:
    T = np.array([0.5, 10.0, 38.86])
    expected = BG.r * np.log(BG.alpha / (BG.alpha + T))  # L = (α / (α+T))^r when x = 0
    np.testing.assert_allclose(bgnbd.log_likelihood(BG, 0, 0, T), expected, rtol=1e-13)


def test_bgnbd_p_alive_has_its_closed_form() -> None:
    x, t_x, T = 3, 20.0, 38.0
    r, alpha, a, b = BG.r, BG.alpha, BG.a, BG.b
    expected = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    assert bgnbd.p_alive(BG, x, t_x, T) == pytest.approx(expected, rel=1e-13)
    assert bgnbd.p_alive(BG, 0, 0, 38.0) == 1.0


def test_bgnbd_expectations_match_the_untransformed_published_formulas() -> None:
    r, alpha, a, b = BG.r, BG.alpha, BG.a, BG.b
    for t in (1.0, 39.0, 78.0):
        direct = (a + b - 1) / (a - 1)
        direct *= 1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t))
        assert bgnbd.expected_transactions(BG, t) == pytest.approx(direct, rel=1e-10)
    for x, t_x, T in ((0, 0.0, 38.86), (2, 30.43, 38.86), (7, 35.0, 38.86)):
        t = 39.0
        z = t / (alpha + T + t)
        bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        direct = (a + b + x - 1) / (a - 1) * bracket * bgnbd.p_alive(BG, x, t_x, T)
        got = bgnbd.conditional_expected_transactions(BG, t, x, t_x, T)
        assert got == pytest.approx(direct, rel=1e-10)


def test_bgnbd_expectations_are_continuous_through_a_equal_to_one() -> None:
    values = [
        bgnbd.conditional_expected_transactions(dataclasses.replace(BG, a=a), 39, 2, 30.0, 38.0)
        for a in (1 - 1e-3, 1 - 1e-5, 1.0, 1 + 1e-5, 1 + 1e-3)
    ]
    assert np.all(np.isfinite(values))
    assert abs(values[2] - values[1]) < 1e-5 and abs(values[3] - values[2]) < 1e-5
    assert abs(values[4] - values[0]) < 1e-2


def test_paretonbd_p_alive_has_its_closed_form_when_alpha_equals_beta() -> None:
    # With alpha = beta the hypergeometric term is 1 and
    # P(alive) = 1 / (1 + s/(r+s+x) [((α+T)/(α+t_x))^(r+s+x) - 1]).
    params = dataclasses.replace(PARETO, beta=PARETO.alpha)
    r, alpha, s = params.r, params.alpha, params.s
    for x, t_x, T in ((0, 0.0, 30.0), (2, 10.0, 30.0), (40, 29.0, 30.0)):
        rsx = r + s + x
        expected = 1 / (1 + s / rsx * (((alpha + T) / (alpha + t_x)) ** rsx - 1))
        assert paretonbd.p_alive(params, x, t_x, T) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("alpha", "beta"), [(10.578, 11.669), (11.669, 10.578), (0.01, 50.0), (50.0, 0.01)]
)
@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 39.0), (2, 30.43, 38.86), (60, 5.0, 80.0)])
def test_paretonbd_likelihood_matches_direct_integration_in_both_regions(
    alpha: float, beta: float, x: int, t_x: float, T: float
) -> None:
    params = dataclasses.replace(PARETO, alpha=alpha, beta=beta)
    expected = _pareto_ll_by_quadrature(params, x, t_x, T)
    assert paretonbd.log_likelihood(params, x, t_x, T) == pytest.approx(expected, rel=1e-9)


def test_paretonbd_matches_the_published_hypergeometric_difference_where_it_is_stable() -> None:
    # FH05's A_0 for alpha >= beta, evaluated literally (fine for moderate x).
    r, alpha, s, beta = 0.553, 11.669, 0.606, 10.578
    x, t_x, T = 2, 30.43, 38.86
    rsx = r + s + x
    a0 = hyp2f1(rsx, s + 1, rsx + 1, (alpha - beta) / (alpha + t_x)) / (alpha + t_x) ** rsx
    a0 -= hyp2f1(rsx, s + 1, rsx + 1, (alpha - beta) / (alpha + T)) / (alpha + T) ** rsx
    like = math.exp(gammaln(r + x) - gammaln(r)) * alpha**r * beta**s
    like *= 1 / ((alpha + T) ** (r + x) * (beta + T) ** s) + s / rsx * a0
    params = ParetoNBDParams(r, alpha, s, beta, 0.0, 7.0, DIAG)
    assert paretonbd.log_likelihood(params, x, t_x, T) == pytest.approx(math.log(like), rel=1e-12)


def test_paretonbd_expectations_have_their_closed_forms_and_s_equal_one_limit() -> None:
    r, alpha, s, beta = PARETO.r, PARETO.alpha, PARETO.s, PARETO.beta
    t = 52.0
    expected = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
    assert paretonbd.expected_transactions(PARETO, t) == pytest.approx(expected, rel=1e-12)
    at_one = paretonbd.expected_transactions(dataclasses.replace(PARETO, s=1.0), t)
    assert at_one == pytest.approx(r * beta / alpha * math.log1p(t / beta), rel=1e-12)
    near_one = paretonbd.expected_transactions(dataclasses.replace(PARETO, s=1 + 1e-7), t)
    assert near_one == pytest.approx(at_one, rel=1e-6)


@pytest.mark.parametrize("model", [BG, PARETO], ids=["bgnbd", "pareto_nbd"])
def test_extreme_inputs_give_finite_probabilities_and_expectations(
    model: BGNBDParams | ParetoNBDParams,
) -> None:
    alive = model.p_alive(EXTREME_X, EXTREME_TX, EXTREME_T)
    expected = model.conditional_expected_transactions(52.0, EXTREME_X, EXTREME_TX, EXTREME_T)
    ll = (bgnbd if model is BG else paretonbd).log_likelihood(
        model, EXTREME_X, EXTREME_TX, EXTREME_T
    )
    assert np.all(np.isfinite(alive)) and np.all((alive >= 0) & (alive <= 1))
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
    assert np.all(np.isfinite(ll))
    assert np.all(np.isfinite(model.expected_transactions([0.0, 1e-9, 52.0, 1e6])))
    # Recently active heavy buyers are alive; heavy buyers silent for ages are not.
    assert alive[5] > 0.99 and alive[6] < 1e-6


def test_gamma_gamma_shrinks_from_the_population_mean_to_the_clients_own_mean() -> None:
    population = GG.p * GG.gamma / (GG.q - 1)
    assert GG.population_mean_spend == pytest.approx(population)
    assert GG.conditional_expected_average_spend(0, 100.0) == pytest.approx(population)
    heavy = GG.conditional_expected_average_spend(10_000, 100.0)
    assert heavy == pytest.approx(100.0, rel=1e-2)
    x, m = 3, 50.0
    weight = GG.p * x / (GG.p * x + GG.q - 1)
    expected = (1 - weight) * population + weight * m
    assert GG.conditional_expected_average_spend(x, m) == pytest.approx(expected)
    assert GG.conditional_expected_average_spend(3, -20.0) >= 0


def test_clv_without_discount_is_twelve_months_of_expected_purchases_times_spend() -> None:
    x, t_x, T = np.array([0, 2, 7]), np.array([0.0, 30.43, 35.0]), np.array([38.86] * 3)
    spend = np.array([10.0, 20.0, 30.0])
    clv = customer_lifetime_value(BG, x, t_x, T, spend, months=12, monthly_discount=0.0)
    expected = bgnbd.conditional_expected_transactions(BG, 12 * 30 / 7, x, t_x, T) * spend
    np.testing.assert_allclose(clv, expected, rtol=1e-12)
    discounted = customer_lifetime_value(BG, x, t_x, T, spend, monthly_discount=0.02)
    assert np.all(discounted < clv) and np.all(discounted > 0.8 * clv)


@pytest.mark.parametrize("params", [BG, PARETO, GG], ids=["bgnbd", "pareto_nbd", "gamma_gamma"])
def test_parameters_round_trip_through_json(
    params: BGNBDParams | ParetoNBDParams | GammaGammaParams,
) -> None:
    restored = type(params).from_dict(json.loads(json.dumps(params.to_dict())))
    assert restored == params


def test_compress_groups_identical_patterns_and_the_inverse_expands_back() -> None:
    x = np.array([0, 1, 0, 1, 2])
    t_x = np.array([0.0, 3.0, 0.0, 3.0, 4.0])
    T = np.array([5.0, 5.0, 5.0, 5.0, 6.0])
    data = compress(x, t_x, T)
    assert data.n_patterns == 3 and data.n_clients == 5
    np.testing.assert_array_equal(data.x[data.inverse], x)
    np.testing.assert_array_equal(data.T[data.inverse], T)
    weighted = bgnbd.log_likelihood(BG, data.x, data.t_x, data.T) @ data.weight
    assert weighted == pytest.approx(bgnbd.log_likelihood(BG, x, t_x, T).sum())
    with pytest.raises(ValueError, match="t_x <= T"):
        compress([1], [6.0], [5.0])
