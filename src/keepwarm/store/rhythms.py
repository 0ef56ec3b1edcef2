"""Reading activities as arrays for the rhythm engine, and storing what it learned."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, delete, func, insert, select

from keepwarm.domain.model import Rhythm, RhythmFit
from keepwarm.domain.rhythm_table import RhythmTable
from keepwarm.domain.segments import StandingCuts, standing_cuts
from keepwarm.store.bulk import bulk_insert_columns
from keepwarm.store.tables import activities, clients, rhythm_fits, rhythms
from keepwarm.store.tables import standing_cuts as standing_cuts_table

# Day numbers count from the earliest date an import accepts, so they are never negative.
DAY_ZERO = dt.date(1900, 1, 1)
_CHUNK = 200_000

RHYTHM_COLUMNS = tuple(c.name for c in rhythms.columns)
_DATE_COLUMNS = ("as_of", "last_activity", "attention_after")


def day_number(day: dt.date) -> int:
    return (day - DAY_ZERO).days


def day_from_number(number: int) -> dt.date:
    return DAY_ZERO + dt.timedelta(days=int(number))


def client_ids(conn: Connection) -> NDArray[np.int64]:
    """Every client's internal id, ascending: position in this array is the engine's index."""
    cursor = streaming_cursor(conn, "client_ids")  # plain tuples: no Row objects built
    cursor.execute("SELECT id FROM clients ORDER BY id")
    rows = cursor.fetchall()
    cursor.close()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def day_number_sql(conn: Connection) -> str:
    """SQL for an activity's `date` as a day number (days since DAY_ZERO)."""
    if conn.dialect.name == "sqlite":
        return "CAST(julianday(date) - julianday('1900-01-01') AS INTEGER)"
    return "date - DATE '1900-01-01'"


def streaming_cursor(conn: Connection, name: str) -> Any:
    """A DB-API cursor for reading many rows in chunks: on PostgreSQL a server-side cursor
    called `name`, so the driver never holds every row at once (SQLite's steps row by row)."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    return dbapi.cursor(name=name) if conn.dialect.name == "postgresql" else dbapi.cursor()


def activity_arrays(
    conn: Connection,
    ids: NDArray[np.int64],
    up_to: dt.date,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(client index, day number, amount in cents) of every activity on or before `up_to`,
    fetched in chunks; a missing amount counts as 0."""
    marker = "?" if conn.dialect.name == "sqlite" else "%s"
    sql = (
        f"SELECT client_id, {day_number_sql(conn)}, COALESCE(amount_cents, 0) "
        f"FROM activities WHERE date <= {marker}"
    )
    params = (up_to.isoformat() if conn.dialect.name == "sqlite" else up_to,)
    cursor = streaming_cursor(conn, "keepwarm_activity_arrays")
    cursor.execute(sql, params)
    parts: list[NDArray[np.int64]] = []
    done = 0
    while chunk := cursor.fetchmany(_CHUNK):
        parts.append(np.array(chunk, dtype=np.int64).reshape(-1, 3))
        done += len(chunk)
        if on_progress is not None:
            on_progress(done)
    cursor.close()
    table = np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.int64)
    index = np.searchsorted(ids, table[:, 0])
    return index.astype(np.int64), table[:, 1].copy(), table[:, 2].copy()


