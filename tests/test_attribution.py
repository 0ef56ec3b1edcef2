"""The attribution statistics (keepwarm.stats.attribution): Newcombe's interval against the
published example, the verdict's boundaries, "more clients needed", revenue, and a small
simulation where the true effect is known (the full one: bench/attribution_coverage.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from keepwarm.stats.attribution import (
    SMALLEST_EFFECT,
    compare,
    compare_revenue,
    required_total,
)


def test_the_interval_matches_newcombes_published_example() -> None:
    # Newcombe 1998, Table II, example (a): 56/70 vs 48/80, method 10 -> 0.0524 to 0.3339.
    c = compare(70, 56, 80, 48)
    assert c.difference == pytest.approx(56 / 70 - 48 / 80)
    assert round(c.ci_low, 4) == 0.0524
    assert round(c.ci_high, 4) == 0.3339
    assert c.outcome == "worked" and c.verdict == "worked"


def test_the_interval_matches_newcombes_example_with_no_events_in_one_group() -> None:
    # Newcombe 1998, Table II, example (h): 0/10 vs 0/20 -> -0.1611 to 0.2775.
    c = compare(10, 0, 20, 0)
    assert round(c.ci_low, 4) == -0.1611
    assert round(c.ci_high, 4) == 0.2775


def test_an_interval_above_zero_is_worked() -> None:
    c = compare(900, 180, 100, 8)
    assert c.ci_low > 0
    assert c.outcome == "worked"
    assert c.more_needed is None
    assert c.sentence.startswith("It worked: 20% of the clients who got it came back")


def test_an_interval_below_zero_is_did_harm() -> None:
    c = compare(900, 50, 100, 20)
    assert c.ci_high < 0
    assert c.outcome == "did harm"
    assert "harm" in c.sentence


def test_a_narrow_interval_around_zero_is_no_evidence() -> None:
    c = compare(5000, 500, 5000, 500)
    assert c.ci_low < 0 < c.ci_high < SMALLEST_EFFECT
    assert c.outcome == "no evidence"
    assert c.verdict == "no evidence"
    assert "rules out a lift of 5.0 points" in c.sentence


def test_a_wide_interval_around_zero_is_inconclusive_with_the_clients_needed() -> None:
    c = compare(54, 6, 6, 0)
    assert c.ci_low < 0 < SMALLEST_EFFECT <= c.ci_high
    assert c.outcome == "inconclusive"
    assert c.more_needed is not None and c.more_needed > 60
    assert c.verdict == f"inconclusive — about {c.more_needed} more clients needed to tell"


def test_the_smallest_effect_that_matters_moves_the_line_between_no_evidence_and_inconclusive() -> (
    None
):
    counts = (2000, 200, 2000, 200)  # interval about -1.9 to +1.9 points
    assert compare(*counts, smallest_effect=0.05).outcome == "no evidence"
    assert compare(*counts, smallest_effect=0.01).outcome == "inconclusive"


def test_more_clients_needed_shrinks_as_the_interval_narrows() -> None:
    # The same rates (10% vs 10%) with more and more clients: narrower intervals, fewer needed.
    needed, widths = [], []
    for scale in (1, 2, 4, 8, 16):
        c = compare(90 * scale, 9 * scale, 10 * scale, 1 * scale)
        if c.outcome != "inconclusive":
            break
        needed.append(c.more_needed)
        widths.append(c.ci_high - c.ci_low)
    assert len(needed) >= 4
    assert widths == sorted(widths, reverse=True)
    assert needed == sorted(needed, reverse=True) and len(set(needed)) == len(needed)


def test_the_standard_sample_size_for_two_proportions() -> None:
    # Equal groups, 10% -> 15%, alpha 0.05 two-sided, power 0.8: Cohen's h = 0.1519,
    # n per group = 2 ((1.96 + 0.8416) / h)^2 = 680.3 (Cohen 1988, ch. 6), 1361 in all.
    assert required_total(0.10, 0.5) == 1361
    # Holding out only 10% takes many more clients in all for the same power.
    assert required_total(0.10, 0.1) > 1.5 * required_total(0.10, 0.5)


def test_an_empty_group_gives_no_comparison() -> None:
    c = compare(0, 0, 12, 3)
    assert c.outcome == "no comparison"
    assert c.difference is None and c.ci_low is None
    assert "nothing to compare" in c.sentence


def test_impossible_counts_are_refused_naming_the_group() -> None:
    with pytest.raises(ValueError, match="holdout: returned"):
        compare(10, 2, 5, 6)


def test_revenue_per_client_counts_clients_who_spent_nothing() -> None:
    r = compare_revenue([0, 0, 5000, 3000], [0, 1000, 0, 0])
    assert r.treated_per_client == 2000
    assert r.holdout_per_client == 250
    assert r.difference == 1750
    assert r.ci_low is not None and r.ci_high is not None
    assert r.ci_low < 1750 < r.ci_high


def test_revenue_without_two_clients_per_group_has_no_interval() -> None:
    r = compare_revenue([1000], [0, 0])
    assert r.difference == 1000 and r.ci_low is None


def test_the_interval_covers_the_true_difference_about_95_percent_of_the_time() -> None:
    # 400 simulated campaigns of 200 clients (20% held out), true rates 25% vs 15%.
    rng = np.random.default_rng(20261124)
    runs, treated, holdout, p_t, p_h = 400, 160, 40, 0.25, 0.15
    covered = 0
    for _ in range(runs):
        c = compare(
            treated, int(rng.binomial(treated, p_t)), holdout, int(rng.binomial(holdout, p_h))
        )
        covered += c.ci_low <= p_t - p_h <= c.ci_high
    # Within the central 99.9% of Binomial(400, 0.95): Newcombe's interval is, if anything,
    # slightly conservative.
    low, high = binom.ppf([0.0005, 0.9995], runs, 0.95)
    assert low <= covered <= max(high, runs)


def test_with_no_true_effect_the_campaign_rarely_looks_like_it_worked() -> None:
    rng = np.random.default_rng(7)
    runs, treated, holdout, p = 400, 180, 20, 0.2
    worked = sum(
        compare(
            treated, int(rng.binomial(treated, p)), holdout, int(rng.binomial(holdout, p))
        ).outcome
        == "worked"
        for _ in range(runs)
    )
    # One-sided 2.5% nominal: at most the top of the central 99.9% of Binomial(400, 0.025).
    assert worked <= binom.ppf(0.9995, runs, 0.025)
