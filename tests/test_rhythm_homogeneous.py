"""Businesses whose clients all drop out at about the same rate, like the demo practice.

When the dropout heterogeneity vanishes, BG/NBD's Beta(a, b) tends to a point mass at
a/(a+b) and Pareto/NBD's Gamma(s, beta) to a point mass at s/beta: well-defined limiting
models. Their fits run the concentration (a + b, or s) to the edge of its range with the mean
held, and must be trusted and explained, not thrown away as degenerate. Likewise Gamma-Gamma's
p runs to its edge when every client pays the same on every visit.

The practices are simulated here (seeded): clients whose usual gap between visits runs from
a week to a year, who join over two years, are observed for three and then predicted for a
fourth.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import expit, hyp2f1, log_expit

from keepwarm.rhythm import (
    BGNBDParams,
    ClientSummary,
    FitDiagnostics,
    ParetoNBDParams,
    PopulationFit,
    _optim,
    bgnbd,
    compress_summary,
    fit_population,
    paretonbd,
    score,
    summarise,
)

N_CLIENTS = 300
CALIBRATION_DAY = 3 * 365
END_DAY = 4 * 365
DIAG = FitDiagnostics(True, 0, 0, "test", 0.0, 0.0, 0, False)


@dataclasses.dataclass(frozen=True)
class Practice:
    calibration: ClientSummary
    full: ClientSummary


def _practice(seed: int, dropout: str, prices: bool = False) -> Practice:
    """Clients with usual gaps log-uniform from 7 to 365 days (Poisson visits), joining over
    two years. ``dropout``: ``"lifetime"``, every client has the same exponential lifetime
    (mean 4 years: Pareto/NBD's homogeneous limit); or ``"per_visit"``, every client has the
    same 2% chance of leaving after each repeat visit (BG/NBD's).
    With ``prices``, each client pays their own fixed price (one of a few levels) every visit;
    otherwise amounts vary from visit to visit."""
    rng = np.random.default_rng(seed)
    gap = np.exp(rng.uniform(np.log(7.0), np.log(365.0), N_CLIENTS))
    first = rng.integers(0, 2 * 365, N_CLIENTS)
    end_of_life = first + rng.exponential(4 * 365, N_CLIENTS)
    price = rng.choice([4500, 6000, 6000, 7500, 9000], N_CLIENTS)
    client, day = [], []
    for i in range(N_CLIENTS):
        t = float(first[i])
        client.append(i)
        day.append(int(t))
        while True:
            t += rng.exponential(gap[i])
            if t > END_DAY or (dropout == "lifetime" and t > end_of_life[i]):
                break
            client.append(i)
            day.append(int(t))
            if dropout == "per_visit" and rng.random() < 0.02:
                break
    clients = np.asarray(client)
    days = np.asarray(day)
    if prices:
        amounts = price[clients]
    else:
        amounts = np.rint(rng.gamma(4.0, price[clients] / 4.0)).astype(np.int64)
    return Practice(
        calibration=summarise(clients, days, amounts, N_CLIENTS, CALIBRATION_DAY),
        full=summarise(clients, days, amounts, N_CLIENTS, END_DAY),
    )


def _assert_trusted_at_the_limit(population: PopulationFit, practice: Practice) -> None:
    model = population.model
    assert not population.fallback, population.notes
    assert model.diagnostics.converged
    assert model.diagnostics.at_limit and not model.diagnostics.at_bound
    assert model.diagnostics.gradient_max < model.diagnostics.gradient_tolerance
    assert any("dropout is about the same for every client" in n for n in population.notes)
    assert any("fitted at its limit" in n for n in population.notes)
    json.dumps(population.to_dict())
    assert PopulationFit.from_dict(json.loads(json.dumps(population.to_dict()))) == population

    cal, full = practice.calibration, practice.full
    scores = score(cal, population)
    for name in scores.__dataclass_fields__:
        value = getattr(scores, name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.all(np.isfinite(value)), name
    assert np.all((scores.p_alive >= 0) & (scores.p_alive <= 1))

    seen = cal.has_activity
    predicted = model.conditional_expected_transactions(
        365 / cal.unit_days, cal.frequency[seen], cal.t_x[seen], cal.T[seen]
    )
    actual = (full.n_days - cal.n_days)[seen]
    assert np.all(np.isfinite(predicted)) and np.all(predicted >= 0)
    assert predicted.sum() == pytest.approx(actual.sum(), rel=0.2)


def test_clients_with_the_same_lifetime_get_a_trusted_pareto_nbd_at_its_limit() -> None:
    # Data from the limiting model itself: its likelihood peaks at the limit for most such
    # samples (a boundary estimate), this one included.
    practice = _practice(seed=1, dropout="lifetime")
    population = fit_population(practice.calibration)
    assert population.model_name == "pareto_nbd"
    model = population.model
    assert isinstance(model, ParetoNBDParams)
    _assert_trusted_at_the_limit(population, practice)
    assert any("Pareto/NBD: dropout is about the same" in n for n in population.notes)


def test_clients_with_the_same_chance_of_leaving_after_a_visit_get_a_trusted_bgnbd() -> None:
    # Likewise; here the likelihood peaks at the limit for about half of the samples.
    practice = _practice(seed=2, dropout="per_visit")
    population = fit_population(practice.calibration, models=("bgnbd",))
    model = population.model
    assert isinstance(model, BGNBDParams)
    assert model.a / (model.a + model.b) == pytest.approx(0.02, rel=0.35)
    _assert_trusted_at_the_limit(population, practice)
    share = f"a/(a+b) = {model.a / (model.a + model.b):.2g}"
    assert any(share in n for n in population.notes)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("dropout", "tolerance"), [("lifetime", 0.2), ("per_visit", 0.3)])
def test_homogeneous_dropout_practices_are_trusted_whether_or_not_at_the_limit(
    seed: int, dropout: str, tolerance: float
) -> None:
    practice = _practice(seed=seed, dropout=dropout)
    population = fit_population(practice.calibration)
    model = population.model
    assert not population.fallback, population.notes
    assert model.diagnostics.converged and not model.diagnostics.at_bound
    limit_noted = any("fitted at its limit" in n and "dropout" in n for n in population.notes)
    if model.diagnostics.at_limit:
        assert limit_noted
    cal, full = practice.calibration, practice.full
    seen = cal.has_activity
    predicted = model.conditional_expected_transactions(
        365 / cal.unit_days, cal.frequency[seen], cal.t_x[seen], cal.T[seen]
    )
    actual = (full.n_days - cal.n_days)[seen]
    assert predicted.sum() == pytest.approx(actual.sum(), rel=tolerance)


def test_the_homogeneous_limit_fits_take_few_evaluations() -> None:
    # At the limit Pareto/NBD evaluates its hypergeometric term by quadrature with an
    # analytic gradient; before, hyp2f1 there took seconds and then returned NaN.
    for model, dropout, seed in ((paretonbd, "lifetime", 1), (bgnbd, "per_visit", 2)):
        data = compress_summary(_practice(seed=seed, dropout=dropout).calibration)
        fitted = model.fit(data)
        assert fitted.diagnostics.converged and fitted.diagnostics.at_limit
        assert fitted.diagnostics.function_evaluations < 150


def test_clients_who_always_pay_their_own_price_get_a_trusted_gamma_gamma_at_its_limit() -> None:
    practice = _practice(seed=1, dropout="lifetime", prices=True)
    population = fit_population(practice.calibration)
    spend = population.spend
    assert spend is not None
    assert spend.diagnostics.converged and spend.diagnostics.at_limit
    assert spend.q > 1
    assert any("spends about the same on every visit" in n for n in population.notes)
    cal = practice.calibration
    repeat = cal.frequency > 0
    expected = spend.conditional_expected_average_spend(
        cal.frequency[repeat], cal.mean_repeat_spend[repeat]
    )
    np.testing.assert_allclose(expected, cal.mean_repeat_spend[repeat], rtol=1e-3)


def test_varying_amounts_do_not_put_gamma_gamma_at_its_limit() -> None:
    practice = _practice(seed=1, dropout="lifetime")
    population = fit_population(practice.calibration)
    spend = population.spend
    assert spend is not None
    assert spend.diagnostics.converged and not spend.diagnostics.at_limit
    assert 2.0 < spend.p < 12.0  # amounts are Gamma(4) around each client's price


def _rounded_objective(quantum: float):  # type: ignore[no-untyped-def]
    """A smooth objective whose value is rounded to ``quantum``, as rounding noise does near
    a flat optimum: BFGS's line search then stops with "precision loss"."""
    centre = np.array([1.0, -0.5])

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        d = theta - centre
        value = float(np.sum(d**2) + np.sum(d**4) + d[0] * d[1])
        grad = 2 * d + 4 * d**3 + np.array([d[1], d[0]])
        return round(value / quantum) * quantum, grad

    return objective


def test_a_fit_stopped_by_precision_loss_at_a_tiny_gradient_counts_as_converged() -> None:
    theta, diag = _optim.maximise(
        _rounded_objective(1e-11), np.zeros(2), n_clients=1.0, n_patterns=1
    )
    assert "precision loss" in diag.message
    assert diag.gradient_max < diag.gradient_tolerance
    assert diag.converged and not diag.at_bound and not diag.at_limit
    np.testing.assert_allclose(theta, [1.0, -0.5], atol=1e-5)


def test_a_fit_stopped_by_precision_loss_far_from_flat_does_not_count_as_converged() -> None:
    _, diag = _optim.maximise(_rounded_objective(1e-9), np.zeros(2), n_clients=1.0, n_patterns=1)
    assert "precision loss" in diag.message
    assert diag.gradient_max > diag.gradient_tolerance
    assert not diag.converged


def test_a_concentration_running_to_its_limit_is_not_a_degenerate_fit() -> None:
    # The value keeps falling (the likelihood rising) towards large theta[1], ever more slowly.
    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value = (theta[0] - 1.0) ** 2 + math.exp(-theta[1])
        return value, np.array([2.0 * (theta[0] - 1.0), -math.exp(-theta[1])])

    _, limit = _optim.maximise(objective, np.zeros(2), n_clients=1.0, n_patterns=1, limit_index=1)
    assert limit.at_limit and not limit.at_bound and limit.converged
    _, bound = _optim.maximise(objective, np.zeros(2), n_clients=1.0, n_patterns=1)
    assert bound.at_bound and not bound.converged


def test_other_parameters_at_the_edge_are_still_degenerate() -> None:
    # r and alpha running off together (every client buying at exactly the same rate) or the
    # concentration collapsing to 0 are not the homogeneous-dropout limit.
    def runaway(index: int, sign: float):  # type: ignore[no-untyped-def]
        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            grad = 2.0 * theta
            grad[index] = -sign * math.exp(-sign * theta[index])
            value = float(np.sum(theta**2) - theta[index] ** 2 + math.exp(-sign * theta[index]))
            return value, grad

        return objective

    for index, sign in ((0, 1.0), (1, -1.0), (3, -1.0)):
        _, diag = _optim.maximise(
            runaway(index, sign), np.zeros(4), n_clients=1.0, n_patterns=1, limit_index=3
        )
        assert diag.at_bound and not diag.at_limit and not diag.converged, (index, sign)


def test_diagnostics_saved_before_the_limit_existed_still_load() -> None:
    old = {k: v for k, v in DIAG.to_dict().items() if k not in ("at_limit", "gradient_tolerance")}
    restored = FitDiagnostics.from_dict(old)
    assert restored == DIAG and not restored.at_limit
    assert restored.gradient_tolerance == _optim.GRADIENT_TOLERANCE


def _pareto_q_by_integration(
    r: float, alpha: float, s: float, beta: float, x: float, y: float
) -> tuple[float, float]:
    """Q(y) and 1 - Q(y) as ∫ e^-w (1 + c (e^(w/s) - 1))^-(r+x) dw (paretonbd docstring),
    by adaptive quadrature in log w."""
    k, c = r + x, (beta + y) / (alpha + y)

    def log_g(eta: float) -> float:
        return -k * math.log1p(c * math.expm1(math.exp(eta) / s))

    def q(eta: float) -> float:
        return math.exp(eta - math.exp(eta) + log_g(eta))

    def one_minus_q(eta: float) -> float:
        return math.exp(eta - math.exp(eta)) * -math.expm1(log_g(eta))

    centre = math.log(min(1.0, s / (c * max(k, 1.0))))
    points = [centre + d for d in range(-8, 9, 2) if centre + d < 4.0]
    out = []
    for f in (q, one_minus_q):
        value = quad(f, -60.0, 4.5, points=points, epsabs=0, epsrel=1e-12, limit=400)[0]
        out.append(value + math.exp(-60.0) * (f is q))
    return out[0], out[1]


@pytest.mark.parametrize(
    ("s", "mu", "alpha"),
    [
        (12.0, 0.01, 2.9),
        (40.0, 0.001, 0.3),
        (123.0, 0.0011, 2.9),
        (4e5, 0.0011, 2.9),
        (1e3, 3.0, 50),
    ],
)
def test_paretonbd_q_by_quadrature_matches_direct_integration(
    s: float, mu: float, alpha: float
) -> None:
    x = np.array([0.0, 1.0, 5.0, 40.0, 230.0])
    y = np.array([0.0, 3.0, 50.0, 150.0, 10.0])
    q, one_minus_q, _ = paretonbd._q_by_quadrature(0.8, alpha, s, s / mu, x, y)
    for i in range(x.size):
        ref_q, ref_1mq = _pareto_q_by_integration(0.8, alpha, s, s / mu, x[i], y[i])
        assert q[i] == pytest.approx(ref_q, rel=1e-10)
        assert one_minus_q[i] == pytest.approx(ref_1mq, rel=1e-9)


def test_paretonbd_q_by_quadrature_matches_hyp2f1_where_both_work() -> None:
    x = np.array([0.0, 1.0, 7.0, 60.0])
    y = np.array([0.0, 10.0, 38.0, 80.0])
    for s, beta, alpha in ((11.0, 30.0, 8.0), (15.0, 400.0, 3.0), (20.0, 5.0, 12.0)):
        q, _, _ = paretonbd._q_by_quadrature(0.55, alpha, s, beta, x, y)
        by_hyp2f1 = np.exp(paretonbd._log_q_hyp2f1(0.55, alpha, s, beta, x, y))
        np.testing.assert_allclose(q, by_hyp2f1, rtol=1e-10)


@pytest.mark.parametrize("s", [30.0, 3000.0, 4e5])
def test_paretonbd_gradient_by_quadrature_matches_central_differences(s: float) -> None:
    practice = _practice(seed=1, dropout="lifetime")
    lay = _optim.make_layout(compress_summary(practice.calibration))
    theta = np.log([0.8, 2.9, 0.005, s])  # (log r, log alpha, log s/beta, log s)
    _, grad = paretonbd._objective(theta, lay)
    h = 1e-4
    for k in range(4):
        step = h * np.eye(4)[k]
        up = paretonbd._objective(theta + step, lay, with_gradient=False)[0]
        down = paretonbd._objective(theta - step, lay, with_gradient=False)[0]
        assert grad[k] == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-8)


def test_bgnbd_expectations_for_large_a_match_hyp2f1_and_direct_integration() -> None:
    x = np.array([0.0, 1.0, 5.0, 20.0, 100.0])
    T = np.array([150.0, 150.0, 100.0, 150.0, 30.0])
    # Where hyp2f1 still works (a up to ~1000), the averaging over p agrees with it ...
    for a, b in ((150.0, 3.0), (400.0, 2000.0), (900.0, 1e5)):
        params = BGNBDParams(0.8, 2.8, a, b, 0.0, 7.0, DIAG)
        by_average = bgnbd.expected_if_alive(params, 52.0, x, T)
        z = 52.0 / (2.8 + T + 52.0)
        bracket = 1 - ((2.8 + T) / (2.8 + T + 52.0)) ** (0.8 + x) * hyp2f1(
            0.8 + x, b + x, a + b + x - 1, z
        )
        np.testing.assert_allclose(by_average, (a + b + x - 1) / (a - 1) * bracket, rtol=1e-9)
    # ... and at the homogeneous limit, where it returns NaN, direct integration over p does.
    params = BGNBDParams(0.8, 2.8, 1223.0, 441175.0, 0.0, 7.0, DIAG)
    got = bgnbd.expected_if_alive(params, 52.0, x, T)
    for i in range(x.size):
        k, scale, a, b = 0.8 + x[i], 2.8 + T[i], params.a, params.b + x[i]
        mode = math.log(a / b)
        width = math.sqrt(1 / a + 1 / b)
        at_mode = a * log_expit(mode) + b * log_expit(-mode)

        def density(xi: float, a: float = a, b: float = b, at_mode: float = at_mode) -> float:
            return math.exp(a * log_expit(xi) + b * log_expit(-xi) - at_mode)

        def value(xi: float, k: float = k, scale: float = scale) -> float:
            p = expit(xi)
            return -math.expm1(-k * math.log1p(p * 52.0 / scale)) / p

        lo, hi = mode - 12 * width, mode + 12 * width
        num = quad(lambda xi: density(xi) * value(xi), lo, hi, epsabs=0, epsrel=1e-12)[0]
        den = quad(density, lo, hi, epsabs=0, epsrel=1e-12)[0]
        assert got[i] == pytest.approx(num / den, rel=1e-10)
    assert np.all(np.isfinite(params.expected_transactions([0.0, 1.0, 52.0, 520.0])))


def test_the_demo_like_parameters_give_finite_scores_for_extreme_clients() -> None:
    bg = BGNBDParams(0.80, 2.82, 1223.0, 441175.0, 0.0, 7.0, DIAG)
    pareto = ParetoNBDParams(0.82, 2.88, 4.4e5, 4.0e8, 0.0, 7.0, DIAG)
    x = np.array([0, 0, 1, 1, 500, 500, 3, 230])
    t_x = np.array([0, 0, 1e-9, 5.0, 1e-3, 38.0, 1e4, 150.0])
    T = np.array([1e-9, 1e4, 1e-9, 5.0, 1e-3, 38.0, 1e4, 156.0])
    for model in (bg, pareto):
        alive = model.p_alive(x, t_x, T)
        expected = model.conditional_expected_transactions(52.0, x, t_x, T)
        assert np.all(np.isfinite(alive)) and np.all((alive >= 0) & (alive <= 1))
        assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
        assert np.all(np.isfinite(model.expected_transactions([0.0, 1e-9, 52.0, 1e6])))
    ll = paretonbd.log_likelihood(pareto, x, t_x, T)
    assert np.all(np.isfinite(ll))
