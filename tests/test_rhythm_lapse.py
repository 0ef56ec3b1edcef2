"""Lapses judged honestly: a one-visit client from long ago is not "certainly active", and the
lapse score is the model's chance of no visit over the horizon."""

from __future__ import annotations

import numpy as np
import pytest

from keepwarm import rhythm
from keepwarm.rhythm import fit_population, score, summarise
from keepwarm.rhythm.lapse import FEATURES, calibrate
from keepwarm.rhythm.lapse import features as lapse_features


def _regular_practice() -> tuple[np.ndarray, np.ndarray]:
    """300 clients visiting every 3-5 weeks for two years, and one who came once, 2 years ago."""
    rng = np.random.default_rng(3)
    client, day = [], []
    for c in range(300):
        d = int(rng.integers(0, 30))
        while d <= 730:
            client.append(c)
            day.append(d)
            d += int(rng.integers(21, 36))
    client.append(300)
    day.append(0)
    return np.asarray(client, dtype=np.int64), np.asarray(day, dtype=np.int64)


def test_a_one_visit_client_two_years_ago_is_probably_gone_in_a_practice_of_regulars() -> None:
    client, day = _regular_practice()
    summary = summarise(client, day, np.full(client.size, 5000), 301, 730)
    scores = score(summary, fit_population(summary))
    assert scores.p_alive[300] < 0.5
    assert scores.lapse_risk[300] > 0.5
    # A regular seen last week is the opposite.
    regular = int(np.argmin(np.where(summary.frequency > 5, summary.days_since_last, 10**6)))
    assert scores.p_alive[regular] > 0.9 and scores.lapse_risk[regular] < 0.1


def test_the_lapse_score_is_the_chance_of_no_visit_over_its_horizon() -> None:
    client, day = _regular_practice()
    summary = summarise(client, day, np.full(client.size, 5000), 301, 730)
    population = fit_population(summary)
    short, long = score(summary, population, lapse_days=30), score(summary, population)
    assert np.all((long.lapse_risk >= 0) & (long.lapse_risk <= 1))
    # Longer horizons leave less room for no visit at all; never below the chance of gone.
    assert np.all(long.lapse_risk <= short.lapse_risk + 1e-12)
    assert np.all(long.lapse_risk >= 1 - long.p_alive - 1e-12)


def test_clumped_purchases_count_as_one_occasion_in_the_lapse_score() -> None:
    """Two clients, both silent since day 30: one bought on days 28, 29 and 30 (one clumped
    occasion), one on days 0, 15 and 30. Day-counting would call the clumped buyer the more
    certainly gone; counted in occasions they are nearly a one-visit client, below the
    regular who has gone quiet."""
    client, day = _regular_practice()
    extra_client = np.array([301, 301, 301, 302, 302, 302])
    extra_day = np.array([28, 29, 30, 0, 15, 30])
    client = np.concatenate([client, extra_client])
    day = np.concatenate([day, extra_day])
    summary = summarise(client, day, np.full(client.size, 5000), 303, 730)
    population = fit_population(summary)
    scores = score(summary, population)
    assert scores.lapse_risk[301] < scores.lapse_risk[302]
    # A one-visit client on day 28 scores about the same as the clumped buyer.
    alone = summarise(
        np.concatenate([client[:-6], [301]]),
        np.concatenate([day[:-6], [28]]),
        np.full(client.size - 5, 5000),
        302,
        730,
    )
    one = score(alone, population).lapse_risk[301]
    assert abs(scores.lapse_risk[301] - one) < 0.05


# --- the calibration on the business's own history ----------------------------------------------


def _history(n: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features where the truth is known: not coming back grows with the silence in own gaps
    (column 3) and not with the model's logit (column 0), which is noise here."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    truth = 1.0 / (1.0 + np.exp(-(0.3 + 1.5 * x[:, 3])))
    return x, rng.random(n) < truth, truth


def test_the_calibration_learns_which_evidence_matters_from_the_outcomes() -> None:
    x, gone, _ = _history(6000)
    cal = calibrate(x, gone)
    assert cal is not None and cal.examples == 6000 and cal.not_back == int(gone.sum())
    assert abs(cal.weights[3]) > 5 * abs(cal.weights[0])  # silence in own gaps, not the noise
    fresh, _, fresh_truth = _history(2000, seed=6)
    p = cal.apply(fresh)
    assert np.all((p > 0) & (p < 1))
    assert np.abs(p - fresh_truth).mean() < 0.03  # calibrated, not just ranked


def test_without_enough_of_either_outcome_there_is_no_calibration() -> None:
    x, _, _ = _history(400)
    assert calibrate(x, np.zeros(400, dtype=bool)) is None
    few = np.zeros(400, dtype=bool)
    few[:29] = True
    assert calibrate(x, few) is None
    few[:30] = True
    assert calibrate(x, few) is not None


def test_features_are_finite_for_every_client_including_one_visit_and_silent_ones() -> None:
    summary = rhythm.summarise(
        np.array([0, 1, 1, 1]), np.array([10, 5, 12, 19]), np.array([100, 0, 50, 50]), 3, 400
    )
    risk = np.array([1.0, 0.0, 0.5])  # the extremes must not give infinite logits
    x = lapse_features(summary, risk, typical_gap_days=30.0)
    assert x.shape == (3, len(FEATURES)) and np.all(np.isfinite(x))
    assert x[0, 4] == 1.0 and x[1, 4] == 0.0  # a single visit
    assert x[0, 3] == pytest.approx(np.log1p(390 / 30))  # silence in the typical gap
    assert x[1, 3] == pytest.approx(np.log1p(381 / 7))  # silence in own usual gaps
