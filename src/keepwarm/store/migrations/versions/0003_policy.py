"""Policy: the business's settings for signals and plans, stored as one JSON document.

Revision ID: 0003_policy
Revises: 0002_rhythms
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_policy"
down_revision = "0002_rhythms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_policy_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_policy"),
    )


def downgrade() -> None:
    op.drop_table("policy")
