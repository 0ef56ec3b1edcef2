"""Reserved (nothing yet): a later change of issue 14 fills it in.

Revision ID: 0023_feedback
Revises: 0022_campaign_sending
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0023_feedback"
down_revision = "0022_campaign_sending"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
