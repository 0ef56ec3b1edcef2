"""Duplicates (reserved): nothing yet; kept so the revisions stay in one chain.

Revision ID: 0026_duplicates
Revises: 0025_households
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0026_duplicates"
down_revision = "0025_households"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