def clients_activity_arrays(
    conn: Connection, ids: NDArray[np.int64], up_to: dt.date
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """`activity_arrays` for the clients `ids` (ascending) only, through the activities'
    client index: for learning a few new clients' rhythms without reading everyone's."""
    rows: list[Any] = []
    for start in range(0, ids.size, 5_000):  # within every database's limit of parameters
        rows += conn.execute(
            select(
                activities.c.client_id,
                activities.c.date,
                func.coalesce(activities.c.amount_cents, 0),
            ).where(
                activities.c.client_id.in_(ids[start : start + 5_000].tolist()),
                activities.c.date <= up_to,
            )
        ).all()
    client = np.searchsorted(ids, np.fromiter((r[0] for r in rows), np.int64, len(rows)))
    day = np.fromiter((day_number(r[1]) for r in rows), np.int64, len(rows))
    amount = np.fromiter((r[2] for r in rows), np.int64, len(rows))
    return client.astype(np.int64), day, amount


def latest_activity_id(conn: Connection) -> int:
    found: int | None = conn.execute(select(func.max(activities.c.id))).scalar_one()
    return found or 0


def clients_to_learn(conn: Connection, after_activity: int) -> NDArray[np.int64]:
    """Clients with no stored rhythm, and clients with an activity stored after the activity
    `after_activity` (ascending internal ids)."""
    fresh = select(activities.c.client_id).where(activities.c.id > after_activity)
    unlearned = select(clients.c.id).where(
        ~select(rhythms.c.client_id).where(rhythms.c.client_id == clients.c.id).exists()
    )
    found = {r[0] for r in conn.execute(fresh.union(unlearned))}
    return np.array(sorted(found), dtype=np.int64)


def replace_client_rhythms(conn: Connection, fit_id: int, learned: RhythmTable) -> None:
    """Replace the stored rhythms of the clients in `learned` (scored with the fit `fit_id`),
    as `replace_rhythms` does for everyone, whose lock it takes too, so the two never
    interleave."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE rhythms IN SHARE ROW EXCLUSIVE MODE")
    ids = learned.client_ids.tolist()
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        conn.execute(delete(rhythms).where(rhythms.c.client_id.in_(chunk)))
    _insert_rhythms(conn, fit_id, learned)
    refresh_standing_cuts(conn)  # the others' ranks moved too


def _insert_rhythms(conn: Connection, fit_id: int, learned: RhythmTable) -> None:
    """One row per client, each column filled from the table's column of the same name (a
    value can only land in the column it is for)."""
    columns: dict[str, Sequence[Any]] = {
        "client_id": learned.client_ids.tolist(),
        "fit_id": [fit_id] * len(learned),
    }
    columns.update((name, learned.columns[name]) for name in RHYTHM_COLUMNS if name not in columns)
    bulk_insert_columns(conn, "rhythms", columns, date_columns=_DATE_COLUMNS)


def activity_count(conn: Connection, up_to: dt.date) -> int:
    return conn.execute(
        select(func.count()).select_from(activities).where(activities.c.date <= up_to)
    ).scalar_one()


def activity_span(conn: Connection) -> tuple[dt.date | None, dt.date | None]:
    """The first and last activity dates in the store (None, None when there are none)."""
    first, last = conn.execute(
        select(func.min(activities.c.date), func.max(activities.c.date))
    ).one()
    return first, last


def save_fit(
    conn: Connection,
    fit: RhythmFit,
    *,
    activities: int | None = None,
    lapse_calibration: str | None = None,
) -> int:
    """Store a fit; with the activity count it saw and its lapse calibration (JSON, "null" for
    none) a later daily run may score with it (`reusable_fit`)."""
    result: int = conn.execute(
        insert(rhythm_fits).values(
            activities=activities,
            lapse_calibration=lapse_calibration,
            as_of=fit.as_of,
            computed_at=fit.computed_at,
            model=fit.model,
            time_unit=fit.time_unit,
            fallback=fit.fallback,
            reason=fit.reason,
            population=json.dumps(fit.population),
            log_likelihood=fit.log_likelihood,
            converged=fit.converged,
            clients=fit.clients,
            holdout=None if fit.holdout is None else json.dumps(fit.holdout),
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return result


def replace_rhythms(conn: Connection, fit_id: int, learned: RhythmTable) -> None:
    """Replace every stored rhythm with `learned`, scored with the fit `fit_id`.

    On PostgreSQL the table is locked first: two replacements at once would otherwise each
    delete only the rows their own snapshot saw, and the second insert would collide with the
    first's rows. (SQLite's BEGIN IMMEDIATE already serialises writers.)"""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE rhythms IN SHARE ROW EXCLUSIVE MODE")
    conn.execute(delete(rhythms))
    _insert_rhythms(conn, fit_id, learned)
    c = learned.columns
    _save_standing_cuts(
        conn,
        standing_cuts(
            learned.client_ids,
            np.asarray(c["clv_cents"], dtype=np.int64),
            np.asarray(c["days_since_last"], dtype=np.float64),  # None: NaN
            np.asarray(c["activities"], dtype=np.int64),
            np.asarray(c["monthly_value_cents"], dtype=np.int64),
        ),
    )


def refresh_standing_cuts(conn: Connection) -> StandingCuts:
    """Work the standing cuts out again from the stored rhythms and store them: after any
    change to the rhythms other than `replace_rhythms` (which stores them itself), a client's
    deletion included.

    On PostgreSQL the cuts table is locked first: two refreshes at once (two erasures, say)
    queue, and the second reads the rhythms as the first left them and replaces its row
    (without the lock, each would read the rhythms before the other's change, and the second's
    new row would collide with the first's)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE standing_cuts IN EXCLUSIVE MODE")
    cuts = _cuts_from_rhythms(conn)
    _save_standing_cuts(conn, cuts)
    return cuts


def current_standing_cuts(conn: Connection) -> StandingCuts:
    """The standing cuts of the stored rhythms: as stored with them, or, before any were
    stored (a database from before migration 0032), worked out now."""
    found = conn.execute(
        select(standing_cuts_table.c.cuts).where(standing_cuts_table.c.id == 1)
    ).scalar_one_or_none()
    if found is not None:
        return StandingCuts.from_dict(json.loads(found))
    return _cuts_from_rhythms(conn)


def _cuts_from_rhythms(conn: Connection) -> StandingCuts:
    cursor = streaming_cursor(conn, "keepwarm_standing_cuts")
    cursor.execute(
        "SELECT client_id, clv_cents, COALESCE(days_since_last, 0), activities, "
        "monthly_value_cents, CASE WHEN days_since_last IS NULL THEN 1 ELSE 0 END FROM rhythms"
    )
    parts = [np.zeros((0, 6), dtype=np.int64)]
    while chunk := cursor.fetchmany(_CHUNK):
        parts.append(np.array(chunk, dtype=np.int64).reshape(-1, 6))
    cursor.close()
    table = np.concatenate(parts)
    days = table[:, 2].astype(np.float64)
    days[table[:, 5] == 1] = np.nan  # no visit on record
    return standing_cuts(table[:, 0], table[:, 1], days, table[:, 3], table[:, 4])


def _save_standing_cuts(conn: Connection, cuts: StandingCuts) -> None:
    conn.execute(delete(standing_cuts_table))
    conn.execute(insert(standing_cuts_table).values(id=1, cuts=json.dumps(cuts.to_dict())))


def _fit(row: Any) -> RhythmFit:
    return RhythmFit(
        as_of=row.as_of,
        computed_at=row.computed_at,
        model=row.model,
        time_unit=row.time_unit,
        fallback=bool(row.fallback),
        reason=row.reason,
        population=json.loads(row.population),
        log_likelihood=row.log_likelihood,
        converged=bool(row.converged),
        clients=row.clients,
        holdout=None if row.holdout is None else json.loads(row.holdout),
    )


@dataclass(frozen=True)
class StoredFit:
    """The newest fit with what a daily run needs to score with it again."""

    id: int
    fit: RhythmFit
    activities: int | None
    lapse_calibration: str | None


def latest_stored_fit(conn: Connection) -> StoredFit | None:
    row = conn.execute(select(rhythm_fits).order_by(rhythm_fits.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return StoredFit(row.id, _fit(row), row.activities, row.lapse_calibration)


def latest_fit(conn: Connection) -> RhythmFit | None:
    row = conn.execute(select(rhythm_fits).order_by(rhythm_fits.c.id.desc()).limit(1)).first()
    return _fit(row) if row else None


def client_rhythm(conn: Connection, external_id: str) -> Rhythm | None:
    row = conn.execute(
        select(rhythms)
        .join(clients, clients.c.id == rhythms.c.client_id)
        .where(clients.c.external_id == external_id)
    ).first()
    return None if row is None else rhythm_from_row(row)


def rhythm_from_row(row: Any) -> Rhythm:
    values = row._mapping
    return Rhythm(**{k: values[k] for k in Rhythm.__dataclass_fields__})


def client_keys(conn: Connection) -> tuple[NDArray[np.int64], list[str]]:
    """Every client's internal id (ascending) and business id, for engines that read
    activities by business id (the Spark engine's Parquet input)."""
    rows = conn.exec_driver_sql("SELECT id, external_id FROM clients ORDER BY id").fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, [str(r[1]) for r in rows]


def activity_batches(conn: Connection, size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    """Every activity as (client business id, date, activity id, amount cents, quantity,
    kind, note), in batches of `size` rows, through the driver's own cursor (fast enough for
    tens of millions). Dates come as `date` on PostgreSQL and ISO text on SQLite."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(
        "SELECT c.external_id, a.date, a.external_id, a.amount_cents, a.quantity, a.kind, a.note "
        "FROM activities a JOIN clients c ON c.id = a.client_id ORDER BY a.client_id, a.date, a.id"
    )
    try:
        while chunk := cursor.fetchmany(size):
            yield chunk
    finally:
        cursor.close()
