"""The fit reads counts that add up across any split of the clients (what lets the Spark
engine fit on the driver what its executors counted), and a client's summary never depends on
who else is summarised with them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from keepwarm.rhythm import (
    BGNBDParams,
    FitDiagnostics,
    add_counts,
    fit_counts,
    fit_population,
    fit_population_from,
    from_counts,
    lapse_examples,
    merge_lapse_examples,
    score,
    simulate_activities,
    summarise,
)
from keepwarm.rhythm.summary import ClientSummary

AS_OF = 545


def _practice(n: int = 3_000, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    diag = FitDiagnostics(True, 0, 0, "", 0.0, 0.0, 0, False)
    params = BGNBDParams(0.75, 2.8, 0.8, 2.5, 0.0, 7.0, diag)
    sim = simulate_activities(params, n, np.random.default_rng(seed), as_of_day=AS_OF)
    return sim.client, sim.day, sim.amount_cents


def _split(client: np.ndarray, parts: int) -> list[np.ndarray]:
    """Each client's activities go to one part (by a hash of the client)."""
    bucket = (client * 2_654_435_761) % parts
    return [np.flatnonzero(bucket == k) for k in range(parts)]


def _part_summary(
    client: np.ndarray, day: np.ndarray, cents: np.ndarray, rows: np.ndarray, as_of: int
) -> tuple[np.ndarray, ClientSummary]:
    ids, local = np.unique(client[rows], return_inverse=True)
    return ids, summarise(local.ravel(), day[rows], cents[rows], ids.size, as_of)


def test_a_client_s_summary_is_the_same_alone_or_with_everyone() -> None:
    client, day, cents = _practice()
    n = int(client.max()) + 1
    whole = summarise(client, day, cents, n, AS_OF)
    for rows in _split(client, 3):
        ids, part = _part_summary(client, day, cents, rows, AS_OF)
        for f in dataclasses.fields(ClientSummary):
            value = getattr(part, f.name)
            if isinstance(value, np.ndarray):
                assert np.array_equal(value, getattr(whole, f.name)[ids]), f.name


@pytest.mark.parametrize("parts", [2, 5])
def test_the_fit_from_counts_added_up_over_parts_is_the_fit_of_the_whole(parts: int) -> None:
    client, day, cents = _practice()
    n = int(client.max()) + 1
    cal_day = AS_OF - 182
    whole = summarise(client, day, cents, n, AS_OF)
    calibration = summarise(client, day, cents, n, cal_day)
    expected = fit_population(whole, calibration=calibration)
    counted = []
    for rows in _split(client, parts):
        _, part = _part_summary(client, day, cents, rows, AS_OF)
        _, cal = _part_summary(client, day, cents, rows, cal_day)
        counted.append(fit_counts(part, cal))
    stats = from_counts(add_counts(counted[::-1]), 7.0, AS_OF - cal_day)
    got = fit_population_from(stats).to_dict()
    want = expected.to_dict()
    # The one float summed across clients (their mean spends) may differ in its last bits
    # with the order of the sum; everything else is the same, bit for bit.
    assert got.pop("mean_spend_cents") == pytest.approx(want.pop("mean_spend_cents"), rel=1e-12)
    assert got == want
    assert len(expected.holdout_mae) == 2
    # The patterns really are compressed: far fewer rows than clients.
    assert stats.patterns.n_patterns < whole.has_activity.sum()


def test_lapse_examples_added_up_over_parts_are_those_of_the_whole() -> None:
    client, day, cents = _practice()
    n = int(client.max()) + 1
    whole = summarise(client, day, cents, n, AS_OF)
    then = summarise(client, day, cents, n, AS_OF - 90)
    population = fit_population(whole)
    risk = score(then, population).lapse_risk
    expected = merge_lapse_examples([lapse_examples(then, risk, whole.n_days == then.n_days)])
    parts = []
    for rows in _split(client, 4):
        _, part_then = _part_summary(client, day, cents, rows, AS_OF - 90)
        _, part_now = _part_summary(client, day, cents, rows, AS_OF)
        part_risk = score(part_then, population).lapse_risk
        parts.append(lapse_examples(part_then, part_risk, part_now.n_days == part_then.n_days))
    got = merge_lapse_examples(parts)
    assert np.array_equal(got.rows, expected.rows)
    np.testing.assert_allclose(got.risk, expected.risk, rtol=1e-12)
    assert got.rows[:, -1].sum() == then.has_activity.sum()


def test_a_large_summary_made_in_blocks_is_the_summary_made_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from keepwarm.rhythm import summary as summary_module

    client, day, cents = _practice(2_000)
    n = int(client.max()) + 1
    whole = summarise(client, day, cents, n, AS_OF - 30)
    monkeypatch.setattr(summary_module, "BLOCK_ACTIVITIES", 1_000)
    blocks = summarise(client, day, cents, n, AS_OF - 30)
    assert client.size > 2 * 1_000  # the blocked path ran, in several blocks
    for f in dataclasses.fields(ClientSummary):
        a, b = getattr(blocks, f.name), getattr(whole, f.name)
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), f.name
        else:
            assert a == b, f.name
