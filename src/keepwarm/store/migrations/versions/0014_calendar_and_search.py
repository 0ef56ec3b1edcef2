"""Calendar feed tokens and accent-insensitive search (placeholder).

Revision ID: 0014_calendar_and_search
Revises: 0013_action_history
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0014_calendar_and_search"
down_revision = "0013_action_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
