"""Recent usage against the client's own baseline: planted changes are flagged when there is
enough history, and steady clients are flagged no more often than the stated error rate."""

from __future__ import annotations

import numpy as np
import pytest

from keepwarm.rhythm import Trend, summarise, trend

ALPHA = 0.05


def _clients(
    n: int,
    *,
    rate: tuple[float, float],
    spend: tuple[float, float],
    days: int,
    window: int,
    seed: int,
    spend_cv: float = 0.3,
) -> Trend:
    """``n`` clients with Poisson visits (``rate`` per day before / inside the last ``window``
    days; at most one visit counted per day) and Gamma amounts with mean ``spend``."""
    rng = np.random.default_rng(seed)
    day = np.arange(days)
    daily = np.where(day >= days - window, rate[1], rate[0])
    visits = rng.random((n, days)) < -np.expm1(-daily)
    visits[:, 0] = True
    client, when = np.nonzero(visits)
    mean = np.where(when >= days - window, spend[1], spend[0])
    shape = 1 / spend_cv**2
    cents = np.rint(rng.gamma(shape, mean / shape)).astype(np.int64)
    summary = summarise(client, when, cents, n, days - 1, window_days=window)
    return trend(summary, alpha=ALPHA)


def test_a_third_more_spend_per_visit_is_flagged_as_usage_up() -> None:
    # A weekly client for two years whose bills grow by a third over the last six months.
    t = _clients(1000, rate=(1 / 7, 1 / 7), spend=(5000, 6650), days=730, window=180, seed=1)
    assert t.eligible.all()
    assert np.mean(t.direction == 1) >= 0.85
    assert np.mean(t.direction == -1) <= ALPHA
    assert np.median(t.spend_per_visit_change) == pytest.approx(0.33, abs=0.03)
    assert np.median(t.visits_change) == pytest.approx(0.0, abs=0.05)


def test_a_halved_visit_rate_is_flagged_as_usage_down() -> None:
    # A client coming every other day on average for two years, half as often lately.
    t = _clients(1000, rate=(0.5, 0.25), spend=(5000, 5000), days=730, window=180, seed=2)
    assert np.mean(t.direction == -1) >= 0.9
    assert np.mean(t.direction == 1) <= ALPHA
    # Visit *days* fall a little less than the Poisson rate (at most one visit per day).
    assert np.median(t.visits_change) == pytest.approx(-0.44, abs=0.05)


def test_fewer_visits_at_a_slightly_higher_price_is_usage_down_not_up() -> None:
    # Visits fall by two thirds while each visit costs 15% more: spend per day falls by more
    # than half. When both changes are significant, overall usage decides: down. Only a
    # client whose visit drop happened to stay below significance while the price rise did
    # not is still called up (5 of 1,000 here).
    t = _clients(1000, rate=(0.3, 0.1), spend=(5000, 5750), days=730, window=180, seed=4)
    flagged = t.direction != 0
    assert flagged.mean() >= 0.9
    assert np.mean(t.direction[flagged] == -1) >= 0.99
    both = (t.visits_p_value < ALPHA / 2) & (t.spend_p_value < ALPHA / 2)
    assert both.sum() > 50
    assert (t.direction[both] == -1).all()


def test_a_third_more_visits_needs_a_long_window_to_be_seen() -> None:
    # +33% in visit rate is a small signal: the exact test only sees it for frequent
    # clients with a long window, and even then not every time (power, not a bug).
    short = _clients(1000, rate=(0.3, 0.4), spend=(5000, 5000), days=1460, window=90, seed=3)
    long = _clients(1000, rate=(0.3, 0.4), spend=(5000, 5000), days=1460, window=365, seed=4)
    assert np.mean(long.direction == 1) >= 0.4
    assert np.mean(long.direction == 1) > 2 * np.mean(short.direction == 1)
    assert np.mean(long.direction == -1) <= ALPHA
    assert np.median(long.visits_change) == pytest.approx(0.28, abs=0.05)


@pytest.mark.parametrize(("rate", "seed"), [(1 / 7, 5), (1 / 30, 6), (0.5, 7)])
def test_a_steady_client_is_falsely_flagged_at_most_at_the_stated_rate(
    rate: float, seed: int
) -> None:
    t = _clients(1000, rate=(rate, rate), spend=(5000, 5000), days=1095, window=90, seed=seed)
    false_alarms = np.mean(t.direction != 0)
    assert false_alarms <= ALPHA
    assert np.all(t.p_value[t.direction != 0] < ALPHA)


def test_relative_changes_are_exact_for_a_hand_made_client() -> None:
    # Baseline: first visit day 0, then 36 visits over days 10..360 (t0 = 360 days).
    # Window (360, 450]: 18 visits, each spending twice as much.
    base_days = np.arange(10, 361, 10)
    recent_days = np.arange(365, 451, 5)[:18]
    day = np.concatenate([[0], base_days, recent_days])
    cents = np.concatenate([[100], np.full(36, 100), np.full(18, 200)])
    s = summarise(np.zeros(day.size, dtype=np.int64), day, cents, 1, 450, window_days=90)
    t = trend(s)
    assert t.visits_baseline[0] == 36 and t.visits_recent[0] == 18
    assert t.visits_change[0] == pytest.approx((18 / 90) / (36 / 360) - 1)  # +100%
    assert t.spend_per_visit_change[0] == pytest.approx(1.0)
    assert t.usage_change[0] == pytest.approx((18 * 200 / 90) / (36 * 100 / 360) - 1)
    assert t.direction[0] == 1 and t.p_value[0] < 1e-6


def test_without_enough_history_no_trend_is_claimed() -> None:
    # Three visits, or a client newer than twice the window: nothing is tested.
    s = summarise([0, 0, 0, 1, 1, 1, 1], [0, 100, 400, 300, 320, 340, 360], [1] * 7, 3, 400)
    t = trend(s)
    assert not t.eligible.any()
    assert t.direction.tolist() == [0, 0, 0]
    assert t.p_value.tolist() == [1.0, 1.0, 1.0]
    for values in (t.visits_change, t.spend_per_visit_change, t.usage_change):
        assert values.tolist() == [0.0, 0.0, 0.0]
