"""Reserved (nothing yet): a later change of issue 13 fills it in.

Revision ID: 0019_mail_for_staff
Revises: 0018_print_batches
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0019_mail_for_staff"
down_revision = "0018_print_batches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
