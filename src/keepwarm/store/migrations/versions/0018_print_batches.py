"""Print batches: printed cards and letters, and address labels, one PDF per batch.

`print_batches` is one batch (letters, or labels of a sheet format) for a member of staff or
the practice (`staff_id` null), open until staff confirm it printed (or cancel it).
`print_items` are its pages or labels: the address block as printed, the letter's text, the
sheet it is on (a letter's number, or a label sheet's), its state (pending, printed, skipped,
no_address) and, once confirmed, the touch recorded for it. An action is in a batch once.

Revision ID: 0018_print_batches
Revises: 0017_bounces
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_print_batches"
down_revision = "0017_bounces"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "print_batches",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("label_format", sa.String(20)),
        sa.Column("staff_id", sa.Integer),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("state", sa.String(10), nullable=False, server_default="open"),
        _fk("print_batches", "staff_id", "staff", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_print_batches"),
        sa.CheckConstraint("kind IN ('letters', 'labels')", name="ck_print_batches_kind_known"),
        sa.CheckConstraint(
            "state IN ('open', 'confirmed', 'cancelled')", name="ck_print_batches_state_known"
        ),
    )
    op.create_index("ix_print_batches_state_staff_id", "print_batches", ["state", "staff_id"])
    op.create_table(
        "print_items",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("action_id", sa.Integer),
        sa.Column("sheet", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("state", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("touch_id", sa.Integer),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        _fk("print_items", "batch_id", "print_batches", "CASCADE"),
        _fk("print_items", "client_id", "clients", "CASCADE"),
        _fk("print_items", "action_id", "actions", "SET NULL"),
        _fk("print_items", "touch_id", "touches", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_print_items"),
        sa.UniqueConstraint("batch_id", "action_id", name="uq_print_items_batch_id_action_id"),
        sa.CheckConstraint(
            "state IN ('pending', 'printed', 'skipped', 'no_address')",
            name="ck_print_items_state_known",
        ),
    )
    op.create_index("ix_print_items_batch_id_sheet", "print_items", ["batch_id", "sheet"])
    op.create_index("ix_print_items_client_id", "print_items", ["client_id"])
    op.create_index("ix_print_items_action_id", "print_items", ["action_id"])


def downgrade() -> None:
    op.drop_table("print_items")
    op.drop_table("print_batches")
