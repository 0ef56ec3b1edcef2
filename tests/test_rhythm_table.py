"""Every client's rhythm as columns (keepwarm.domain.rhythm_table): built a column at a time
from what the engine learned, each client's `Rhythm` and words the same as building it one
client at a time, stored and read back unchanged on both backends."""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from keepwarm import explain, rhythm
from keepwarm.config import load_settings
from keepwarm.domain.model import Rhythm
from keepwarm.domain.rhythm_table import FIELDS, RhythmTable
from keepwarm.services.rhythms import ActivityArrays, Learned, fit, rhythm_table
from keepwarm.store import facts, writing
from keepwarm.store import rhythms as store
from keepwarm.store.tables import clients, rhythm_fits

AS_OF = dt.date(2026, 6, 30)


def _learned(seed: int = 3) -> Learned:
    """400 clients: some never seen, some seen once, most regular, a quarter of them
    changing pace half-way (so trends are measured and some fire)."""
    rng = np.random.default_rng(seed)
    end = store.day_number(AS_OF)
    client, day, cents = [], [], []
    for c in range(400):
        if c % 40 == 0:
            continue  # never seen
        if c % 40 == 1:
            client.append(c), day.append(end - int(rng.integers(0, 600))), cents.append(5000)
            continue
        gap = float(rng.choice([7, 14, 30, 60]))
        at = end - 900 + int(rng.integers(0, 60))
        stops = end - int(rng.integers(0, 400)) if c % 5 == 0 else end
        while at <= stops:
            client.append(c), day.append(at), cents.append(int(rng.choice([4000, 6000, 9000])))
            pace = gap / 3 if c % 4 == 0 and at > end - 200 else gap
            at += max(1, int(rng.exponential(pace)))
    data = ActivityArrays(
        AS_OF,
        np.arange(1000, 1400, dtype=np.int64) * 3,  # internal ids need not be positions
        np.array(client, dtype=np.int64),
        np.array(day, dtype=np.int64),
        np.array(cents, dtype=np.int64),
    ).ordered()
    summary, population, _ = fit(data, check=False)
    scores = rhythm.score(summary, population)
    return Learned(data.client_ids, summary.n_days, summary.last_day, scores)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _one_at_a_time(learned: Learned, i: int) -> tuple[Rhythm, str]:
    """Client `i`'s rhythm and words built from the engine's numbers one client at a time,
    as the daily job built every client's before the table."""
    s = learned.scores
    n = int(learned.n_days[i])
    active, known_gap, eligible = n > 0, n > 1, bool(s.trend_eligible[i])
    attention = int(s.attention_after_day[i])
    at_risk = round(float(s.revenue_at_risk_per_month_cents[i]))
    words = explain.rhythm_sentence(
        activities=n,
        days_since_last=int(s.days_since_last[i]) if active else None,
        usual_gap_days=float(s.usual_gap_days[i]) if known_gap else None,
        p_alive=float(s.p_alive[i]),
        at_risk_cents=at_risk,
        trend_direction=int(s.trend_direction[i]),
        usage_change=float(s.usage_change[i]),
        visits_change=float(s.visits_change[i]),
        spend_change=float(s.spend_per_visit_change[i]),
        symbol="€",
    )
    found = Rhythm(
        as_of=AS_OF,
        activities=n,
        last_activity=store.day_from_number(int(learned.last_day[i])) if active else None,
        days_since_last=int(s.days_since_last[i]) if active else None,
        usual_gap_days=_finite(float(s.usual_gap_days[i])) if known_gap else None,
        silence_ratio=_finite(float(s.silence_ratio[i])) if known_gap else None,
        p_alive=float(s.p_alive[i]),
        expected_30=float(s.expected_30[i]),
        expected_90=float(s.expected_90[i]),
        expected_365=float(s.expected_365[i]),
        expected_spend_cents=round(float(s.expected_spend_cents[i])),
        monthly_value_cents=round(float(s.monthly_value_cents[i])),
        at_risk_cents=at_risk,
        clv_cents=round(float(s.clv_cents[i])),
        attention_after=store.day_from_number(attention) if attention >= 0 else None,
        trend_direction=int(s.trend_direction[i]),
        usage_change=_finite(float(s.usage_change[i])) if eligible else None,
        visits_change=_finite(float(s.visits_change[i])) if eligible else None,
        spend_change=_finite(float(s.spend_per_visit_change[i])) if eligible else None,
        trend_p_value=_finite(float(s.trend_p_value[i])) if eligible else None,
        lapse_risk=_finite(float(s.lapse_risk[i])) if active else None,
    )
    return found, words


