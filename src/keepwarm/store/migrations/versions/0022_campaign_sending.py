"""Reserved (nothing yet): a later change of issue 14 fills it in.

Revision ID: 0022_campaign_sending
Revises: 0021_audiences
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0022_campaign_sending"
down_revision = "0021_audiences"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
