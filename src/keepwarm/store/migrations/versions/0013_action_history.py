"""Who did what to an action, and reminders (placeholder, filled by the actions work).

Revision ID: 0013_action_history
Revises: 0012_import_runs
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0013_action_history"
down_revision = "0012_import_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