def test_each_clients_rhythm_and_words_are_those_built_one_client_at_a_time() -> None:
    learned = _learned()
    table = rhythm_table(AS_OF, learned)
    assert list(table) == learned.client_ids.tolist()
    kinds = {"never seen": 0, "one visit": 0, "trend": 0, "at risk": 0}
    for i, client_id in enumerate(learned.client_ids.tolist()):
        expected, words = _one_at_a_time(learned, i)
        assert table[client_id] == expected, client_id
        assert explain.rhythm_words(table[client_id], "€") == words, client_id
        kinds["never seen"] += expected.activities == 0
        kinds["one visit"] += expected.activities == 1
        kinds["trend"] += expected.trend_direction != 0
        kinds["at risk"] += "a month at risk" in words
    assert all(count >= 3 for count in kinds.values()), kinds  # every branch is exercised


@pytest.fixture
def fitted(engine: sa.Engine) -> tuple[Learned, int]:
    """400 clients in the store (their ids the table's) and a fit to score them with."""
    learned = _learned(5)
    with writing(engine) as conn:
        at = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)
        conn.execute(
            sa.insert(clients),
            [
                {
                    "id": i,
                    "external_id": f"C{i}",
                    "name": f"Client {i}",
                    "created_at": at,
                    "updated_at": at,
                }
                for i in learned.client_ids.tolist()
            ],
        )
        fit_id = conn.execute(
            sa.insert(rhythm_fits).values(
                as_of=AS_OF,
                computed_at=dt.datetime(2026, 6, 30, tzinfo=dt.UTC),
                model="bgnbd",
                time_unit="week",
                fallback=False,
                reason="",
                population="{}",
                converged=True,
                clients=400,
            )
        ).inserted_primary_key[0]
    return learned, int(fit_id)


def test_the_table_is_stored_and_read_back_unchanged(
    engine: sa.Engine, fitted: tuple[Learned, int]
) -> None:
    learned, fit_id = fitted
    table = rhythm_table(AS_OF, learned)
    with writing(engine) as conn:
        store.replace_rhythms(conn, fit_id, table)
    with engine.connect() as conn:
        back = facts.stored_rhythms(conn)
    assert back == dict(table.items())
    # a few clients' rhythms replaced (an import learning them): only theirs change
    later = rhythm_table(AS_OF + dt.timedelta(days=1), learned)
    some = learned.client_ids[::50]
    few = RhythmTable(some, {n: later.values_at(n, later.positions(some)) for n in FIELDS})
    with writing(engine) as conn:
        store.replace_client_rhythms(conn, fit_id, few)
    with engine.connect() as conn:
        back = facts.stored_rhythms(conn)
    changed = {cid for cid, r in back.items() if r != table[cid]}
    assert changed == set(some.tolist())
    assert all(back[cid] == later[cid] for cid in changed)


def test_a_table_reads_a_client_by_id_and_knows_who_it_lacks() -> None:
    learned = _learned()
    table = rhythm_table(AS_OF, learned)
    ids = learned.client_ids
    first, last = int(ids[0]), int(ids[-1])
    assert len(table) == ids.size and first in table and last in table
    for absent in (first - 1, last + 1, first + 1, "x"):
        assert absent not in table
    with pytest.raises(KeyError):
        table[first + 1]
    asked = np.array([last, first + 1, first], dtype=np.int64)
    at = table.positions(asked)
    assert at.tolist() == [ids.size - 1, -1, 0]
    assert table.values_at("activities", at, "none") == [
        table[last].activities,
        "none",
        table[first].activities,
    ]
    again = RhythmTable.of(dict(table.items()))
    assert dict(again.items()) == dict(table.items())
    assert len(RhythmTable.empty()) == 0


def test_a_table_refuses_columns_that_do_not_line_up() -> None:
    table = rhythm_table(AS_OF, _learned())
    columns: dict[str, Any] = dict(table.columns)
    with pytest.raises(ValueError, match="lapse_risk"):
        RhythmTable(table.client_ids, {k: v for k, v in columns.items() if k != "lapse_risk"})
    with pytest.raises(ValueError, match="p_alive has 3 values"):
        RhythmTable(table.client_ids, {**columns, "p_alive": [0.5] * 3})
    with pytest.raises(ValueError, match="ascending"):
        RhythmTable(table.client_ids[::-1].copy(), columns)


def test_the_retired_currency_variable_is_named_with_what_replaced_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="keepwarm.config"):
        load_settings({"KEEPWARM_CURRENCY_SYMBOL": "€"})
    assert "KEEPWARM_CURRENCY_SYMBOL is no longer read" in caplog.text
    assert "keepwarm policy set currency_symbol" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="keepwarm.config"):
        load_settings({})
    assert caplog.text == ""
