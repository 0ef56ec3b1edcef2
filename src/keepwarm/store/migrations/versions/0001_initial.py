"""Initial schema: staff, clients, activities, touches, imports.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("weekly_quota", sa.Integer, nullable=False, server_default="2"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("weekly_quota >= 0", name="ck_staff_quota_not_negative"),
        sa.PrimaryKeyConstraint("id", name="pk_staff"),
        sa.UniqueConstraint("name", name="uq_staff_name"),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("first_name", sa.String(200)),
        sa.Column("last_name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(40)),
        sa.Column("address", sa.Text),
        sa.Column("birthday", sa.Date),
        sa.Column("since", sa.Date),
        sa.Column("owner_id", sa.Integer),
        sa.Column("tags", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("cancelled_on", sa.Date),
        sa.Column("next_due", sa.Date),
        sa.Column("do_not_contact", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("notes", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'prospect', 'cancelled')", name="ck_clients_status_known"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["staff.id"], name="fk_clients_owner_id_staff", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_clients"),
        sa.UniqueConstraint("external_id", name="uq_clients_external_id"),
    )
    op.create_index("ix_clients_owner_id", "clients", ["owner_id"])
    op.create_index("ix_clients_status", "clients", ["status"])
    op.create_index("ix_clients_next_due", "clients", ["next_due"])
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("external_id", sa.String(200)),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("amount_cents", sa.BigInteger),
        sa.Column("quantity", sa.Float),
        sa.Column("kind", sa.String(200)),
        sa.Column("note", sa.Text),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name="fk_activities_client_id_clients",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_activities"),
        sa.UniqueConstraint("key", name="uq_activities_key"),
    )
    op.create_index("ix_activities_client_id_date", "activities", ["client_id", "date"])
    op.create_table(
        "touches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("staff_id", sa.Integer),
        sa.Column("note", sa.Text),
        sa.Column("outcome", sa.String(200)),
        sa.Column("personal", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_touches_client_id_clients", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name="fk_touches_staff_id_staff", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_touches"),
        sa.UniqueConstraint("key", name="uq_touches_key"),
    )
    op.create_index("ix_touches_client_id_date", "touches", ["client_id", "date"])
    op.create_index("ix_touches_staff_id_date", "touches", ["staff_id", "date"])
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(1000), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
    )
    op.create_index("ix_imports_sha256", "imports", ["sha256"])


def downgrade() -> None:
    for table in ("imports", "touches", "activities", "clients", "staff"):
        op.drop_table(table)
