"""Bounces read from the sending mailbox.

`bounces` holds one row per failed recipient of a bounce message: the address, hard or soft,
the status (5.1.1) and the server's words, the outbox message that bounced when known. The
unique (message_key, address) makes reading the same bounce twice harmless.

Revision ID: 0017_bounces
Revises: 0016_outbox_and_consent
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_bounces"
down_revision = "0016_outbox_and_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bounces",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("message_key", sa.String(250), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("diagnostic", sa.Text),
        sa.Column("outbox_id", sa.Integer),
        sa.Column("client_id", sa.Integer),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name="fk_bounces_outbox_id_outbox", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_bounces_client_id_clients", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bounces"),
        sa.UniqueConstraint("message_key", "address", name="uq_bounces_message_key_address"),
        sa.CheckConstraint("kind IN ('hard', 'soft')", name="ck_bounces_kind_known"),
    )
    op.create_index("ix_bounces_outbox_id", "bounces", ["outbox_id"])
    op.create_index("ix_bounces_client_id", "bounces", ["client_id"])


def downgrade() -> None:
    op.drop_table("bounces")
