"""Lapses judged honestly: a one-visit client from long ago is not "certainly active", and the
lapse score is the model's chance of no visit over the horizon."""

from __future__ import annotations

import numpy as np

from keepwarm.rhythm import fit_population, score, summarise


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
