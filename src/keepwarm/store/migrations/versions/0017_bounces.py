"""Reserved (nothing yet): a later change of issue 13 fills it in.

Revision ID: 0017_bounces
Revises: 0016_outbox_and_consent
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0017_bounces"
down_revision = "0016_outbox_and_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
