"""Learning every client's rhythm on Apache Spark, for businesses that outgrow one machine.

The same engine, split where it splits (``keepwarm rhythm --engine spark``):

1. **Summary, on the executors.** Activities are partitioned by client, so each partition
   holds whole clients; each partition is summarised with the local engine's own
   :func:`keepwarm.rhythm.summarise` (a client's summary does not depend on who else is in
   the partition: ``tests/test_rhythm_fitstats.py``).
2. **Fit, on the driver.** Executors send only *counts of distinct rows* (patterns, gaps,
   spend, holdout: :mod:`keepwarm.rhythm.fitstats`); Spark adds them up and the driver fits
   the population on them with :func:`keepwarm.rhythm.fit_population_from`, the function the
   local engine runs on its own counts.
3. **Lapse calibration.** The executors count the calibration examples (one and two horizons
   back) the same way; the driver fits the small regression on the counted rows.
4. **Scoring, on the executors**, with the population and calibration shipped to them; the
   scores come back to the driver and are saved to the store as the local engine saves them.

What reaches the driver is the compressed statistics (their size is in docs/benchmarks.md)
and, at the end, one row of scores per client for the store. Activities come from Parquet
(``keepwarm export activities --format parquet DIR``), from PostgreSQL over JDBC, or, for a
SQLite store, from a Parquet copy the engine writes itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine, make_url

from keepwarm import rhythm
from keepwarm.domain.errors import InvalidInput
from keepwarm.services.exporting import export_parquet_activities
from keepwarm.services.policy import get_policy
from keepwarm.services.rhythms import (
    UNIT_DAYS,
    Learned,
    Progress,
    RhythmRun,
    apply_lapse_calibration,
    holdout_days,
    lapse_history,
    save_rhythms,
)
from keepwarm.store import reading
from keepwarm.store import rhythms as store

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

SPARK_NEEDS = (
    'The Spark engine needs PySpark (pip install "keepwarm[spark]") and Java 17 or newer '
    "(e.g. apt-get install openjdk-17-jre-headless)"
)
JDBC_JARS = ("/usr/share/java/postgresql.jar",)
"""Where Debian's libpostgresql-jdbc-java puts the PostgreSQL JDBC driver."""

_COUNTS = "kind int, a long, b long, c long, d long, n long, v double"
_EXAMPLES = "x long, rec long, age long, gap long, not_back long, n long, risk double"
# Kinds of counted rows (the long format every partition sends; see `_count_partition`).
_PATTERN, _GAP, _SPEND, _HOLDOUT, _ACTIVE, _REPEAT, _ROWS = range(7)


def spark_session(master: str = "local[*]", *, jdbc: bool = False) -> SparkSession:
    """A Spark session for the engine (Arrow on, no web UI, quiet logs); InvalidInput naming
    what to install when PySpark or Java is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InvalidInput(SPARK_NEEDS) from None
    # Executors must run this Python (with keepwarm and numpy), not whatever `python3` is.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("keepwarm rhythm")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_quiet_log4j()}")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "16")
        .config("spark.sql.session.timeZone", "UTC")
        # The scores of every client come back to the driver to be saved: give it room (this
        # only applies when the driver's JVM starts here, as it does from the command line).
        .config("spark.driver.memory", os.environ.get("KEEPWARM_SPARK_DRIVER_MEMORY", "6g"))
        # ... and may be larger than Spark's default cap of 1g on results (2.5 GiB at 10M).
        .config("spark.driver.maxResultSize", "0")
    )
    if jdbc:
        jars = [j for j in JDBC_JARS if Path(j).exists()]
        if not jars:
            raise InvalidInput(
                "reading PostgreSQL from Spark needs its JDBC driver "
                "(apt-get install libpostgresql-jdbc-java), or export the activities first: "
                "keepwarm export activities --format parquet DIR, then --activities DIR"
            )
        builder = builder.config("spark.jars", ",".join(jars))
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # PySpark raises its own errors when Java cannot start
        raise InvalidInput(f"{SPARK_NEEDS}: {exc}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def _active_session() -> SparkSession | None:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    return SparkSession.getActiveSession()


_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = spark: %p %c{1}: %m%n
"""


