"""A rhythm's words are worked out when shown (keepwarm.explain.rhythm_words, with the
policy's currency symbol), not stored: the daily job no longer writes a sentence for every
client each morning, and a changed currency symbol shows at once.

Revision ID: 0031_rhythm_words
Revises: 0030_activity_snapshot
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031_rhythm_words"
down_revision = "0030_activity_snapshot"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("rhythms", "explanation")  # SQLite 3.35+ drops a column in place


def downgrade() -> None:
    # the words come back empty until the next daily run or `keepwarm rhythm` writes them
    op.add_column("rhythms", sa.Column("explanation", sa.Text, nullable=False, server_default=""))
