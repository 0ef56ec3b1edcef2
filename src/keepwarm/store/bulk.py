"""Writing many rows fast: COPY on PostgreSQL, executemany on SQLite. Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection


def bulk_insert(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    date_columns: Sequence[int] = (),
) -> None:
    """Insert `rows` (values in `columns` order) into `table`. On SQLite, values at
    `date_columns` are written as ISO text, the way SQLAlchemy stores dates there."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    if date_columns:
        rows = [tuple(_dates_as_text(row, date_columns)) for row in rows]
    placeholders = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", list(rows)
    )


def _dates_as_text(row: Sequence[Any], date_columns: Sequence[int]) -> list[Any]:
    out = list(row)
    for index in date_columns:
        value = out[index]
        if isinstance(value, dt.date):
            out[index] = value.isoformat()
    return out
