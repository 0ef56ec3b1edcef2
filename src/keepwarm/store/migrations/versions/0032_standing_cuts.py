"""`standing_cuts`: where the value tiers and RFM quintiles of the stored rhythms split, written
with the rhythms, so a client's page finds their standing with a few comparisons instead of a
scan of every rhythm. Until the next daily run writes it, readers work the cuts out from the
rhythms themselves.

Revision ID: 0032_standing_cuts
Revises: 0031_rhythm_words
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032_standing_cuts"
down_revision = "0031_rhythm_words"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "standing_cuts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("cuts", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("standing_cuts")
