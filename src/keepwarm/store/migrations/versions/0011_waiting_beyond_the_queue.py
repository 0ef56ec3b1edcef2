"""How many more real reasons wait beyond each member's stored queue.

The daily job keeps each member's first weeks of waiting actions as rows (their age and any
move to another member matter there) and only counts the rest: a business with 100,000 clients
overdue would otherwise rewrite 100,000 waiting rows every morning. `plans.overflow` is that
count per member, as JSON ({"Dana Reyes": 812}).

Revision ID: 0011_waiting_beyond_the_queue
Revises: 0010_capacity_and_lapse
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_waiting_beyond_the_queue"
down_revision = "0010_capacity_and_lapse"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("overflow", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("overflow")
