"""Campaigns, feedback requests and saved filters.

`campaigns` (a message to an audience in waves, with a held-out share), `campaign_waves`,
`campaign_members` (who is treated and who is held out, fixed at the first wave),
`campaign_sends` (what each wave did per client, or why it skipped them), `feedback_requests`
(a single-use link after a visit, and the answer) and `saved_filters`.

Revision ID: 0020_campaigns_and_feedback
Revises: 0019_mail_for_staff
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_campaigns_and_feedback"
down_revision = "0019_mail_for_staff"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("audience", sa.Text, nullable=False, server_default="{}"),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("offer", sa.Text),
        sa.Column("holdout_share", sa.Float, nullable=False, server_default="0.1"),
        sa.Column("holdout_min", sa.Integer, nullable=False, server_default="10"),
        sa.Column("return_days", sa.Integer, nullable=False, server_default="60"),
        sa.Column("one_per_address", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
        sa.UniqueConstraint("name", name="uq_campaigns_name"),
        sa.CheckConstraint(
            "kind IN ('win_back', 'holiday', 'welcome', 'custom')", name="ck_campaigns_kind_known"
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'letter')", name="ck_campaigns_channel_known"
        ),
        sa.CheckConstraint(
            "holdout_share >= 0 AND holdout_share < 1", name="ck_campaigns_holdout_share_range"
        ),
    )
    op.create_table(
        "campaign_waves",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("on", sa.Date, nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        _fk("campaign_waves", "campaign_id", "campaigns", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_waves"),
        sa.UniqueConstraint("campaign_id", "on", name="uq_campaign_waves_campaign_id_on"),
    )
    op.create_table(
        "campaign_members",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(10), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        _fk("campaign_members", "campaign_id", "campaigns", "CASCADE"),
        _fk("campaign_members", "client_id", "clients", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_members"),
        sa.UniqueConstraint(
            "campaign_id", "client_id", name="uq_campaign_members_campaign_id_client_id"
        ),
        sa.CheckConstraint("arm IN ('treated', 'holdout')", name="ck_campaign_members_arm_known"),
    )
    op.create_index("ix_campaign_members_client_id", "campaign_members", ["client_id"])
    op.create_table(
        "campaign_sends",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("wave_id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("outbox_id", sa.Integer),
        sa.Column("print_item_id", sa.Integer),
        sa.Column("skipped_reason", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("campaign_sends", "wave_id", "campaign_waves", "CASCADE"),
        _fk("campaign_sends", "client_id", "clients", "CASCADE"),
        _fk("campaign_sends", "outbox_id", "outbox", "SET NULL"),
        _fk("campaign_sends", "print_item_id", "print_items", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_sends"),
        sa.UniqueConstraint("wave_id", "client_id", name="uq_campaign_sends_wave_id_client_id"),
    )
    op.create_table(
        "feedback_requests",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("staff_id", sa.Integer),
        sa.Column("visit_date", sa.Date, nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("outbox_id", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("score", sa.Integer),
        sa.Column("comment", sa.Text),
        sa.Column("action_id", sa.Integer),
        _fk("feedback_requests", "client_id", "clients", "CASCADE"),
        _fk("feedback_requests", "staff_id", "staff", "SET NULL"),
        _fk("feedback_requests", "outbox_id", "outbox", "SET NULL"),
        _fk("feedback_requests", "action_id", "actions", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_feedback_requests"),
        sa.UniqueConstraint("token_hash", name="uq_feedback_requests_token_hash"),
        sa.CheckConstraint(
            "score IS NULL OR (score >= 0 AND score <= 10)", name="ck_feedback_requests_score_range"
        ),
    )
    op.create_index(
        "ix_feedback_requests_client_id_created_at",
        "feedback_requests",
        ["client_id", "created_at"],
    )
    op.create_index("ix_feedback_requests_answered_at", "feedback_requests", ["answered_at"])
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("filters", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_saved_filters"),
        sa.UniqueConstraint("name", name="uq_saved_filters_name"),
    )


def downgrade() -> None:
    for table in (
        "saved_filters",
        "feedback_requests",
        "campaign_sends",
        "campaign_members",
        "campaign_waves",
        "campaigns",
    ):
        op.drop_table(table)
