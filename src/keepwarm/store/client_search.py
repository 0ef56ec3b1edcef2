"""The client search's stored text and its conditions. Never commits.

An import's merge leaves `clients.search_text` NULL (a new client) or sets it NULL (a changed
name or email); `refresh_search_text`, called in the same transaction, folds it
(keepwarm.domain.search) and writes it back (on PostgreSQL with one COPY and one UPDATE). A
client added or edited by hand is refolded by key. A query matches when each of its terms is
inside that text: on SQLite through the trigram full-text table (migration 0014; terms under
three characters, which a trigram cannot find, by LIKE over the matches), on PostgreSQL
through the pg_trgm index of the text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    union,
    update,
)
from sqlalchemy import table as sql_table

from keepwarm.domain.search import search_terms, search_text
from keepwarm.store.bulk import bulk_insert_values
from keepwarm.store.tables import clients

# SQLite's trigram full-text table of clients' search text and phone (migration 0014); not in
# `metadata`, since it is SQLite's own kind of table.
text_index = sql_table("clients_fts")
_BATCH = 5_000
SEARCHED = frozenset({"id", "name", "email"})  # the fields the search text is made of


def refresh_search_text(conn: Connection, internal_id: int | None = None) -> int:
    """Fill in the search text of every client that has none (or of the one client
    `internal_id`, through its key rather than a scan); returns how many."""
    found = select(clients.c.id, clients.c.external_id, clients.c.name, clients.c.email)
    if internal_id is None:
        found = found.where(clients.c.search_text.is_(None))
    else:
        found = found.where(clients.c.id == internal_id)
    rows = conn.execute(found).all()
    if internal_id is None and rows and conn.dialect.name == "postgresql":
        # One COPY and one UPDATE, not one UPDATE per client (40 s of a million-client import)
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE kw_search_text (id bigint PRIMARY KEY, text text NOT NULL) "
            "ON COMMIT DROP"
        )
        bulk_insert_values(
            conn,
            "kw_search_text",
            ("id", "text"),
            ((i, search_text(ext, name, email)) for i, ext, name, email in rows),
        )
        conn.exec_driver_sql(
            "UPDATE clients SET search_text = t.text FROM kw_search_text t WHERE clients.id = t.id"
        )
        conn.exec_driver_sql("DROP TABLE kw_search_text")
        return len(rows)
    statement = (
        update(clients)
        .where(clients.c.id == bindparam("internal"))
        .values(search_text=bindparam("text"))
    )
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        conn.execute(
            statement,
            [
                {"internal": i, "text": search_text(ext, name, email)}
                for i, ext, name, email in batch
            ],
        )
    return len(rows)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


def _contains(term: str) -> ColumnElement[bool]:
    return clients.c.search_text.like(f"%{_like(term)}%", escape="\\")


def _fts(query: str) -> Select[Any]:
    return (
        select(literal_column("rowid"))
        .select_from(text_index)
        .where(literal_column("clients_fts").op("MATCH")(query))
    )


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


PHONE_TAIL = 4
"""How many of the last digits typed the phone index is asked for. A practice's phones share
their first digits (the country and area codes), whose trigrams are in nearly every row: asking
the index for all of them reads nearly every entry. The last digits are the rarest part; the
whole run is then checked on each row the index found."""


def _phone_condition(dialect: str, digits: str) -> ColumnElement[bool]:
    """Clients whose phone holds the run of `digits`: the index asked for its last digits,
    the whole run checked on the rows found (through an expression the index does not hold,
    so PostgreSQL's planner checks it on the row rather than asking the index for it too)."""
    tail = digits[-PHONE_TAIL:]
    if dialect == "sqlite" and len(tail) >= 3:
        indexed = clients.c.id.in_(_fts("{phone} : " + _phrase(tail)))
    else:
        indexed = clients.c.phone.like(f"%{tail}%")
    if tail == digits:
        return indexed
    return and_(indexed, func.coalesce(clients.c.phone, "").like(f"%{digits}%"))


def text_condition(
    dialect: str, text: str, phone_digits: Sequence[str]
) -> ColumnElement[bool] | None:
    """Clients whose search text holds every term of `text` (any order, accents and case
    ignored), or whose phone holds one of `phone_digits`. None: `text` has no terms."""
    terms = search_terms(text)
    if not terms and not phone_digits:
        return None
    long = [t for t in terms if len(t) >= 3]
    short = [t for t in terms if len(t) < 3]
    named: ColumnElement[bool] | None = None
    if terms:
        if dialect == "sqlite" and long:
            query = "{search_text} : (" + " AND ".join(_phrase(t) for t in long) + ")"
            named = and_(clients.c.id.in_(_fts(query)), *(_contains(t) for t in short))
        else:
            named = and_(*(_contains(t) for t in terms))
    phoned = [_phone_condition(dialect, digits) for digits in phone_digits]
    branches = [b for b in (named, *phoned) if b is not None]
    if dialect == "postgresql" and len(branches) > 1:
        # one branch per index: as a single OR, the planner reads every client instead
        return clients.c.id.in_(union(*(select(clients.c.id).where(b) for b in branches)))
    return or_(*branches)
