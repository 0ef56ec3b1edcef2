"""One pass over activities gives each client's frequency, recency, age, spend and gaps."""

from __future__ import annotations

import numpy as np
import pytest

from keepwarm.rhythm import compress_summary, summarise


def _loop_summary(
    client: np.ndarray, day: np.ndarray, cents: np.ndarray, n_clients: int, as_of: int
) -> list[dict[str, float]]:
    """The obvious per-client loop, to check the vectorised pass against."""
    out = []
    for c in range(n_clients):
        mask = (client == c) & (day <= as_of)
        days = np.unique(day[mask])
        totals = np.array([cents[mask & (day == d)].sum() for d in days], dtype=np.int64)
        gaps = np.diff(days)
        out.append(
            {
                "n_days": days.size,
                "first": days[0] if days.size else -1,
                "last": days[-1] if days.size else -1,
                "total": int(totals.sum()),
                "repeat": int(totals[1:].sum()),
                "median": float(np.median(gaps)) if gaps.size else 0.0,
                "iqr": float(np.subtract(*np.percentile(gaps, [75, 25]))) if gaps.size else 0.0,
            }
        )
    return out


def test_several_records_on_one_day_are_one_purchase_with_the_amounts_added() -> None:
    client = np.array([0, 0, 0, 0, 1])
    day = np.array([10, 10, 17, 17, 12])
    cents = np.array([500, 250, 1000, -200, 0])
    s = summarise(client, day, cents, 2, as_of_day=24)
    assert s.n_days.tolist() == [2, 1]
    assert s.frequency.tolist() == [1, 0]
    assert s.first_cents.tolist() == [750, 0]
    assert s.total_cents.tolist() == [1550, 0]
    assert s.mean_repeat_spend.tolist() == [800.0, 0.0]
    assert s.recency_days.tolist() == [7, 0] and s.age_days.tolist() == [14, 12]
    assert s.t_x.tolist() == [1.0, 0.0] and s.T.tolist() == [2.0, 12 / 7]


def test_activities_after_the_as_of_day_are_ignored() -> None:
    s = summarise([0, 0, 0], [1, 5, 30], [100, 100, 100], 1, as_of_day=10)
    assert s.n_days[0] == 2 and s.last_day[0] == 5 and s.total_cents[0] == 200


def test_clients_without_activity_are_marked_and_all_zero() -> None:
    s = summarise([1], [3], [100], 3, as_of_day=10)
    assert s.has_activity.tolist() == [False, True, False]
    assert s.first_day.tolist() == [-1, 3, -1]
    for name in ("n_days", "total_cents", "recency_days", "age_days", "days_since_last"):
        assert getattr(s, name)[[0, 2]].tolist() == [0, 0], name
    for values in (s.t_x, s.T, s.mean_spend, s.mean_repeat_spend, s.gap_median_days):
        assert np.all(np.isfinite(values))


def test_the_vectorised_pass_matches_a_per_client_loop_and_ignores_input_order() -> None:
    rng = np.random.default_rng(7)
    n = 60
    client = rng.integers(0, n, 900)
    day = rng.integers(0, 400, 900)
    cents = rng.integers(-2000, 20000, 900)
    s = summarise(client, day, cents, n, as_of_day=350)
    expected = _loop_summary(client, day, cents, n, 350)
    assert s.n_days.tolist() == [e["n_days"] for e in expected]
    assert s.first_day.tolist() == [e["first"] for e in expected]
    assert s.last_day.tolist() == [e["last"] for e in expected]
    assert s.total_cents.tolist() == [e["total"] for e in expected]
    assert s.repeat_cents.tolist() == [e["repeat"] for e in expected]
    np.testing.assert_allclose(s.gap_median_days, [e["median"] for e in expected])
    np.testing.assert_allclose(s.gap_iqr_days, [e["iqr"] for e in expected])
    order = np.lexsort((day, client))
    again = summarise(client[order], day[order], cents[order], n, as_of_day=350)
    assert np.array_equal(again.total_cents, s.total_cents)
    assert np.array_equal(again.gap_median_days, s.gap_median_days)


def test_repeat_days_split_into_the_trend_window_and_the_baseline() -> None:
    # First purchase day 0 (never counted); repeats on days 50, 100 (baseline) and 150, 190
    # (window (100, 190]); amounts per day 100, 200, 300, 400, 500.
    s = summarise(
        [0] * 5, [0, 50, 100, 150, 190], [100, 200, 300, 400, 500], 1, 190, window_days=90
    )
    assert s.base_n_days[0] == 2 and s.base_cents[0] == 500
    assert s.base_sq_cents[0] == pytest.approx(200**2 + 300**2)
    assert s.recent_n_days[0] == 2 and s.recent_cents[0] == 900
    assert s.recent_sq_cents[0] == pytest.approx(400**2 + 500**2)
    newcomer = summarise([0, 0], [150, 180], [100, 200], 1, 190, window_days=90)
    assert newcomer.recent_n_days[0] == 1 and newcomer.recent_cents[0] == 200
    assert newcomer.base_n_days[0] == 0


def test_compressing_a_summary_keeps_one_row_per_distinct_pattern() -> None:
    s = summarise([0, 0, 1, 1, 2, 3], [0, 7, 0, 7, 0, 3], [1] * 6, 5, as_of_day=14)
    data = compress_summary(s)
    assert data.n_clients == 4  # client 4 has no activity
    assert data.n_patterns == 3  # clients 0 and 1 share (1, 1 week, 2 weeks)
    np.testing.assert_allclose(data.x[data.inverse], s.frequency[s.has_activity])
    np.testing.assert_allclose(data.t_x[data.inverse], s.t_x[s.has_activity])
    np.testing.assert_allclose(data.T[data.inverse], s.T[s.has_activity])


def test_bad_inputs_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="client indices"):
        summarise([0, 3], [1, 2], [1, 1], 3, 10)
    with pytest.raises(ValueError, match="same length"):
        summarise([0, 1], [1], [1, 1], 3, 10)
    with pytest.raises(ValueError, match="integers"):
        summarise([0], [1.5], [1], 1, 10)
    empty = summarise(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), 4, 10)
    assert not empty.has_activity.any() and empty.n_clients == 4
