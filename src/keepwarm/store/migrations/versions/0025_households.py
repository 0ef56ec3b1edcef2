"""Households (reserved): nothing yet; kept so the revisions stay in one chain.

Revision ID: 0025_households
Revises: 0024_people_and_privacy
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0025_households"
down_revision = "0024_people_and_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
