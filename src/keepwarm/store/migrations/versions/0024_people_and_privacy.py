"""Households, duplicates and privacy.

`households` and `clients.household_id`, `household_decisions` (the owner's answer to a
suggested household), `client_merges` and `client_aliases` (merging two records of one person,
undoably, keeping both business ids), `duplicate_decisions` ("not the same person"),
`database_secrets`, `erasures` and `erased_identities` (what remains of an erased client:
keyed hashes), and `audit_log`, made append-only by triggers that refuse DELETE and any UPDATE
other than redaction.

Revision ID: 0024_people_and_privacy
Revises: 0023_feedback
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_people_and_privacy"
down_revision = "0023_feedback"
branch_labels = None
depends_on = None

_APPEND_ONLY = "the audit log is append-only: entries are never changed or deleted"
# The one change allowed: redacting an entry (erasure), which keeps when, who, what and whom.
_REDACTION = (
    "OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL AND NEW.id = OLD.id"
    " AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action"
    " AND NEW.client_id IS NOT DISTINCT FROM OLD.client_id"
)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_households"),
        sa.UniqueConstraint("key", name="uq_households_key"),
    )
    if op.get_bind().dialect.name == "sqlite":
        # A plain ADD COLUMN: rebuilding `clients` (batch mode) would drop its expression index.
        op.execute(
            "ALTER TABLE clients ADD COLUMN household_id INTEGER"
            " CONSTRAINT fk_clients_household_id_households"
            " REFERENCES households (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("clients", sa.Column("household_id", sa.Integer))
        op.create_foreign_key(
            "fk_clients_household_id_households",
            "clients",
            "households",
            ["household_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index("ix_clients_household_id", "clients", ["household_id"])
    op.create_table(
        "household_decisions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("household_id", sa.Integer),
        sa.Column("decided_by", sa.String(320), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_household_decisions"),
        sa.UniqueConstraint("key", name="uq_household_decisions_key"),
        _fk("household_decisions", "household_id", "households", "SET NULL"),
        sa.CheckConstraint(
            "decision IN ('accepted', 'rejected')", name="ck_household_decisions_decision_known"
        ),
    )
    op.create_table(
        "client_merges",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("kept_id", sa.Integer, nullable=False),
        sa.Column("merged_id", sa.Integer, nullable=False),
        sa.Column("merged_external_id", sa.String(200), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("explanation", sa.Text, nullable=False, server_default=""),
        sa.Column("snapshot", sa.Text, nullable=False),
        sa.Column("merged_by", sa.String(320), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_by", sa.String(320)),
        sa.Column("undone_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_client_merges"),
        _fk("client_merges", "kept_id", "clients", "CASCADE"),
    )
    op.create_index("ix_client_merges_kept_id", "client_merges", ["kept_id"])
    op.create_table(
        "client_aliases",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("merge_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_client_aliases"),
        sa.UniqueConstraint("external_id", name="uq_client_aliases_external_id"),
        _fk("client_aliases", "client_id", "clients", "CASCADE"),
        _fk("client_aliases", "merge_id", "client_merges", "CASCADE"),
    )
    op.create_index("ix_client_aliases_client_id", "client_aliases", ["client_id"])
    op.create_table(
        "duplicate_decisions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("client_a", sa.Integer, nullable=False),
        sa.Column("client_b", sa.Integer, nullable=False),
        sa.Column("decided_by", sa.String(320), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_duplicate_decisions"),
        sa.UniqueConstraint(
            "client_a", "client_b", name="uq_duplicate_decisions_client_a_client_b"
        ),
        _fk("duplicate_decisions", "client_a", "clients", "CASCADE"),
        _fk("duplicate_decisions", "client_b", "clients", "CASCADE"),
        sa.CheckConstraint("client_a < client_b", name="ck_duplicate_decisions_pair_ordered"),
    )
    op.create_table(
        "database_secrets",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_database_secrets"),
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("erased_by", sa.String(320), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_erasures"),
        sa.CheckConstraint("reason IN ('request', 'retention')", name="ck_erasures_reason_known"),
    )
    op.create_table(
        "erased_identities",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("erasure_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_erased_identities"),
        _fk("erased_identities", "erasure_id", "erasures", "CASCADE"),
    )
    op.create_index("ix_erased_identities_erasure_id", "erased_identities", ["erasure_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("client_id", sa.Integer),
        sa.Column("subject", sa.Text),
        sa.Column("details", sa.Text, nullable=False, server_default="{}"),
        sa.Column("redacted_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_client_id", "audit_log", ["client_id"])
    op.create_index("ix_audit_log_action_at", "audit_log", ["action", "at"])
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor", "at"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
            f" BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_log_only_redaction BEFORE UPDATE ON audit_log"
            f" WHEN NOT ({_REDACTION.replace('IS NOT DISTINCT FROM', 'IS')})"
            f" BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
        )
        return
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN"
        f" IF TG_OP = 'UPDATE' AND {_REDACTION} THEN RETURN NEW; END IF;"
        f" RAISE EXCEPTION '{_APPEND_ONLY}';"
        " END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
        " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    # TRUNCATE skips row triggers: refuse it too.
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_log_only_redaction")
        op.execute("DROP TRIGGER audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("audit_log")
    op.drop_table("erased_identities")
    op.drop_table("erasures")
    op.drop_table("database_secrets")
    op.drop_table("duplicate_decisions")
    op.drop_table("client_aliases")
    op.drop_table("client_merges")
    op.drop_table("household_decisions")
    op.drop_index("ix_clients_household_id", table_name="clients")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE clients DROP COLUMN household_id")  # SQLite 3.35+
    else:
        op.drop_constraint("fk_clients_household_id_households", "clients", type_="foreignkey")
        op.drop_column("clients", "household_id")
    op.drop_table("households")
