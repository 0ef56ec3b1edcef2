"""Feedback: one request per client and visit (a unique index), so two runs sending at once
cannot ask a client twice about the same visit (keepwarm.services.feedback).

Revision ID: 0023_feedback
Revises: 0022_campaign_sending
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0023_feedback"
down_revision = "0022_campaign_sending"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_feedback_requests_client_id_visit_date",
        "feedback_requests",
        ["client_id", "visit_date"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_requests_client_id_visit_date", table_name="feedback_requests")
