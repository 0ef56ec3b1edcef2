"""Small or odd businesses: numbers stay finite, nothing raises, and a fallback is reported
whenever the population fit cannot be trusted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keepwarm.rhythm import (
    BGNBDParams,
    ClientSummary,
    FitDiagnostics,
    PopulationFit,
    Scores,
    fit_population,
    score,
    simulate_activities,
    summarise,
)

TRUTH = BGNBDParams(0.5, 3.0, 0.8, 2.5, 0.0, 7.0, FitDiagnostics(True, 0, 0, "", 0, 0, 0, False))


def _simulated(n_clients: int, seed: int) -> ClientSummary:
    sim = simulate_activities(TRUTH, n_clients, np.random.default_rng(seed))
    return summarise(sim.client, sim.day, sim.amount_cents, n_clients, sim.as_of_day)


def _assert_sane(summary: ClientSummary, population: PopulationFit) -> Scores:
    json.dumps(population.to_dict())  # JSON-able, no NaN surprises
    scores = score(summary, population)
    for name in scores.__dataclass_fields__:
        value = getattr(scores, name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.all(np.isfinite(value)), name
    assert np.all((scores.p_alive >= 0) & (scores.p_alive <= 1))
    for name in ("expected_30", "expected_365", "clv_cents", "revenue_at_risk_per_month_cents"):
        assert np.all(getattr(scores, name) >= 0), name
    active = summary.has_activity
    assert np.all(scores.attention_after_day[active] >= summary.last_day[active])
    assert np.all(scores.attention_after_day[~active] == -1)
    return scores


def test_thirty_clients_fall_back_to_their_own_gaps_and_say_so() -> None:
    summary = _simulated(30, seed=1)
    population = fit_population(summary)
    assert population.fallback and population.model_name == "own_gaps"
    assert "only 30 clients" in population.reason
    assert population.model.diagnostics.message.startswith("fixed fallback")
    _assert_sane(summary, population)


def test_three_hundred_clients_get_a_population_model() -> None:
    summary = _simulated(300, seed=2)
    population = fit_population(summary)
    assert not population.fallback, population.notes
    assert population.reason.split(" chosen")[0] in ("BG/NBD", "Pareto/NBD")
    _assert_sane(summary, population)


def test_one_visit_clients_fall_back_and_still_get_an_attention_date() -> None:
    n = 200
    summary = summarise(np.arange(n), np.arange(n) % 90, np.full(n, 2500), n, 100)
    population = fit_population(summary)
    assert population.fallback and "came back" in population.reason
    assert population.typical_gap_days == 90.0  # no gaps at all: the documented default
    scores = _assert_sane(summary, population)
    assert np.all(scores.expected_spend_cents == pytest.approx(2500.0))


def test_all_zero_amounts_give_zero_value_without_nan() -> None:
    sim = simulate_activities(TRUTH, 500, np.random.default_rng(3))
    summary = summarise(sim.client, sim.day, np.zeros_like(sim.amount_cents), 500, sim.as_of_day)
    population = fit_population(summary)
    assert population.spend is None
    assert any("own average" in note for note in population.notes)
    scores = _assert_sane(summary, population)
    assert np.all(scores.clv_cents == 0) and np.all(scores.expected_spend_cents == 0)


def test_refunds_and_free_visits_never_make_value_negative() -> None:
    sim = simulate_activities(TRUTH, 400, np.random.default_rng(4))
    refunds = np.where(np.arange(sim.client.size) % 3 == 0, -sim.amount_cents, 0)
    summary = summarise(sim.client, sim.day, refunds, 400, sim.as_of_day)
    _assert_sane(summary, fit_population(summary))


def test_a_business_with_no_activity_yet_scores_everyone_zero() -> None:
    empty = np.zeros(0, dtype=np.int64)
    summary = summarise(empty, empty, empty, 5, 100)
    population = fit_population(summary)
    assert population.fallback
    scores = _assert_sane(summary, population)
    assert np.all(scores.p_alive == 0) and np.all(scores.clv_cents == 0)


def test_identical_clockwork_clients_are_a_degenerate_fit_and_fall_back() -> None:
    # 200 clients who all came every Monday for a year: no heterogeneity to estimate.
    n, weeks = 200, 52
    client = np.repeat(np.arange(n), weeks)
    day = np.tile(np.arange(weeks) * 7, n)
    summary = summarise(client, day, np.full(client.size, 1000), n, 400)
    population = fit_population(summary)
    assert population.fallback
    assert any("degenerate" in note or "did not converge" in note for note in population.notes)
    scores = _assert_sane(summary, population)
    # Six weeks of silence is very unusual for a weekly client.
    assert np.all(scores.attention_after_day < 400)
    assert np.all(scores.silence_ratio == pytest.approx(43 / 7))


def test_clients_with_identical_purchase_rates_skip_the_second_model_and_fall_back() -> None:
    # Visits at uniformly random days: every client buys at the same rate, nobody leaves.
    # BG/NBD's rate shape r runs away, so Pareto/NBD (same rate mixture) is not fitted at all.
    rng = np.random.default_rng(8)
    n, m = 3_000, 30_000
    client, day = rng.integers(0, n, m), rng.integers(0, 3650, m)
    summary = summarise(client, day, rng.integers(0, 9_000, m), n, 3_700)
    fit = fit_population(summary)
    assert fit.fallback
    assert [c.name for c in fit.candidates] == ["bgnbd"]
    assert fit.candidates[0].r > 1000
    assert any("Pareto/NBD not fitted: purchase rates show no spread" in n for n in fit.notes)