def _quiet_log4j() -> str:
    """A log4j2 configuration showing Spark's errors only (its INFO and WARN lines are noise
    on a command line), written once to the temporary folder."""
    path = Path(tempfile.gettempdir()) / "keepwarm-spark-log4j2.properties"
    if not path.exists() or path.read_text() != _LOG4J:
        path.write_text(_LOG4J)
    return str(path)


@dataclass(frozen=True)
class SparkLearned:
    """What the Spark engine learned, and how much reached the driver."""

    learned: Learned
    population: rhythm.PopulationFit
    activities: int
    counted_rows: int
    """Rows of counts the driver received for the fit (patterns, gaps, spend, holdout)."""
    example_rows: int
    """Rows of counted calibration examples for the lapse score."""
    seconds: dict[str, float]
    lapse: rhythm.LapseCalibration | None = None
    """The lapse score's calibration (stored with the fit: the daily job scores with both)."""


def _table(batches: Iterator[pa.RecordBatch]) -> pa.Table | None:
    import pyarrow as pa

    got = list(batches)
    if not got or not sum(b.num_rows for b in got):
        return None
    return pa.Table.from_batches(got)


def _partition_summariser(
    batches: Iterator[pa.RecordBatch],
) -> tuple[NDArray[np.int64], Any, int] | None:
    """The partition's clients (internal ids), a function summarising them at a day, and its
    number of activity rows."""
    table = _table(batches)
    if table is None:
        return None
    client = table.column("client").to_numpy().astype(np.int64)
    day = table.column("day").to_numpy().astype(np.int64)
    cents = table.column("amount_cents").to_numpy().astype(np.int64)
    ids, local = np.unique(client, return_inverse=True)
    local = local.ravel()

    def summarise(as_of_day: int) -> rhythm.ClientSummary:
        return rhythm.summarise(local, day, cents, ids.size, as_of_day, unit_days=UNIT_DAYS)

    return ids, summarise, int(client.size)


def _long(kind: int, rows: NDArray[np.int64], v: float = 0.0) -> pa.RecordBatch:
    import pyarrow as pa

    keys = np.zeros((rows.shape[0], 4), dtype=np.int64)
    keys[:, : rows.shape[1] - 1] = rows[:, :-1]
    return pa.RecordBatch.from_pydict(
        {
            "kind": pa.array(np.full(rows.shape[0], kind, dtype=np.int32)),
            "a": keys[:, 0],
            "b": keys[:, 1],
            "c": keys[:, 2],
            "d": keys[:, 3],
            "n": rows[:, -1].astype(np.int64),
            "v": np.full(rows.shape[0], v, dtype=np.float64),
        }
    )


