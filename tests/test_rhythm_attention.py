"""When silence becomes unusual for the client's own rhythm, and the simulator behind the
benchmarks."""

from __future__ import annotations

import numpy as np
import pytest

from keepwarm.rhythm import (
    BGNBDParams,
    FitDiagnostics,
    ParetoNBDParams,
    silence,
    simulate_activities,
    summarise,
)

DIAG = FitDiagnostics(True, 0, 0, "", 0.0, 0.0, 0, False)


def _visits(*histories: list[int], as_of: int) -> tuple[np.ndarray, ...]:
    client = np.concatenate([np.full(len(h), i) for i, h in enumerate(histories)])
    day = np.concatenate([np.asarray(h) for h in histories])
    return client, day, np.full(day.size, 1000), len(histories), as_of


def test_the_attention_date_is_the_last_visit_plus_the_lomax_quantile() -> None:
    r, alpha = 1.0, 2.0  # weeks
    client, day, cents, n, as_of = _visits([0, 14, 28, 42], as_of=60)
    s = summarise(client, day, cents, n, as_of)
    quiet = silence(s, r, alpha, quantile=0.9)
    x, t_x = 3, 6.0
    gap_weeks = (alpha + t_x) * (0.1 ** (-1 / (r + x)) - 1)
    assert quiet.attention_gap_days[0] == pytest.approx(gap_weeks * 7)
    assert quiet.attention_after_day[0] == 42 + int(np.ceil(gap_weeks * 7))
    tail = ((alpha + t_x) / (alpha + t_x + 18 / 7)) ** (r + x)
    assert quiet.silence_tail_probability[0] == pytest.approx(tail)
    assert quiet.usual_gap_days[0] == 14 and quiet.silence_ratio[0] == pytest.approx(18 / 14)


def test_a_twice_monthly_client_gone_four_months_is_unusual_but_a_yearly_one_is_not() -> None:
    # The DESIGN example: same four months of silence, different rhythms.
    twice_monthly = list(range(0, 601, 15))  # last visit on day 600
    yearly = [0, 365, 600]
    as_of = 600 + 122
    client, day, cents, n, _ = _visits(twice_monthly, yearly, as_of=as_of)
    s = summarise(client, day, cents, n, as_of)
    quiet = silence(s, r=0.5, alpha=4.0)
    assert quiet.attention_after_day[0] < as_of < quiet.attention_after_day[1]
    assert quiet.silence_tail_probability[0] < 0.01 < 0.3 < quiet.silence_tail_probability[1]
    assert quiet.silence_ratio[0] > 5 > 1 > quiet.silence_ratio[1]


def test_a_newcomer_is_judged_by_the_population_rhythm_and_caps_apply() -> None:
    client, day, cents, n, as_of = _visits([100], as_of=110)
    s = summarise(client, day, cents, n, as_of)
    heavy_tailed = silence(s, r=0.1, alpha=4.0)  # most clients almost never return
    assert heavy_tailed.attention_after_day[0] == 100 + 3650
    assert heavy_tailed.usual_gap_days[0] > 0


@pytest.mark.parametrize(
    "params",
    [
        BGNBDParams(0.75, 2.8, 0.8, 2.5, 0.0, 7.0, DIAG),
        ParetoNBDParams(0.8, 6.0, 0.6, 12, 0, 7, DIAG),
    ],
    ids=["bgnbd", "pareto_nbd"],
)
def test_simulated_activities_are_reproducible_and_well_formed(
    params: BGNBDParams | ParetoNBDParams,
) -> None:
    first = simulate_activities(params, 2000, np.random.default_rng(11))
    again = simulate_activities(params, 2000, np.random.default_rng(11))
    assert np.array_equal(first.client, again.client) and np.array_equal(first.day, again.day)
    assert first.day.min() >= 0 and first.day.max() <= first.as_of_day
    assert np.all(first.amount_cents > 0)
    s = summarise(first.client, first.day, first.amount_cents, 2000, first.as_of_day)
    assert s.has_activity.all()
    assert np.array_equal(s.first_day, first.first_day)
