"""Staging an import: typed records go into a temporary table first, then set-based SQL checks
them against the store and merges them. Memory stays flat whatever the file size, and the
whole merge happens inside the caller's one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    and_,
    delete,
    exists,
)

from keepwarm.domain.fields import (
    ALWAYS_SET,
    AS_WRITTEN_KINDS,
    CLIENT_FIELDS,
    FieldKind,
    as_written,
    flag_reason,
)
from keepwarm.store.bulk import bulk_insert
from keepwarm.store.tables import client_value_type

_stage_metadata = MetaData()


def _stage(name: str, *columns: Column[Any], keyed: bool = True) -> Table:
    return Table(
        name,
        _stage_metadata,
        Column("line", Integer, primary_key=True),
        *columns,
        *([Column("key", String(250))] if keyed else []),
        prefixes=["TEMPORARY"],
    )


# One column per field of the register (keepwarm.domain.fields), named as the field: the id
# as written in the file, the owner by name. The name is NULL when the file has no name
# column: such rows may only update existing clients.
STAGE_CLIENTS = _stage(
    "kw_stage_clients",
    *(
        Column(
            f.name,
            client_value_type(f),
            nullable=f.kind not in (FieldKind.ID, *ALWAYS_SET),
        )
        for f in CLIENT_FIELDS
    ),
    # A phone or email kept as written (its field's column then NULL), and why it was kept.
    *(
        column
        for f in CLIENT_FIELDS
        if f.kind in AS_WRITTEN_KINDS
        for column in (Column(as_written(f.name), Text), Column(flag_reason(f.name), Text))
    ),
    keyed=False,
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


def stage_rows(conn: Connection, stage: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append records, each a mapping with every one of the stage's column names (see
    keepwarm.ingest.records). On SQLite the records' dates must already be ISO text (see
    wants_dates_as_text)."""
    bulk_insert(conn, stage.name, [c.name for c in stage.columns], rows)


def wants_dates_as_text(conn: Connection) -> bool:
    """Whether `stage_rows` expects dates as ISO strings rather than date objects."""
    return conn.dialect.name == "sqlite"


def drop_exact_repeats(conn: Connection) -> int:
    """Drop staged activities that repeat an earlier line of the file exactly, id and all
    (an export that lists one invoice twice): the same activity, kept once. Rows that share
    an id but differ stay, for the repeated-id check to report. Returns how many were dropped."""
    s = STAGE_ACTIVITIES
    earlier = s.alias("earlier")
    same = [earlier.c.external_id == s.c.external_id, earlier.c.line < s.c.line]
    same += [earlier.c[c].is_not_distinct_from(s.c[c]) for c in _ACTIVITY_CONTENT]
    query = delete(s).where(s.c.external_id.is_not(None), exists().where(and_(*same)))
    return conn.execute(query).rowcount


_ACTIVITY_CONTENT = ("client_ext", "date", "amount_cents", "quantity", "kind", "note")
