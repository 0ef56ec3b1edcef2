"""Privacy (reserved): nothing yet; kept so the revisions stay in one chain.

Revision ID: 0027_privacy
Revises: 0026_duplicates
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0027_privacy"
down_revision = "0026_duplicates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
