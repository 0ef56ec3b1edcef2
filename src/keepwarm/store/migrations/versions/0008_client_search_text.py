"""A trigram full-text index of clients' name, email and phone (SQLite), for the search box.

A search for text anywhere in a name (`LIKE '%ann%'`) reads every client; at 100,000 clients
that was 80 ms a search, 700 ms at the 95th percentile under 10 users. FTS5's trigram tokenizer
answers the same question from an index (under 1 ms). The index is an external-content table:
it stores no copy of the text, and triggers keep it in step with `clients`. PostgreSQL keeps the
plain scan (see docs/benchmarks.md).

Revision ID: 0008_client_search_text
Revises: 0007_client_search
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0008_client_search_text"
down_revision = "0007_client_search"
branch_labels = None
depends_on = None

_STATEMENTS = (
    "CREATE VIRTUAL TABLE clients_fts USING fts5("
    "name, email, phone, content='clients', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER clients_fts_insert AFTER INSERT ON clients BEGIN "
    "INSERT INTO clients_fts(rowid, name, email, phone) "
    "VALUES (new.id, new.name, new.email, new.phone); END",
    "CREATE TRIGGER clients_fts_delete AFTER DELETE ON clients BEGIN "
    "INSERT INTO clients_fts(clients_fts, rowid, name, email, phone) "
    "VALUES ('delete', old.id, old.name, old.email, old.phone); END",
    "CREATE TRIGGER clients_fts_update AFTER UPDATE OF name, email, phone ON clients BEGIN "
    "INSERT INTO clients_fts(clients_fts, rowid, name, email, phone) "
    "VALUES ('delete', old.id, old.name, old.email, old.phone); "
    "INSERT INTO clients_fts(rowid, name, email, phone) "
    "VALUES (new.id, new.name, new.email, new.phone); END",
    "INSERT INTO clients_fts(clients_fts) VALUES ('rebuild')",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS clients_fts_{trigger}")
    op.execute("DROP TABLE IF EXISTS clients_fts")
