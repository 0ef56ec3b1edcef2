"""The outbox and consent.

`outbox` holds emails and texts to deliver at most once: claimed (a conditional UPDATE) before
sending, each with its state (queued, sending, sent, failed, retry, unknown, cancelled), an
idempotency `key`, a Message-ID and the unsubscribe link's token. `consent_events` is
append-only: who allowed or refused contact by a channel, when and from where (import, staff,
unsubscribe, bounce, request).

Revision ID: 0016_outbox_and_consent
Revises: 0015_contact_flags
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_outbox_and_consent"
down_revision = "0015_contact_flags"
branch_labels = None
depends_on = None

_STATES = "'queued', 'sending', 'sent', 'failed', 'retry', 'unknown', 'cancelled'"


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("client_id", sa.Integer),
        sa.Column("staff_id", sa.Integer),
        sa.Column("action_id", sa.Integer),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("reply_to", sa.String(320)),
        sa.Column("subject", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("personal", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("bulk", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("message_id", sa.String(250), nullable=False),
        sa.Column("token", sa.String(64)),
        sa.Column("state", sa.String(10), nullable=False, server_default="queued"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("touch_id", sa.Integer),
        _fk("outbox", "client_id", "clients", "CASCADE"),
        _fk("outbox", "staff_id", "staff", "SET NULL"),
        _fk("outbox", "action_id", "actions", "SET NULL"),
        _fk("outbox", "touch_id", "touches", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
        sa.UniqueConstraint("token", name="uq_outbox_token"),
        sa.CheckConstraint(f"state IN ({_STATES})", name="ck_outbox_state_known"),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_outbox_channel_known"),
    )
    op.create_index("ix_outbox_state_next_attempt_at", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_client_id", "outbox", ["client_id"])
    op.create_index("ix_outbox_staff_id_created_at", "outbox", ["staff_id", "created_at"])
    op.create_index("ix_outbox_action_id", "outbox", ["action_id"])
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("address", sa.String(320)),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _fk("consent_events", "client_id", "clients", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_consent_events"),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'post', 'phone')", name="ck_consent_events_channel_known"
        ),
        sa.CheckConstraint(
            "source IN ('import', 'staff', 'unsubscribe', 'bounce', 'request')",
            name="ck_consent_events_source_known",
        ),
    )
    op.create_index(
        "ix_consent_events_client_id_channel_id", "consent_events", ["client_id", "channel", "id"]
    )


def downgrade() -> None:
    op.drop_table("consent_events")
    op.drop_table("outbox")
