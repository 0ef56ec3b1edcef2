"""Campaign channels: a campaign carries a message per channel in an order of preference
(`campaigns.messages`, JSON: [{"channel", "subject", "body"}, ...]); each member gets it on the
first channel they can receive. An existing campaign's one channel becomes a one-item list.
`channel`, `subject` and `body` stay, repeating the first message.

A new revision rather than a reserved placeholder (0021-0023, 0025-0028): a database already
at 0028 has passed those, so filling one in would never run there.

Revision ID: 0029_campaign_channels
Revises: 0028_audit_and_backups
Create Date: 2026-12-05
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0029_campaign_channels"
down_revision = "0028_audit_and_backups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases (no rebuild of `campaigns` on SQLite).
    op.add_column("campaigns", sa.Column("messages", sa.Text, nullable=False, server_default="[]"))
    campaigns = sa.table(
        "campaigns",
        sa.column("id", sa.Integer),
        sa.column("channel", sa.String),
        sa.column("subject", sa.Text),
        sa.column("body", sa.Text),
        sa.column("messages", sa.Text),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(campaigns.c.id, campaigns.c.channel, campaigns.c.subject, campaigns.c.body)
    ).all()
    for row in rows:
        message = {"channel": row.channel, "subject": row.subject, "body": row.body}
        conn.execute(
            sa.update(campaigns)
            .where(campaigns.c.id == row.id)
            .values(messages=json.dumps([message]))
        )


def downgrade() -> None:
    op.drop_column("campaigns", "messages")  # SQLite 3.35+ drops a column in place