def _count_partition(
    as_of_day: int, calibration_day: int | None, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """One partition's fit counts, in the long format `_COUNTS`."""
    found = _partition_summariser(batches)
    if found is None:
        return
    _, summarise, n_rows = found
    summary = summarise(as_of_day)
    calibration = None if calibration_day is None else summarise(calibration_day)
    counts = rhythm.fit_counts(summary, calibration)
    yield _long(_PATTERN, counts.patterns)
    yield _long(_GAP, counts.gaps)
    yield _long(_SPEND, counts.spend)
    if counts.holdout is not None:
        yield _long(_HOLDOUT, counts.holdout)
    one = np.asarray([[counts.n_active]], dtype=np.int64)
    yield _long(_ACTIVE, one, counts.mean_spend_sum)
    yield _long(_REPEAT, np.asarray([[counts.n_repeat_buyers]], dtype=np.int64))
    yield _long(_ROWS, np.asarray([[n_rows]], dtype=np.int64))


def _example_partition(
    as_of_day: int,
    first_day: int,
    population: rhythm.PopulationFit,
    batches: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """One partition's counted lapse-calibration examples (`_EXAMPLES`)."""
    import pyarrow as pa

    found = _partition_summariser(batches)
    if found is None:
        return
    _, summarise, _ = found
    summary = summarise(as_of_day)
    for then, risk, not_back in lapse_history(summarise, summary, population, first_day):
        ex = rhythm.lapse_examples(then, risk, not_back)
        r = ex.rows
        yield pa.RecordBatch.from_pydict(
            {
                "x": r[:, 0],
                "rec": r[:, 1],
                "age": r[:, 2],
                "gap": r[:, 3],
                "not_back": r[:, 4],
                "n": r[:, 5],
                "risk": ex.risk,
            }
        )


def _score_fields(scores: rhythm.Scores) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(scores)
        if isinstance(getattr(scores, f.name), np.ndarray)
    ]


def _score_schema(scores: rhythm.Scores) -> str:
    kinds = {"b": "boolean", "i": "long", "f": "double"}
    columns = ["client long", "n_days long", "last_day long"]
    columns += [f"{n} {kinds[getattr(scores, n).dtype.kind]}" for n in _score_fields(scores)]
    return ", ".join(columns)


def _score_partition(
    as_of_day: int,
    population: rhythm.PopulationFit,
    calibration: rhythm.LapseCalibration | None,
    trend_min_change: float,
    batches: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """Every client's scores in one partition, one row per client."""
    import pyarrow as pa

    found = _partition_summariser(batches)
    if found is None:
        return
    ids, summarise, _ = found
    summary = summarise(as_of_day)
    scores = rhythm.score(summary, population, trend_min_change=trend_min_change)
    scores = apply_lapse_calibration(summary, population, scores, calibration)
    columns: dict[str, Any] = {
        "client": ids,
        "n_days": summary.n_days,
        "last_day": summary.last_day,
    }
    for name in _score_fields(scores):
        columns[name] = getattr(scores, name)
    yield pa.RecordBatch.from_pydict(columns)


def _empty_summary(n: int, as_of_day: int) -> rhythm.ClientSummary:
    none = np.zeros(0, dtype=np.int64)
    return rhythm.summarise(none, none, none, n, as_of_day, unit_days=UNIT_DAYS)


def learn(
    spark: SparkSession,
    activities: DataFrame,
    client_ids: NDArray[np.int64],
    as_of_day: int,
    *,
    trend_min_change: float = 0.25,
    partitions: int | None = None,
    progress: Progress | None = None,
) -> SparkLearned:
    """Summarise, fit and score every client of `client_ids` from `activities` (columns
    `client` = internal id, `day` = day number, `amount_cents`), as of `as_of_day`."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    parts = partitions or max(spark.sparkContext.defaultParallelism * 4, 4)
    acts = (
        activities.where(F.col("day") <= as_of_day)
        .where(F.col("client").isNotNull())
        .repartition(parts, "client")
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        first = acts.agg(F.min("day").alias("first")).first()
        first_day = None if first is None else first["first"]
        if first_day is None:
            return _nobody(client_ids, as_of_day, trend_min_change, seconds)
        days = holdout_days(int(first_day), as_of_day, None)
        calibration_day = None if days is None else as_of_day - days

        if progress:
            progress("Counting patterns on Spark", 0, 3)
        counted = (
            acts.mapInArrow(partial(_count_partition, as_of_day, calibration_day), _COUNTS)
            .groupBy("kind", "a", "b", "c", "d")
            .agg(F.sum("n").alias("n"), F.sum("v").alias("v"))
            .toArrow()
        )
        counts, n_rows = _fit_counts(counted, with_holdout=days is not None)
        stats = rhythm.from_counts(counts, UNIT_DAYS, days)
        population = rhythm.fit_population_from(stats)
        seconds["summarise and fit"] = time.perf_counter() - started

        started = time.perf_counter()
        if progress:
            progress("Calibrating the lapse score on Spark", 1, 3)
        examples = (
            acts.mapInArrow(
                partial(_example_partition, as_of_day, int(first_day), population), _EXAMPLES
            )
            .groupBy("x", "rec", "age", "gap", "not_back")
            .agg(F.sum("n").alias("n"), F.first("risk").alias("risk"))
            .toArrow()
        )
        found = _examples(examples)
        calibration = rhythm.calibrate_lapse_examples(
            found, UNIT_DAYS, float(population.typical_gap_days)
        )
        seconds["lapse calibration"] = time.perf_counter() - started

        started = time.perf_counter()
        if progress:
            progress("Scoring every client on Spark", 2, 3)
        sample = rhythm.score(_empty_summary(1, as_of_day), population)
        scored = acts.mapInArrow(
            partial(_score_partition, as_of_day, population, calibration, trend_min_change),
            _score_schema(sample),
        ).toArrow()
        learned = _gather(scored, client_ids, as_of_day, population, trend_min_change)
        seconds["score"] = time.perf_counter() - started
    finally:
        acts.unpersist()
    return SparkLearned(
        learned=learned,
        population=population,
        activities=n_rows,
        counted_rows=int(counted.num_rows),
        example_rows=int(examples.num_rows),
        seconds=seconds,
        lapse=calibration,
    )


def _column(table: pa.Table, name: str) -> NDArray[Any]:
    return np.asarray(table.column(name).to_numpy())


def _fit_counts(table: pa.Table, *, with_holdout: bool) -> tuple[rhythm.FitCounts, int]:
    kind = _column(table, "kind")
    keys = np.column_stack([_column(table, k) for k in "abcd"]).astype(np.int64)
    n = _column(table, "n").astype(np.int64)
    v = _column(table, "v")

    def rows(which: int, width: int) -> NDArray[np.int64]:
        chosen = kind == which
        return np.column_stack([keys[chosen, :width], n[chosen]]).astype(np.int64)

    def total(which: int) -> int:
        return int(n[kind == which].sum())

    counts = rhythm.FitCounts(
        patterns=rows(_PATTERN, 3),
        gaps=rows(_GAP, 1),
        spend=rows(_SPEND, 2),
        holdout=rows(_HOLDOUT, 4) if with_holdout else None,
        n_active=total(_ACTIVE),
        n_repeat_buyers=total(_REPEAT),
        mean_spend_sum=float(v[kind == _ACTIVE].sum()),
    )
    return counts, total(_ROWS)


def _examples(table: pa.Table) -> rhythm.lapse.Examples:
    rows = np.column_stack(
        [_column(table, c) for c in ("x", "rec", "age", "gap", "not_back", "n")]
    ).astype(np.int64)
    found = rhythm.lapse.Examples(rows.reshape(-1, 6), _column(table, "risk").astype(np.float64))
    return rhythm.merge_lapse_examples([found])


def _gather(
    table: pa.Table,
    client_ids: NDArray[np.int64],
    as_of_day: int,
    population: rhythm.PopulationFit,
    trend_min_change: float,
) -> Learned:
    """Every client's scores in `client_ids` order: the scored clients from Spark, the
    clients without activity scored as the local engine scores them."""
    n = client_ids.size
    base = rhythm.score(_empty_summary(n, as_of_day), population, trend_min_change=trend_min_change)
    client = _column(table, "client").astype(np.int64)
    at = np.searchsorted(client_ids, client)
    if client.size and (
        at.max(initial=0) >= n or not np.array_equal(client_ids[np.minimum(at, n - 1)], client)
    ):
        raise ValueError("the Spark engine scored a client the store does not have")
    fields: dict[str, Any] = {}
    for name in _score_fields(base):
        values = getattr(base, name).copy()
        values[at] = _column(table, name).astype(values.dtype)
        fields[name] = values
    scores = dataclasses.replace(base, **fields)
    n_days = np.zeros(n, dtype=np.int64)
    last_day = np.full(n, -1, dtype=np.int64)
    n_days[at] = _column(table, "n_days")
    last_day[at] = _column(table, "last_day")
    return Learned(client_ids, n_days, last_day, scores)


def _nobody(
    client_ids: NDArray[np.int64],
    as_of_day: int,
    trend_min_change: float,
    seconds: dict[str, float],
) -> SparkLearned:
    """No activity at all: what the local engine does (the fallback on no data)."""
    summary = _empty_summary(client_ids.size, as_of_day)
    population = rhythm.fit_population(summary)
    scores = rhythm.score(summary, population, trend_min_change=trend_min_change)
    learned = Learned(client_ids, summary.n_days, summary.last_day, scores)
    return SparkLearned(learned, population, 0, 0, 0, seconds)


def parquet_activities(
    spark: SparkSession, folder: Path, client_ids: NDArray[np.int64], business_ids: list[str]
) -> DataFrame:
    """Activities from a folder of Parquet files (`keepwarm export activities --format
    parquet`): business ids joined to the store's clients (rows for clients the store does
    not have are left out), dates as day numbers."""
    import pandas as pd
    from pyspark.sql import functions as F

    if not folder.is_dir():
        raise InvalidInput(f"there is no folder {folder} of Parquet files")
    raw = spark.read.parquet(str(folder))
    missing = {"client_id", "date", "amount_cents"} - set(raw.columns)
    if missing:
        raise InvalidInput(
            f"{folder}: the Parquet files have no column {', '.join(sorted(missing))} "
            "(write them with keepwarm export activities --format parquet)"
        )
    keys = spark.createDataFrame(
        pd.DataFrame({"client_id": business_ids, "client": client_ids.astype(np.int64)})
    )
    return raw.join(keys, "client_id").select(
        "client",
        F.datediff(F.col("date"), F.lit(store.DAY_ZERO.isoformat()).cast("date")).alias("day"),
        F.coalesce(F.col("amount_cents"), F.lit(0)).cast("long").alias("amount_cents"),
    )


def jdbc_activities(spark: SparkSession, url: str, as_of: dt.date, partitions: int) -> DataFrame:
    """Activities read from PostgreSQL over JDBC, in `partitions` ranges of client ids."""
    parsed = make_url(url)
    jdbc = f"jdbc:postgresql://{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"
    options = str(parsed.query.get("options", ""))
    properties = {"user": parsed.username or "postgres", "driver": "org.postgresql.Driver"}
    if parsed.password:
        properties["password"] = parsed.password
    if options.startswith("-csearch_path="):
        properties["currentSchema"] = options.removeprefix("-csearch_path=")
    query = (
        "(SELECT client_id AS client, date - DATE '1900-01-01' AS day, "
        f"COALESCE(amount_cents, 0) AS amount_cents FROM activities "
        f"WHERE date <= DATE '{as_of.isoformat()}') AS a"
    )
    bounds = spark.read.jdbc(
        jdbc,
        "(SELECT COALESCE(MIN(client_id), 0) AS lo, COALESCE(MAX(client_id), 0) AS hi "
        "FROM activities) AS b",
        properties=properties,
    ).first()
    assert bounds is not None
    return spark.read.jdbc(
        jdbc,
        query,
        column="client",
        lowerBound=int(bounds["lo"]),
        upperBound=int(bounds["hi"]) + 1,
        numPartitions=partitions,
        properties=properties,
    )


def compute_rhythms_spark(
    engine: Engine,
    *,
    as_of: dt.date,
    now: dt.datetime,
    master: str = "local[*]",
    activities: Path | None = None,
    partitions: int | None = None,
    progress: Progress | None = None,
) -> RhythmRun:
    """`keepwarm rhythm --engine spark`: learn every client's rhythm on Spark and save it as
    the local engine does. Activities come from the Parquet folder `activities`, else from
    PostgreSQL over JDBC, else (SQLite) from a Parquet copy written to a temporary folder."""
    started = time.perf_counter()
    with reading(engine) as conn:
        ids, business = store.client_keys(conn)
    postgres = engine.dialect.name == "postgresql" and activities is None
    # A session already running in this process (a notebook's, a test's) is used and left
    # running; one started here is stopped at the end.
    owned = _active_session() is None
    spark = spark_session(master, jdbc=postgres)
    scratch: Path | None = None
    try:
        parts = partitions or max(spark.sparkContext.defaultParallelism * 4, 4)
        if postgres:
            frame = jdbc_activities(
                spark, engine.url.render_as_string(hide_password=False), as_of, parts
            )
        else:
            folder = activities
            if folder is None:
                scratch = Path(tempfile.mkdtemp(prefix="keepwarm-spark-"))
                folder = scratch / "activities"
                if progress:
                    progress("Writing the activities as Parquet", 0, 1)
                export_parquet_activities(engine, folder)
            frame = parquet_activities(spark, folder, ids, business)
        seconds = {"start": time.perf_counter() - started}
        got = learn(
            spark,
            frame,
            ids,
            store.day_number(as_of),
            trend_min_change=get_policy(engine).trend_min_change,
            partitions=parts,
            progress=progress,
        )
    finally:
        if owned:
            spark.stop()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    seconds.update(got.seconds)
    log.info(
        "spark engine: %d activities, %d rows of counts and %d of examples to the driver",
        got.activities,
        got.counted_rows,
        got.example_rows,
    )
    return save_rhythms(
        engine,
        got.learned,
        got.population,
        as_of=as_of,
        now=now,
        activities=got.activities,
        seconds=seconds,
        progress=progress,
        lapse=got.lapse,
    )
