"""Usage trends against the client's own baseline: only changes large enough to matter and
clear of the client's own noise are flagged, monthly clients' changes can be seen, a stopped
client is left to ``lapsing``, and a steady client scored every day of a quarter is flagged
at most ``alpha`` of the time."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from keepwarm.rhythm import Trend, summarise, trend

ALPHA = 0.05
CHANGE = 730  # two years of steady history before any change


def _clients(
    n: int,
    *,
    period: float,
    days: int,
    seed: int,
    rate_factor: float = 1.0,
    spend_factor: float = 1.0,
    spend_sigma: float = 0.0,
    gap_shape: float = 8.0,
    change_day: int = CHANGE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Renewal visits (Gamma gaps around ``period`` days, random phase) up to ``days - 1``;
    from ``change_day`` visits come ``rate_factor`` times as often and cost ``spend_factor``
    times as much. Prices are fixed at 50.00 unless ``spend_sigma`` makes them lognormal."""
    rng = np.random.default_rng(seed)
    k = int(days * max(rate_factor, 1.0) / period * 1.5 + 20)
    u = np.cumsum(rng.gamma(gap_shape, 1.0 / gap_shape, size=(n, k)), axis=1)
    u += rng.random((n, 1)) - u[:, :1]
    u0 = change_day / period
    t = np.where(u <= u0, u * period, change_day + (u - u0) * period / rate_factor)
    client, j = np.nonzero(t < days)
    day = np.floor(t[client, j]).astype(np.int64)
    noise = rng.lognormal(-(spend_sigma**2) / 2, spend_sigma, day.size) if spend_sigma else 1.0
    cents = np.rint(5000 * noise * np.where(day >= change_day, spend_factor, 1.0))
    return client, day, cents.astype(np.int64)


def _trend(n: int, as_of: int, seed: int, min_change: float = 0.25, **kw: float) -> Trend:
    client, day, cents = _clients(n, days=as_of + 1, seed=seed, **kw)  # type: ignore[arg-type]
    return trend(summarise(client, day, cents, n, as_of), alpha=ALPHA, min_change=min_change)


def test_a_two_percent_price_rise_on_a_steady_weekly_client_is_not_a_usage_change() -> None:
    t = _trend(300, CHANGE + 200, seed=1, period=7, spend_factor=1.02)
    assert t.eligible.all()
    assert np.median(t.spend_per_visit_change) == pytest.approx(0.02, abs=0.001)
    assert (t.spend_p_value > 0).all()  # fixed prices never give a p-value of 0
    # Any flag is a (rare) chance swing in visits, never the price rise.
    flagged = t.direction != 0
    assert flagged.mean() <= 0.01
    assert (np.abs(t.visits_change[flagged]) >= 0.2).all()


def test_a_monthly_client_who_comes_every_twelve_days_for_six_months_is_usage_up() -> None:
    t = _trend(200, CHANGE + 182, seed=2, period=30, rate_factor=30 / 12)
    assert np.mean(t.direction == 1) >= 0.95
    assert not (t.direction == -1).any()
    assert np.median(t.visits_change) == pytest.approx(1.5, abs=0.3)


def test_a_weekly_client_who_goes_fortnightly_for_five_months_is_usage_down() -> None:
    t = _trend(200, CHANGE + 152, seed=3, period=7, rate_factor=0.5)
    assert np.mean(t.direction == -1) >= 0.95
    assert not (t.direction == 1).any()
    assert np.median(t.visits_change) < -0.3


def test_a_client_who_has_stopped_coming_is_left_to_lapsing() -> None:
    # Weekly for two years, then nothing: 10 weeks or 8 months later the trend says nothing.
    client, day, cents = _clients(200, period=7, days=CHANGE, seed=4)
    for as_of in (CHANGE + 70, CHANGE + 240):
        t = trend(summarise(client, day, cents, 200, as_of))
        assert t.eligible.all() and t.stopped.all()
        assert not t.direction.any()


@pytest.mark.parametrize(("factor", "flagged"), [(1.2, 0), (1.3, 1), (0.85, 0), (0.7, -1)])
def test_a_price_change_is_flagged_only_beyond_the_minimum_change(
    factor: float, flagged: int
) -> None:
    t = _trend(100, CHANGE + 182, seed=5, period=7, spend_factor=factor)
    assert (t.direction == flagged).all()
    assert np.median(t.spend_per_visit_change) == pytest.approx(factor - 1, abs=0.002)


