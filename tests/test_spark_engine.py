"""The Spark engine (`keepwarm rhythm --engine spark`) gives what the local engine gives:
the population's parameters and every client's scores to 1e-9 relative, on CDNOW and on a
simulated practice, from arrays, from Parquet written by `keepwarm export activities --format
parquet`, and from PostgreSQL over JDBC. PySpark runs in local mode (Java 17); on a laptop
without PySpark or Java these tests skip with a message, under CI=true they fail."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from keepwarm import rhythm
from keepwarm.services import rhythms
from keepwarm.store import rhythms as store

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CDNOW = Path(__file__).parent / "data" / "cdnow_sample.txt"
RTOL = 1e-9


def _skip_or_fail(message: str) -> None:
    if IN_CI:
        pytest.fail("CI=true but " + message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _skip_or_fail('the Spark tests need PySpark: pip install -e ".[test]"')
    if shutil.which("java") is None:
        _skip_or_fail("the Spark tests need Java 17 (apt-get install openjdk-17-jre-headless)")
    from keepwarm.services import spark_rhythms

    jdbc = any(Path(j).exists() for j in spark_rhythms.JDBC_JARS)
    if not jdbc and os.environ.get("KEEPWARM_TEST_DATABASE_URL"):
        _skip_or_fail("the Spark JDBC test needs apt-get install libpostgresql-jdbc-java")
    session = spark_rhythms.spark_session("local[2]", jdbc=jdbc)
    yield session
    session.stop()


def _local(
    ids: np.ndarray, client: np.ndarray, day: np.ndarray, cents: np.ndarray, as_of: dt.date
) -> tuple[rhythm.PopulationFit, rhythm.Scores, rhythm.ClientSummary]:
    """What `compute_rhythms` learns, on the same arrays."""
    data = rhythms.ActivityArrays(as_of, ids, client, day, cents)
    summary, population, _ = rhythms.fit(data, check=False)
    scores = rhythm.score(summary, population)
    return population, rhythms.with_calibrated_lapse(data, summary, population, scores), summary


def _assert_same_numbers(got: Any, want: Any, path: str = "") -> None:
    if isinstance(want, dict):
        assert set(got) == set(want), path
        for key in want:
            _assert_same_numbers(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list | tuple):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_same_numbers(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=RTOL, abs=1e-300), path
    else:
        assert got == want, path


def _assert_same_scores(got: rhythm.Scores, want: rhythm.Scores) -> None:
    for f in dataclasses.fields(want):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if isinstance(b, np.ndarray) and b.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=0, err_msg=f.name)
        elif isinstance(b, np.ndarray):
            assert np.array_equal(a, b), f.name
        else:
            assert a == b, f.name


def _frame(
    spark: Any, ids: np.ndarray, client: np.ndarray, day: np.ndarray, cents: np.ndarray
) -> Any:
    import pandas as pd

    return spark.createDataFrame(
        pd.DataFrame({"client": ids[client], "day": day, "amount_cents": cents})
    )


def _cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rows = np.loadtxt(CDNOW, dtype=str)
    client = rows[:, 1].astype(np.int64) - 1
    dates = [dt.date(int(s[:4]), int(s[4:6]), int(s[6:])) for s in rows[:, 2]]
    day = np.array([store.day_number(d) for d in dates], dtype=np.int64)
    cents = np.rint(rows[:, 4].astype(float) * 100).astype(np.int64)
    # Internal ids with gaps, as a store has after deletions.
    ids = np.arange(2357, dtype=np.int64) * 3 + 11
    return ids, client, day, cents


@pytest.mark.parametrize("as_of", [dt.date(1997, 9, 30), dt.date(1998, 6, 30)])
def test_on_cdnow_spark_gives_the_local_engine_s_parameters_and_scores(
    spark: Any, as_of: dt.date
) -> None:
    from keepwarm.services import spark_rhythms

    ids, client, day, cents = _cdnow()
    population, scores, summary = _local(ids, client, day, cents, as_of)
    got = spark_rhythms.learn(
        spark, _frame(spark, ids, client, day, cents), ids, store.day_number(as_of), partitions=5
    )
    _assert_same_numbers(got.population.to_dict(), population.to_dict())
    _assert_same_scores(got.learned.scores, scores)
    assert np.array_equal(got.learned.n_days, summary.n_days)
    assert np.array_equal(got.learned.last_day, summary.last_day)
    assert got.activities == int((day <= store.day_number(as_of)).sum())
    # The driver received counts, not clients: fewer rows than the clients with history.
    assert 0 < got.counted_rows < 2 * int(summary.has_activity.sum())
    if as_of.year == 1998:
        assert population.holdout_mae, "the holdout choice ran"
        assert not np.array_equal(scores.lapse_risk, rhythm.score(summary, population).lapse_risk)


def test_on_a_simulated_practice_with_quiet_clients_spark_gives_the_same(spark: Any) -> None:
    from keepwarm.services import spark_rhythms

    diag = rhythm.FitDiagnostics(True, 0, 0, "", 0.0, 0.0, 0, False)
    params = rhythm.BGNBDParams(0.75, 2.8, 0.8, 2.5, 0.0, 7.0, diag)
    sim = rhythm.simulate_activities(params, 20_000, np.random.default_rng(3), as_of_day=900)
    base = store.day_number(dt.date(2023, 1, 1))
    day = sim.day + base
    as_of = store.day_from_number(base + 900)
    # 500 clients of the store have no activity at all: scored as the local engine does.
    ids = np.arange(sim.n_clients + 500, dtype=np.int64) + 1
    population, scores, _ = _local(ids, sim.client, day, sim.amount_cents, as_of)
    got = spark_rhythms.learn(
        spark, _frame(spark, ids, sim.client, day, sim.amount_cents), ids, base + 900
    )
    _assert_same_numbers(got.population.to_dict(), population.to_dict())
    _assert_same_scores(got.learned.scores, scores)
    assert not got.learned.scores.has_activity[-500:].any()


def _rhythm_rows(engine: sa.Engine) -> dict[int, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM rhythms ORDER BY client_id")).mappings().all()
    return {r["client_id"]: {k: v for k, v in r.items() if k != "fit_id"} for r in rows}


def _latest_calibration(engine: sa.Engine) -> Any:
    with engine.connect() as conn:
        text = conn.execute(
            sa.text("SELECT lapse_calibration FROM rhythm_fits ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    return json.loads(text)


def _latest_population(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        text = conn.execute(
            sa.text("SELECT population FROM rhythm_fits ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    return json.loads(text) if isinstance(text, str) else dict(text)


def test_the_cli_learns_on_spark_what_it_learns_locally_and_saves_it(
    spark: Any, cli: Any, engine: sa.Engine, backend: str, tmp_path: Path, write_csv: Any
) -> None:
    """Through the real paths: import, `keepwarm rhythm` locally, then on Spark from the
    exported Parquet folder and (PostgreSQL) over JDBC or (SQLite) from the engine's own
    Parquet copy; the stored rhythms agree."""
    rng = np.random.default_rng(8)
    clients = ["id,name"] + [f"C{i:03d},Client {i}" for i in range(400)]
    visits = ["client_id,date,amount"]
    start = dt.date(2024, 1, 1)
    for i in range(400):
        gap = int(rng.choice([7, 14, 30, 60, 120]))
        d = start + dt.timedelta(days=int(rng.integers(0, 60)))
        stop = start + dt.timedelta(days=int(rng.integers(100, 900)))
        while d < min(stop, dt.date(2026, 6, 30)):
            visits.append(f"C{i:03d},{d.isoformat()},{int(rng.integers(20, 200))}.00")
            d += dt.timedelta(days=max(1, int(rng.exponential(gap))))
    assert cli("import", "clients", str(write_csv("c.csv", "\n".join(clients)))).exit_code == 0
    assert cli("import", "activities", str(write_csv("a.csv", "\n".join(visits)))).exit_code == 0

    ran = cli("rhythm", "--as-of", "2026-06-30")
    assert ran.exit_code == 0, ran.output
    local_rows, local_fit = _rhythm_rows(engine), _latest_population(engine)
    local_lapse = _latest_calibration(engine)
    assert local_lapse is not None  # stored with the fit: the daily job scores with it

    folder = tmp_path / "parquet"
    exported = cli("export", "activities", "--format", "parquet", str(folder))
    assert exported.exit_code == 0, exported.output
    assert f"Wrote {len(visits) - 1:,} activities" in exported.output

    for extra in (["--activities", str(folder)], []):
        ran = cli(
            "rhythm", "--as-of", "2026-06-30", "--engine", "spark", "--master", "local[2]", *extra
        )
        assert ran.exit_code == 0, ran.output
        assert f"from {len(visits) - 1:,} activities" in ran.output
        _assert_same_numbers(_latest_population(engine), local_fit)
        _assert_same_numbers(_latest_calibration(engine), local_lapse)
        rows = _rhythm_rows(engine)
        assert rows.keys() == local_rows.keys()
        for client_id, want in local_rows.items():
            _assert_same_numbers(rows[client_id], want, f"client {client_id}")


def test_parquet_export_round_trips_and_never_overwrites(
    cli: Any, engine: sa.Engine, tmp_path: Path, write_csv: Any
) -> None:
    import pyarrow.parquet as pq

    cli("import", "clients", str(write_csv("c.csv", "id,name\nA1,Ann\nB2,Bo")))
    cli(
        "import",
        "activities",
        str(
            write_csv(
                "a.csv",
                "client_id,date,id,amount,kind\nA1,2025-01-02,I1,12.50,visit\nB2,2025-02-03,I2,,check",
            )
        ),
    )
    folder = tmp_path / "out"
    assert cli("export", "activities", "--format", "parquet", str(folder)).exit_code == 0
    table = pq.read_table(folder).to_pylist()
    assert [(r["client_id"], r["date"], r["id"], r["amount_cents"], r["kind"]) for r in table] == [
        ("A1", dt.date(2025, 1, 2), "I1", 1250, "visit"),
        ("B2", dt.date(2025, 2, 3), "I2", None, "check"),
    ]
    before = sorted(p.name for p in folder.iterdir())
    again = cli("export", "activities", "--format", "parquet", str(folder))
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert sorted(p.name for p in folder.iterdir()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_the_engine_choice_is_checked(cli: Any) -> None:
    wrong = cli("rhythm", "--engine", "hadoop")
    assert wrong.exit_code == 2 and "choose local or spark" in wrong.output
    report = cli("rhythm", "--engine", "spark", "--report")
    assert report.exit_code == 2 and "--report runs on the local engine" in report.output
