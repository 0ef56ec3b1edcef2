"""Plans and actions: the day's to-dos per member of staff, and what became of them.

Revision ID: 0004_plans
Revises: 0003_policy
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_plans"
down_revision = "0003_policy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("actions", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("day", name="pk_plans"),
    )
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("staff_id", sa.Integer),
        sa.Column("status", sa.String(20), nullable=False, server_default="open"),
        sa.Column("priority", sa.Float, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("signals", sa.Text, nullable=False),
        sa.Column("reason_keys", sa.Text, nullable=False),
        sa.Column("why", sa.Text, nullable=False),
        sa.Column("draft", sa.Text, nullable=False),
        sa.Column("snoozed_until", sa.Date),
        sa.Column("dismissed_reason", sa.Text),
        sa.Column("touch_id", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('open', 'done', 'snoozed', 'dismissed')", name="ck_actions_status_known"
        ),
        sa.ForeignKeyConstraint(
            ["day"], ["plans.day"], name="fk_actions_day_plans", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_actions_client_id_clients", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name="fk_actions_staff_id_staff", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["touch_id"], ["touches.id"], name="fk_actions_touch_id_touches", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_actions"),
    )
    op.create_index("ix_actions_status_staff_id", "actions", ["status", "staff_id"])
    op.create_index("ix_actions_client_id_status", "actions", ["client_id", "status"])
    op.create_index("ix_actions_day", "actions", ["day"])


def downgrade() -> None:
    op.drop_table("actions")
    op.drop_table("plans")
