"""Trigram indexes of clients' name, email and phone on PostgreSQL, for the search box.

The search box looks for text anywhere in a name, email or phone (`ILIKE '%ann%'`), which a
B-tree index cannot serve: at a million clients every search would read them all. pg_trgm's GIN
indexes answer it from the index. pg_trgm ships with PostgreSQL and is a trusted extension (the
database's owner may create it); where it cannot be created, the migration goes on without the
indexes and search keeps its plain scan. SQLite has its own index (migration 0008).

Revision ID: 0009_client_search_trigram_pg
Revises: 0008_client_search_text
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0009_client_search_trigram_pg"
down_revision = "0008_client_search_text"
branch_labels = None
depends_on = None

COLUMNS = ("name", "email", "phone")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # Databases running this at once (a test suite's schemas) wait for each other here.
    bind.exec_driver_sql("SELECT pg_advisory_xact_lock(7405127)")
    schema = bind.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    ).scalar()
    if schema is None:
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            schema = "public"
        except DBAPIError:
            return  # not allowed here: search keeps its plain scan
    for column in COLUMNS:
        bind.exec_driver_sql(
            f"CREATE INDEX ix_clients_{column}_trgm ON clients "
            f"USING gin ({column} {schema}.gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_clients_{column}_trgm")
