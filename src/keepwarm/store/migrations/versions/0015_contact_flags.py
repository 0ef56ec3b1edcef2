"""Phone and email values kept as written and flagged: `contact_flags` holds, per client and
field, a value an import could not use (555-0407 without its area code, "ann(at)example"),
as written, with the reason; the client's own column stays empty.

Revision ID: 0015_contact_flags
Revises: 0014_calendar_and_search
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_contact_flags"
down_revision = "0014_calendar_and_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_flags",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("written", sa.Text, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name="fk_contact_flags_client_id_clients",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contact_flags"),
        sa.UniqueConstraint("client_id", "field", name="uq_contact_flags_client_id_field"),
    )


def downgrade() -> None:
    op.drop_table("contact_flags")
