"""Accent- and order-insensitive client search, and private calendar feeds.

Search: `clients.search_text` holds each client's name, email and id folded (Unicode NFKD,
accents dropped, case folded: keepwarm.domain.search), filled in for every existing client
here and kept up to date by every write (keepwarm.store.client_search). The search box
matches every term of a query inside that text. SQLite's trigram full-text table (0008) now
indexes the folded text and the phone; on PostgreSQL a pg_trgm GIN index on the folded text
replaces those of name and email (0009; the phone's stays).

Calendar feeds: one private feed per user, its URL's token stored as a SHA-256.

Revision ID: 0014_calendar_and_search
Revises: 0013_action_history
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from keepwarm.domain.search import search_text

revision = "0014_calendar_and_search"
down_revision = "0013_action_history"
branch_labels = None
depends_on = None

_FTS_OLD = (
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
_FTS_NEW = (
    "CREATE VIRTUAL TABLE clients_fts USING fts5("
    "search_text, phone, content='clients', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER clients_fts_insert AFTER INSERT ON clients BEGIN "
    "INSERT INTO clients_fts(rowid, search_text, phone) "
    "VALUES (new.id, new.search_text, new.phone); END",
    "CREATE TRIGGER clients_fts_delete AFTER DELETE ON clients BEGIN "
    "INSERT INTO clients_fts(clients_fts, rowid, search_text, phone) "
    "VALUES ('delete', old.id, old.search_text, old.phone); END",
    "CREATE TRIGGER clients_fts_update AFTER UPDATE OF search_text, phone ON clients BEGIN "
    "INSERT INTO clients_fts(clients_fts, rowid, search_text, phone) "
    "VALUES ('delete', old.id, old.search_text, old.phone); "
    "INSERT INTO clients_fts(rowid, search_text, phone) "
    "VALUES (new.id, new.search_text, new.phone); END",
    "INSERT INTO clients_fts(clients_fts) VALUES ('rebuild')",
)


def _drop_fts() -> None:
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS clients_fts_{trigger}")
    op.execute("DROP TABLE IF EXISTS clients_fts")


def _trgm_schema(bind: sa.Connection) -> str | None:
    found: str | None = bind.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    ).scalar()
    return found


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("clients", sa.Column("search_text", sa.Text()))
    rows = bind.exec_driver_sql("SELECT id, external_id, name, email FROM clients").all()
    if rows:
        bind.execute(
            sa.text("UPDATE clients SET search_text = :text WHERE id = :id"),
            [{"id": i, "text": search_text(ext, name, email)} for i, ext, name, email in rows],
        )
    if bind.dialect.name == "sqlite":
        _drop_fts()
        for statement in _FTS_NEW:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        bind.exec_driver_sql("SELECT pg_advisory_xact_lock(7405127)")
        schema = _trgm_schema(bind)
        if schema is not None:
            for column in ("name", "email"):
                op.execute(f"DROP INDEX IF EXISTS ix_clients_{column}_trgm")
            bind.exec_driver_sql(
                "CREATE INDEX ix_clients_search_text_trgm ON clients "
                f"USING gin (search_text {schema}.gin_trgm_ops)"
            )
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_calendar_feeds_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_calendar_feeds"),
        sa.UniqueConstraint("token_hash", name="uq_calendar_feeds_token_hash"),
        sa.UniqueConstraint("user_id", name="uq_calendar_feeds_user_id"),
    )


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_table("calendar_feeds")
    if bind.dialect.name == "sqlite":
        _drop_fts()
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_clients_search_text_trgm")
        schema = _trgm_schema(bind)
        if schema is not None:
            for column in ("name", "email"):
                bind.exec_driver_sql(
                    f"CREATE INDEX IF NOT EXISTS ix_clients_{column}_trgm ON clients "
                    f"USING gin ({column} {schema}.gin_trgm_ops)"
                )
    # Both databases drop a column in place (SQLite since 3.35), keeping clients' indexes.
    op.execute("ALTER TABLE clients DROP COLUMN search_text")
    if bind.dialect.name == "sqlite":
        for statement in _FTS_OLD:
            op.execute(statement)