def test_the_minimum_change_is_the_policy_s_choice() -> None:
    # Weekly clients whose bills grew by 40% (prices varying by 15%): a 25% policy flags
    # them, a 60% policy does not.
    kw = {"period": 7.0, "spend_factor": 1.4, "spend_sigma": 0.15}
    at_25 = _trend(300, CHANGE + 182, seed=6, min_change=0.25, **kw)
    at_60 = _trend(300, CHANGE + 182, seed=6, min_change=0.6, **kw)
    assert np.mean(at_25.direction == 1) >= 0.95
    assert not at_60.direction.any()


@pytest.mark.parametrize(("period", "sigma", "seed"), [(7.0, 0.3, 7), (30.0, 0.3, 8)])
def test_a_steady_client_scored_every_day_of_a_quarter_is_rarely_flagged(
    period: float, sigma: float, seed: int
) -> None:
    n, start = 300, 912
    client, day, cents = _clients(
        n, period=period, days=start + 91, seed=seed, spend_sigma=sigma, change_day=10**6
    )
    ever = np.zeros(n, dtype=bool)
    for as_of in range(start, start + 91):
        ever |= trend(summarise(client, day, cents, n, as_of), alpha=ALPHA).direction != 0
    assert ever.mean() <= ALPHA


def test_the_changes_are_exact_for_a_hand_made_client() -> None:
    # First visit day 0, then every 10 days to day 720; the last 182 days (window) every 5
    # days at twice the price: visits +100%, spend per visit +100%, usage +300%.
    base = np.arange(10, 547, 10)
    recent = np.arange(550, 729, 5)
    day = np.concatenate([[0], base, recent])
    cents = np.concatenate([[100], np.full(base.size, 100), np.full(recent.size, 200)])
    s = summarise(np.zeros(day.size, dtype=np.int64), day, cents, 1, 728)
    t = trend(s)
    assert s.trend_window_days[0] == 182
    assert t.visits_recent[0] == recent.size and t.visits_baseline[0] == base.size
    rate = (recent.size / 182) / (base.size / (728 - 182))
    assert t.visits_change[0] == pytest.approx(rate - 1)
    assert t.spend_per_visit_change[0] == pytest.approx(1.0)
    assert t.usage_change[0] == pytest.approx(2 * rate - 1)
    assert t.direction[0] == 1 and 0 < t.p_value[0] < 1e-6


def test_without_enough_history_no_trend_is_claimed() -> None:
    # Three visits, or a client newer than twice the window: nothing is tested.
    s = summarise([0, 0, 0, 1, 1, 1, 1], [0, 100, 400, 300, 320, 340, 360], [1] * 7, 3, 400)
    t = trend(s)
    assert not t.eligible.any()
    assert t.direction.tolist() == [0, 0, 0]
    assert t.p_value.tolist() == [1.0, 1.0, 1.0]
    for values in (t.visits_change, t.spend_per_visit_change, t.usage_change):
        assert values.tolist() == [0.0, 0.0, 0.0]


def test_changing_a_trend_result_leaves_the_summary_as_it_was() -> None:
    n = 40
    client, day, cents = _clients(n, period=7, days=CHANGE + 201, seed=11, rate_factor=1.5)
    summary = summarise(client, day, cents, n, CHANGE + 200)
    saved = {
        f.name: getattr(summary, f.name).copy()
        for f in dataclasses.fields(summary)
        if isinstance(getattr(summary, f.name), np.ndarray)
    }
    result = trend(summary)
    assert result.visits_recent.any() and result.recent_window_days.any()
    arrays = [
        getattr(result, f.name)
        for f in dataclasses.fields(result)
        if isinstance(getattr(result, f.name), np.ndarray)
    ]
    for values in arrays:
        values[...] = 0
    for name, before in saved.items():
        np.testing.assert_array_equal(getattr(summary, name), before, err_msg=name)
    again = trend(summary)
    assert again.visits_recent.any() and again.recent_window_days.any()
