"""`keepwarm rhythm` end to end: a practice imported through the CSV path, rhythms learned
from the store on both backends, saved, reproducible with --as-of, and shown on the card."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepwarm import explain

AS_OF = dt.date(2026, 6, 30)
START = dt.date(2024, 1, 1)


def _practice(folder: Path, seed: int = 5) -> tuple[Path, Path]:
    """120 clients visiting at their own Poisson rates (weekly to twice a year), plus two
    stories: a twice-monthly client silent for four months, a yearly client silent as long."""
    rng = random.Random(seed)
    clients = ["id,name"]
    visits = ["client_id,date,amount"]
    for i in range(120):
        cid = f"B{i:03d}"
        clients.append(f"{cid},Client {i}")
        gap = rng.choice([7, 14, 30, 60, 90, 180])
        leaves = START + dt.timedelta(days=rng.randrange(200, 1000))
        day = START + dt.timedelta(days=rng.randrange(0, 60))
        while day <= min(AS_OF, leaves):
            visits.append(f"{cid},{day.isoformat()},{rng.choice([40, 60, 85])}.00")
            day += dt.timedelta(days=max(1, round(rng.expovariate(1 / gap))))
    clients += ["TWICE,Twice Monthly", "YEARLY,Once Ayear", "NEW,Not Yet"]
    day = START
    while day <= AS_OF - dt.timedelta(days=122):
        visits.append(f"TWICE,{day.isoformat()},75.00")
        day += dt.timedelta(days=15)
    for year in range(2022, 2027):
        visits.append(f"YEARLY,{year}-03-01,120.00")
    clients_csv, visits_csv = folder / "clients.csv", folder / "visits.csv"
    clients_csv.write_text("\n".join(clients) + "\n")
    visits_csv.write_text("\n".join(visits) + "\n")
    return clients_csv, visits_csv


@pytest.fixture
def practice(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    clients_csv, visits_csv = _practice(tmp_path)
    assert cli("import", "clients", str(clients_csv)).exit_code == 0
    assert cli("import", "activities", str(visits_csv)).exit_code == 0
    return cli


def _card(cli, client_id: str) -> dict:  # type: ignore[no-untyped-def]
    result = cli("client", client_id, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_twice_monthly_client_silent_for_four_months_is_past_their_attention_date(
    practice,  # type: ignore[no-untyped-def]
) -> None:
    result = practice("rhythm", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.output
    rhythm = _card(practice, "TWICE")["rhythm"]
    assert rhythm["as_of"] == AS_OF.isoformat()
    assert rhythm["usual_gap_days"] == pytest.approx(15, abs=1)
    assert rhythm["days_since_last"] >= 120
    assert dt.date.fromisoformat(rhythm["attention_after"]) < AS_OF - dt.timedelta(days=60)
    assert rhythm["p_alive"] < 0.2
    assert "usually every 2 weeks" in rhythm["explanation"]
    assert f"last visit {rhythm['days_since_last']} days ago" in rhythm["explanation"]


def test_the_rhythms_words_use_the_policys_currency_as_soon_as_it_changes(practice) -> None:  # type: ignore[no-untyped-def]
    assert practice("rhythm", "--as-of", AS_OF.isoformat()).exit_code == 0
    words = _card(practice, "TWICE")["rhythm"]["explanation"]
    assert "a month at risk" in words and "about $" in words
    assert practice("policy", "set", "currency_symbol", "€").exit_code == 0
    shown = practice("client", "TWICE")  # no new rhythm learned: the words follow at once
    assert shown.exit_code == 0, shown.output
    assert words.replace("$", "€") in shown.output.replace("\n", " ")
    assert "$" not in shown.output


def test_a_yearly_client_silent_for_four_months_is_not_yet_unusual(practice) -> None:  # type: ignore[no-untyped-def]
    assert practice("rhythm", "--as-of", AS_OF.isoformat()).exit_code == 0
    rhythm = _card(practice, "YEARLY")["rhythm"]
    assert rhythm["days_since_last"] == (AS_OF - dt.date(2026, 3, 1)).days
    assert dt.date.fromisoformat(rhythm["attention_after"]) > AS_OF
    assert rhythm["p_alive"] > 0.5
    assert "about once a year" in rhythm["explanation"]


def test_the_client_json_has_the_documented_rhythm_keys(practice) -> None:  # type: ignore[no-untyped-def]
    assert practice("rhythm", "--as-of", AS_OF.isoformat()).exit_code == 0
    rhythm = _card(practice, "B001")["rhythm"]
    for key in (
        "p_alive",
        "expected_activities_90d",
        "usual_gap_days",
        "days_since_last",
        "attention_after",
        "expected_spend",
        "clv",
        "trend",
        "explanation",
    ):
        assert key in rhythm, key
    assert 0 <= rhythm["p_alive"] <= 1
    assert rhythm["trend"]["direction"] in ("up", "down", "steady")


def test_a_client_with_no_visits_gets_a_finite_explained_rhythm(practice) -> None:  # type: ignore[no-untyped-def]
    assert practice("rhythm", "--as-of", AS_OF.isoformat()).exit_code == 0
    rhythm = _card(practice, "NEW")["rhythm"]
    assert rhythm["activities"] == 0
    assert rhythm["explanation"] == "no visits recorded yet"
    assert rhythm["attention_after"] is None


def test_every_client_gets_one_saved_rhythm_and_the_fit_is_stored(practice, engine) -> None:  # type: ignore[no-untyped-def]
    result = practice("rhythm", "--as-of", AS_OF.isoformat())
    assert "Learned the rhythm of 123 clients" in " ".join(result.output.split())
    with engine.connect() as conn:
        clients = conn.exec_driver_sql("SELECT COUNT(*) FROM clients").scalar()
        saved = conn.exec_driver_sql("SELECT COUNT(*) FROM rhythms").scalar()
        fits = conn.exec_driver_sql("SELECT COUNT(*) FROM rhythm_fits").scalar()
        nan = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM rhythms WHERE p_alive <> p_alive OR expected_90 <> expected_90"
        ).scalar()
    assert saved == clients == 123
    assert fits == 1
    assert nan == 0
    indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("rhythms")}
    assert "ix_rhythms_attention_after" in indexes


def test_as_of_ignores_later_activities_so_a_past_date_is_reproducible(
    practice,
    engine,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    def saved() -> list[tuple]:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT c.external_id, r.p_alive, r.attention_after, r.days_since_last, "
                "r.clv_cents FROM rhythms r JOIN clients c ON c.id = r.client_id "
                "ORDER BY c.external_id"
            ).all()
        return [tuple(map(str, r)) for r in rows]

    assert practice("rhythm", "--as-of", AS_OF.isoformat()).exit_code == 0
    before = saved()
    later = tmp_path / "later.csv"
    later.write_text("client_id,date,amount\nTWICE,2026-07-15,75.00\nB001,2026-07-20,40.00\n")
    assert practice("import", "activities", str(later)).exit_code == 0
    assert practice("rhythm", "--as-of", AS_OF.isoformat()).exit_code == 0
    assert saved() == before
    assert practice("rhythm", "--as-of", "2026-07-31").exit_code == 0
    assert saved() != before


def test_the_report_prints_the_fit_with_its_holdout_check_as_json(practice, engine) -> None:  # type: ignore[no-untyped-def]
    result = practice("rhythm", "--report", "--as-of", AS_OF.isoformat(), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for key in ("model", "time_unit", "params", "log_likelihood", "clients", "holdout"):
        assert key in report
    assert report["model"] in ("bgnbd", "pareto_nbd", "own_gaps")
    assert report["time_unit"] == "week"
    assert report["clients"] == 123
    assert report["explanation"]
    holdout = report["holdout"]
    assert holdout["weeks"] > 4
    assert holdout["clients"] > 100
    assert holdout["actual_visits"] > 0
    assert 0.5 < holdout["predicted_visits"] / holdout["actual_visits"] < 2.0
    with engine.connect() as conn:  # a report saves nothing
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM rhythm_fits").scalar() == 0


def test_the_text_report_names_the_model_and_its_parameters(practice) -> None:  # type: ignore[no-untyped-def]
    result = practice("rhythm", "--report", "--as-of", AS_OF.isoformat())
    text = " ".join(result.output.split())
    assert result.exit_code == 0
    assert "Model:" in text and "Holdout check:" in text
    assert "time unit: week" in text


def test_the_card_says_when_no_rhythm_has_been_learned_yet(practice) -> None:  # type: ignore[no-untyped-def]
    card = practice("client", "TWICE")
    assert "after the first daily run" in card.output
    assert _card(practice, "TWICE")["rhythm"] is None


def test_an_empty_practice_learns_without_error(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("rhythm", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.output
    assert "Learned the rhythm of 0 clients" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("gap", "words"),
    [
        (1, "every 1 day"),
        (9, "every 9 days"),
        (15, "every 2 weeks"),
        (30, "every 4 weeks"),
        (91, "every 3 months"),
        (365, "about once a year"),
        (800, "about every 2 years"),
    ],
)
def test_gaps_are_said_the_way_people_say_them(gap: float, words: str) -> None:
    assert explain.every(gap) == words


def test_an_explanation_carries_its_numbers() -> None:
    text = explain.rhythm_sentence(
        activities=30,
        days_since_last=122,
        usual_gap_days=15,
        p_alive=0.04,
        at_risk_cents=15_000,
        symbol="€",
    )
    assert text == (
        "usually every 2 weeks; last visit 122 days ago (8x the usual gap); "
        "4% chance still active; about €150 a month at risk"
    )


def test_money_is_written_plainly() -> None:
    assert explain.money(15_000) == "$150"
    assert explain.money(123_456_78) == "$123,457"
    assert explain.money(1250) == "$12.50"
    assert explain.money(-500, "£") == "-£5.00"


def test_a_trend_sentence_never_contradicts_the_numbers() -> None:
    # Visits fell 63% while each visit cost 13% more and only the latter was significant:
    # the client is flagged up, and the sentence says what went up.
    assert explain.trend_words(1, -0.57, -0.63, 0.13) == "spend per visit up 13% lately"
    assert explain.trend_words(-1, -0.5, -0.5, 0.0) == "usage down 50% lately"
    assert explain.trend_words(1, 0.35, 0.1, 0.2) == "usage up 35% lately"
    assert explain.trend_words(0, 0.9, 0.9, 0.0) is None


def test_stored_rhythms_keep_each_number_in_its_own_column(practice, engine) -> None:  # type: ignore[no-untyped-def]
    # Built by column name: swapping two expected-visit columns (or p_alive and lapse_risk)
    # anywhere between the engine and the card would break this.
    from keepwarm import rhythm as engine_rhythm
    from keepwarm.services.rhythms import fit, load_activities, with_calibrated_lapse

    assert practice("rhythm", "--as-of", AS_OF.isoformat()).exit_code == 0
    data = load_activities(engine, AS_OF)
    summary, population, _ = fit(data, check=False)
    scores = with_calibrated_lapse(
        data, summary, population, engine_rhythm.score(summary, population)
    )
    with engine.connect() as conn:
        internal = conn.exec_driver_sql("SELECT id FROM clients ORDER BY id").scalars().all()
        row = conn.exec_driver_sql(
            "SELECT r.client_id, r.p_alive, r.lapse_risk, r.expected_30, r.expected_90, "
            "r.expected_365 FROM rhythms r JOIN clients c ON c.id = r.client_id "
            "WHERE c.external_id = 'B001'"
        ).one()
    i = list(internal).index(row[0])
    assert 0 < row[3] < row[4] < row[5]
    assert row[1] == pytest.approx(scores.p_alive[i], rel=1e-9)
    assert row[2] == pytest.approx(scores.lapse_risk[i], rel=1e-9)
    assert row[1] != pytest.approx(row[2])
    assert (row[3], row[4], row[5]) == pytest.approx(
        (scores.expected_30[i], scores.expected_90[i], scores.expected_365[i]), rel=1e-9
    )
    card = _card(practice, "B001")["rhythm"]
    assert card["expected_activities_30d"] == round(row[3], 3)
    assert card["expected_activities_90d"] == round(row[4], 3)
    assert card["expected_activities_365d"] == round(row[5], 3)
    assert card["p_alive"] == round(row[1], 4)


def test_the_lapse_score_is_calibrated_on_the_businesss_own_history_when_it_is_long_enough() -> (
    None
):
    import numpy as np

    from keepwarm import rhythm as engine_rhythm
    from keepwarm.services.rhythms import ActivityArrays, fit, with_calibrated_lapse

    truth = engine_rhythm.BGNBDParams(
        1.5, 6.0, 1.0, 6.0, 0.0, 7.0, engine_rhythm.FitDiagnostics(True, 0, 0, "", 0, 0, 0, False)
    )
    sim = engine_rhythm.simulate_activities(
        truth, 2000, np.random.default_rng(11), as_of_day=720, cohort_days=200
    )
    start = dt.date(2024, 1, 1)
    offset = (start - dt.date(1900, 1, 1)).days
    data = ActivityArrays(
        start + dt.timedelta(days=720),
        np.arange(2000),
        sim.client,
        sim.day + offset,
        sim.amount_cents,
    )
    summary, population, _ = fit(data, check=False)
    model = engine_rhythm.score(summary, population)
    calibrated = with_calibrated_lapse(data, summary, population, model)
    seen = summary.has_activity
    assert not np.allclose(calibrated.lapse_risk[seen], model.lapse_risk[seen])
    assert np.all((calibrated.lapse_risk >= 0) & (calibrated.lapse_risk <= 1))
    assert np.array_equal(calibrated.p_alive, model.p_alive)  # only the lapse score changes
    short = ActivityArrays(
        start + dt.timedelta(days=150),
        np.arange(2000),
        sim.client[sim.day <= 150],
        sim.day[sim.day <= 150] + offset,
        sim.amount_cents[sim.day <= 150],
    )
    s2, p2, _ = fit(short, check=False)
    early = engine_rhythm.score(s2, p2)
    assert with_calibrated_lapse(short, s2, p2, early) is early  # too little history to learn
