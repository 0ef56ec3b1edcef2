"""Phone and email values kept as written and flagged (placeholder).

Revision ID: 0015_contact_flags
Revises: 0014_calendar_and_search
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0015_contact_flags"
down_revision = "0014_calendar_and_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
