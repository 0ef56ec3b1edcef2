"""Who did what to an action, and reminders.

`action_events` is append-only: each step on an action (done, snoozed, dismissed, undone,
reopened) and each reminder set or deleted, with the person who clicked (`actor`, and their
user when signed in) and the member of staff whose list and quota it counts for.
`reminders` are dated notes a member of staff set for a client; the daily job of their day
puts them on that member's list as an action (`action_id`).

Revision ID: 0013_action_history
Revises: 0012_import_runs
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_action_history"
down_revision = "0012_import_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("staff_id", sa.Integer),
        sa.Column("on", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("set_by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action_id", sa.Integer),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_reminders_client_id_clients", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name="fk_reminders_staff_id_staff", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["actions.id"],
            name="fk_reminders_action_id_actions",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
    )
    op.create_index("ix_reminders_on", "reminders", ["on"])
    op.create_index("ix_reminders_client_id", "reminders", ["client_id"])
    op.create_index("ix_reminders_action_id", "reminders", ["action_id"])
    op.create_table(
        "action_events",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("action_id", sa.Integer),
        sa.Column("reminder_id", sa.Integer),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("staff_id", sa.Integer),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("user_id", sa.Integer),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.Text, nullable=False, server_default="{}"),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["actions.id"],
            name="fk_action_events_action_id_actions",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reminder_id"],
            ["reminders.id"],
            name="fk_action_events_reminder_id_reminders",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name="fk_action_events_client_id_clients",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name="fk_action_events_staff_id_staff", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_action_events_user_id_users", ondelete="SET NULL"
        ),
        sa.CheckConstraint(
            "step IN ('done', 'snoozed', 'dismissed', 'undone', 'reopened', "
            "'reminder_set', 'reminder_deleted')",
            name="ck_action_events_step_known",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_action_events"),
    )
    op.create_index("ix_action_events_action_id", "action_events", ["action_id"])
    op.create_index("ix_action_events_client_id_at", "action_events", ["client_id", "at"])
    op.create_index("ix_action_events_staff_id_at", "action_events", ["staff_id", "at"])
    op.create_index("ix_action_events_at", "action_events", ["at"])


def downgrade() -> None:
    op.drop_table("action_events")
    op.drop_table("reminders")
