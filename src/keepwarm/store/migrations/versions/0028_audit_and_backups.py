"""Audit and backups (reserved): nothing yet; kept so the revisions stay in one chain.

Revision ID: 0028_audit_and_backups
Revises: 0027_privacy
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0028_audit_and_backups"
down_revision = "0027_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
