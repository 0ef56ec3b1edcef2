"""Reserved (nothing yet): a later change of issue 14 fills it in.

Revision ID: 0021_audiences
Revises: 0020_campaigns_and_feedback
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0021_audiences"
down_revision = "0020_campaigns_and_feedback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
