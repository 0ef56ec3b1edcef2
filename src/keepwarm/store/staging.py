"""Staging an import: typed records go into a temporary table first, then set-based SQL checks
them against the store and merges them. Memory stays flat whatever the file size, and the
whole merge happens inside the caller's one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from keepwarm.store.bulk import bulk_insert

_stage_metadata = MetaData()


def _stage(name: str, *columns: Column[Any]) -> Table:
    return Table(
        name,
        _stage_metadata,
        Column("line", Integer, primary_key=True),
        *columns,
        Column("key", String(250)),
        prefixes=["TEMPORARY"],
    )


STAGE_CLIENTS = _stage(
    "kw_stage_clients",
    Column("external_id", String(200), nullable=False),
    # NULL when the file has no name column: it may only update existing clients.
    Column("name", String(400)),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("email", String(320)),
    Column("phone", String(40)),
    Column("address", Text),
    Column("birthday", Date),
    Column("since", Date),
    Column("owner", String(200)),
    Column("tags", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("cancelled_on", Date),
    Column("next_due", Date),
    Column("do_not_contact", Boolean, nullable=False),
    Column("notes", Text),
)
STAGE_ACTIVITIES = _stage(
    "kw_stage_activities",
    Column("client_ext", String(200), nullable=False),
    Column("external_id", String(200)),
    Column("fingerprint", String(40)),
    Column("date", Date, nullable=False),
    Column("amount_cents", BigInteger),
    Column("quantity", Float),
    Column("kind", String(200)),
    Column("note", Text),
)
STAGE_TOUCHES = _stage(
    "kw_stage_touches",
    Column("client_ext", String(200), nullable=False),
    Column("fingerprint", String(40)),
    Column("date", Date, nullable=False),
    Column("channel", String(40), nullable=False),
    Column("staff", String(200)),
    Column("note", Text),
    Column("outcome", String(200)),
    Column("personal", Boolean, nullable=False),
)


def create_stage(conn: Connection, stage: Table) -> None:
    stage.drop(conn, checkfirst=True)
    stage.create(conn)


def drop_stage(conn: Connection, stage: Table) -> None:
    stage.drop(conn, checkfirst=True)


def stage_rows(conn: Connection, stage: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Append records (line first, then the stage's columns; clients have no key). On SQLite
    the records' dates must already be ISO text (see wants_dates_as_text)."""
    names = [c.name for c in stage.columns if c.name != "key" or stage is not STAGE_CLIENTS]
    bulk_insert(conn, stage.name, names, rows)


def wants_dates_as_text(conn: Connection) -> bool:
    """Whether `stage_rows` expects dates as ISO strings rather than date objects."""
    return conn.dialect.name == "sqlite"
