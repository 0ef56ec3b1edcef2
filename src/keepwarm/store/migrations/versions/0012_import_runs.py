"""Imports confirmed in the browser, kept so that one running when the server stops is shown
as failed (or done, if it had committed) after a restart instead of vanishing.

Revision ID: 0012_import_runs
Revises: 0011_waiting_beyond_the_queue
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_import_runs"
down_revision = "0011_waiting_beyond_the_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(1000), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_import_runs_user_id_users", ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "status IN ('importing', 'done', 'failed')", name="ck_import_runs_status_known"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_import_runs"),
    )
    op.create_index("ix_import_runs_status", "import_runs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_import_runs_status", table_name="import_runs")
    op.drop_table("import_runs")
