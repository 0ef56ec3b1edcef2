"""The rhythm engine reproduces the published CDNOW estimates (tests/data/README.md).

Published values (weekly unit, calibration 1997-01-01..1997-09-30 inclusive, repeat purchases
per distinct day, T measured from the first purchase to 1997-09-30, so 38.86 weeks for a
1997-01-01 buyer):
- BG/NBD, Fader, Hardie & Lee (2005), "Counting your customers the easy way":
  r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
- Pareto/NBD on the same data, as reported in the same paper: r = 0.553, alpha = 10.578, s = 0.606,
  beta = 11.669, LL = -9595.0.
- Gamma-Gamma on the 946 repeat buyers' mean repeat spend, Fader, Hardie & Lee (2005), "RFM
  and CLV": p = 6.25, q = 3.74, gamma = 15.44.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from keepwarm.rhythm import (
    BGNBDParams,
    ClientSummary,
    Compressed,
    GammaGammaParams,
    ParetoNBDParams,
    PopulationFit,
    bgnbd,
    compress_summary,
    fit_population,
    fit_population_from,
    fit_stats,
    gammagamma,
    paretonbd,
    score,
    summarise,
)
from keepwarm.rhythm import population as population_module

DATA = Path(__file__).parent / "data" / "cdnow_sample.txt"


def _day(yyyymmdd: str) -> int:
    iso = f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"
    return int(np.datetime64(iso, "D").astype(np.int64))


@pytest.fixture(scope="module")
def cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.loadtxt(DATA, dtype=str)
    client = rows[:, 1].astype(np.int64) - 1
    day = np.array([_day(s) for s in rows[:, 2]], dtype=np.int64)
    cents = np.rint(rows[:, 4].astype(float) * 100).astype(np.int64)
    return client, day, cents


@pytest.fixture(scope="module")
def calibration(cdnow: tuple[np.ndarray, np.ndarray, np.ndarray]) -> ClientSummary:
    client, day, cents = cdnow
    return summarise(client, day, cents, 2357, _day("19970930"))


@pytest.fixture(scope="module")
def bg(calibration: ClientSummary) -> BGNBDParams:
    return bgnbd.fit(compress_summary(calibration))


@pytest.fixture(scope="module")
def pareto(calibration: ClientSummary) -> ParetoNBDParams:
    return paretonbd.fit(compress_summary(calibration))


@pytest.fixture(scope="module")
def gg(calibration: ClientSummary) -> GammaGammaParams:
    dollars = calibration.mean_repeat_spend / 100.0
    return gammagamma.fit(calibration.frequency, dollars)


@pytest.fixture(scope="module")
def population(calibration: ClientSummary) -> PopulationFit:
    return fit_population(calibration)


def test_the_calibration_summary_has_the_published_repeat_buyers(
    calibration: ClientSummary,
) -> None:
    assert calibration.n_clients == 2357
    assert calibration.has_activity.all()
    assert np.count_nonzero(calibration.frequency > 0) == 946
    # T runs from the first purchase to 1997-09-30: 272 days for a 1997-01-01 buyer.
    assert calibration.T.max() == pytest.approx(272 / 7)


def test_bgnbd_reproduces_the_published_cdnow_parameters(bg: BGNBDParams) -> None:
    assert bg.diagnostics.converged
    assert (round(bg.r, 3), round(bg.alpha, 3), round(bg.a, 3), round(bg.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert round(bg.log_likelihood, 1) == -9582.4


def test_paretonbd_reproduces_the_published_cdnow_parameters(pareto: ParetoNBDParams) -> None:
    assert pareto.diagnostics.converged
    assert (
        round(pareto.r, 3),
        round(pareto.alpha, 3),
        round(pareto.s, 3),
        round(pareto.beta, 3),
    ) == (0.553, 10.578, 0.606, 11.669)
    assert round(pareto.log_likelihood, 1) == -9595.0


def test_gamma_gamma_reproduces_the_published_cdnow_parameters(gg: GammaGammaParams) -> None:
    assert gg.diagnostics.converged
    assert gg.diagnostics.n_clients == 946
    assert (round(gg.p, 2), round(gg.q, 2), round(gg.gamma, 2)) == (6.25, 3.74, 15.44)


def test_gamma_gamma_spend_unit_only_rescales_gamma(
    calibration: ClientSummary, gg: GammaGammaParams
) -> None:
    in_cents = gammagamma.fit(calibration.frequency, calibration.mean_repeat_spend)
    assert in_cents.p == pytest.approx(gg.p, rel=1e-5)
    assert in_cents.q == pytest.approx(gg.q, rel=1e-5)
    assert in_cents.gamma == pytest.approx(100 * gg.gamma, rel=1e-5)


def test_bgnbd_matches_the_published_worked_example(bg: BGNBDParams) -> None:
    # The worked example of FHL 2005: a customer with x = 2, t_x = 30.43, T = 38.86 is
    # expected to make 1.226 purchases in the next 39 weeks.
    expected = bg.conditional_expected_transactions(39, 2, 30.43, 38.86)
    assert round(float(expected), 3) == 1.226


def test_the_fit_matches_the_per_client_likelihood(
    calibration: ClientSummary, bg: BGNBDParams, pareto: ParetoNBDParams
) -> None:
    x, t_x, T = calibration.frequency, calibration.t_x, calibration.T
    assert bgnbd.log_likelihood(bg, x, t_x, T).sum() == pytest.approx(bg.log_likelihood)
    assert paretonbd.log_likelihood(pareto, x, t_x, T).sum() == pytest.approx(pareto.log_likelihood)


def test_model_choice_on_cdnow_picks_bgnbd_by_log_likelihood_and_says_why(
    population: PopulationFit,
) -> None:
    assert not population.fallback
    assert population.model_name == "bgnbd"
    assert population.reason.startswith("BG/NBD chosen")
    assert "-9582.4" in population.reason and "-9595.0" in population.reason
    assert {c.name for c in population.candidates} == {"bgnbd", "pareto_nbd"}
    assert population.spend is not None


def test_population_fit_round_trips_through_json(population: PopulationFit) -> None:
    text = json.dumps(population.to_dict())
    assert PopulationFit.from_dict(json.loads(text)) == population


def test_a_holdout_check_judges_models_on_repeat_visits_after_calibration(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], calibration: ClientSummary
) -> None:
    client, day, cents = cdnow
    full = summarise(client, day, cents, 2357, _day("19980630"))
    chosen = fit_population(full, calibration=calibration)
    names = [name for name, _ in chosen.holdout_mae]
    assert names == ["bgnbd", "pareto_nbd"]
    maes = dict(chosen.holdout_mae)
    assert all(0 < m < 2 for m in maes.values())
    assert chosen.model_name == min(maes, key=lambda n: maes[n])
    assert "best predicted repeat visits" in chosen.reason


@pytest.mark.parametrize("failing", [("bgnbd", "pareto_nbd"), ("bgnbd",), ("pareto_nbd",)])
def test_unless_every_model_is_fitted_on_the_calibration_days_the_log_likelihood_decides(
    failing: tuple[str, ...],
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray],
    calibration: ClientSummary,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A holdout check needs every model refitted: one survivor alone is compared with
    nothing, so it must not be said to have "best predicted" anything."""
    client, day, cents = cdnow
    full = summarise(client, day, cents, 2357, _day("19980630"))
    plain = fit_population(full)
    # The refits of `failing` on the calibration days fail; the fits on the full history do not.
    stats = fit_stats(full, calibration)
    assert stats.holdout is not None
    calibration_data = stats.holdout.patterns
    real_fit_one = population_module._fit_one
    refitted: list[str] = []

    def fit_one(name: str, data: Compressed, start: object) -> object:
        if data is calibration_data:
            refitted.append(name)
            if name in failing:
                raise FloatingPointError(f"{name} overflowed")
        return real_fit_one(name, data, start)

    monkeypatch.setattr(population_module, "_fit_one", fit_one)
    chosen = fit_population_from(stats)

    assert refitted, "the calibration days were never fitted"
    assert not chosen.fallback
    assert chosen.holdout_mae == ()
    assert chosen.model == plain.model == max(plain.candidates, key=lambda m: m.log_likelihood)
    assert chosen.reason == plain.reason
    assert "its log-likelihood" in chosen.reason
    said = {
        "bgnbd": "BG/NBD could not be fitted on the calibration days",
        "pareto_nbd": "Pareto/NBD could not be fitted on the calibration days",
    }
    for name, words in said.items():
        assert any(words in n for n in chosen.notes) == (name in failing)
    assert any("chosen by log-likelihood" in n for n in chosen.notes)


def test_scores_on_cdnow_are_finite_and_consistent(
    calibration: ClientSummary, population: PopulationFit
) -> None:
    scores = score(calibration, population)
    for name in scores.__dataclass_fields__:
        value = getattr(scores, name)
        if isinstance(value, np.ndarray):
            assert np.all(np.isfinite(value)), name
    assert np.all((scores.p_alive >= 0) & (scores.p_alive <= 1))
    assert np.all(scores.expected_30 <= scores.expected_90)
    assert np.all(scores.expected_90 <= scores.expected_365)
    assert np.all(scores.clv_cents >= 0)
    assert np.all(scores.revenue_at_risk_per_month_cents <= scores.monthly_value_cents + 1e-9)
    assert np.all((scores.lapse_risk >= 0) & (scores.lapse_risk <= 1))
    # BG/NBD would call every one-time buyer certainly alive; MBG/NBD's first-purchase
    # dropout makes them less likely alive, and less so the longer ago they bought.
    one_time = calibration.has_activity & (calibration.frequency == 0)
    alive, age = scores.p_alive[one_time], calibration.age_days[one_time]
    assert np.all(alive < 1.0)
    assert alive[np.argmax(age)] < alive[np.argmin(age)]
