"""Reserved (nothing yet): a later change of issue 13 fills it in.

Revision ID: 0018_print_batches
Revises: 0017_bounces
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0018_print_batches"
down_revision = "0017_bounces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
