"""Writing many rows fast: COPY on PostgreSQL, executemany on SQLite. Never commits."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection


def bulk_insert(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Insert `rows`, each a mapping from column name to value holding every one of `columns`
    (a missing name is a KeyError: a value never lands in another column)."""
    if not rows:
        return
    pick = operator.itemgetter(*columns)
    ordered: Iterable[Sequence[Any]] = (
        map(pick, rows) if len(columns) > 1 else ((row[columns[0]],) for row in rows)
    )
    bulk_insert_values(conn, table, columns, ordered)


def bulk_insert_values(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    ordered: Iterable[Sequence[Any]],
) -> None:
    """Insert rows of values in the order of `columns` (any iterable: streamed, never all
    held at once on PostgreSQL), as `bulk_insert` does."""
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for values in ordered:
                copy.write_row(values)
        return
    rows = list(ordered)
    if not rows:
        return
    placeholders = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
    )


def bulk_insert_columns(
    conn: Connection,
    table: str,
    columns: Mapping[str, Sequence[Any]],
    *,
    date_columns: Sequence[str] = (),
) -> None:
    """Insert rows given as columns (name -> one value per row, all of one length), as
    `bulk_insert` does; on SQLite, values of `date_columns` become ISO text (the way
    SQLAlchemy stores dates there) a column at a time."""
    names = list(columns)
    values = [columns[name] for name in names]
    if conn.dialect.name != "postgresql":
        values = [
            _iso_texts(column) if name in date_columns else column
            for name, column in zip(names, values, strict=True)
        ]
    bulk_insert_values(conn, table, names, zip(*values, strict=True))


def _iso_texts(dates: Sequence[Any]) -> list[str | None]:
    """Each date as ISO text (None stays None), each distinct date written once: a day's
    rhythms hold a few thousand distinct dates for 100,000 clients."""
    texts: dict[Any, str | None] = {d: d.isoformat() for d in set(dates) if d is not None}
    texts[None] = None
    return list(map(texts.__getitem__, dates))
