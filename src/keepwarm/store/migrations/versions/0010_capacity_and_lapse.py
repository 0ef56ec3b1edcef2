"""Daily capacity, quotas in force per week, waiting actions and the lapse score.

- staff.weekly_quota becomes nullable: NULL means "the policy's default", so one place decides
  each member's quota; staff.daily_capacity (NULL: the policy's default) is how many actions a
  member can take a day; staff.joined_on is the day they joined (weeks before it are not judged).
- staff_quota_history: each member's quota in force from a day on, appended whenever their
  quota (or the policy default they follow) changes, so past weeks are judged by their own.
- actions may be 'waiting': a real reason that did not fit today's capacity, kept in priority
  order to come first on a later day.
- rhythms.lapse_risk: the score that ranks lapsing clients (chance of no activity over the
  horizon the backtest measures).

Revision ID: 0010_capacity_and_lapse
Revises: 0009_client_search_trigram_pg
Create Date: 2026-12-03
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0010_capacity_and_lapse"
down_revision = "0009_client_search_trigram_pg"
branch_labels = None
depends_on = None

_OLD = "status IN ('open', 'done', 'snoozed', 'dismissed')"
_NEW = "status IN ('open', 'waiting', 'done', 'snoozed', 'dismissed')"


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.alter_column(
            "weekly_quota", existing_type=sa.Integer, nullable=True, server_default=None
        )
        batch.add_column(sa.Column("daily_capacity", sa.Integer))
        batch.add_column(sa.Column("joined_on", sa.Date))
    op.execute("UPDATE staff SET joined_on = CAST(created_at AS DATE)")
    op.create_table(
        "staff_quota_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "staff_id",
            sa.Integer,
            sa.ForeignKey(
                "staff.id", ondelete="CASCADE", name="fk_staff_quota_history_staff_id_staff"
            ),
            nullable=False,
        ),
        sa.Column("since", sa.Date, nullable=False),
        sa.Column("weekly_quota", sa.Integer, nullable=False),
        sa.UniqueConstraint("staff_id", "since", name="uq_staff_quota_history_staff_id_since"),
    )
    op.execute(
        "INSERT INTO staff_quota_history (staff_id, since, weekly_quota) "
        "SELECT id, joined_on, weekly_quota FROM staff"
    )
    with _referred_tables_reflected(), op.batch_alter_table("actions") as batch:
        batch.drop_constraint("ck_actions_status_known", type_="check")
        batch.create_check_constraint("ck_actions_status_known", _NEW)
    with _referred_tables_reflected(), op.batch_alter_table("rhythms") as batch:
        batch.add_column(sa.Column("lapse_risk", sa.Float))


@contextlib.contextmanager
def _referred_tables_reflected() -> Iterator[None]:
    """On SQLite a batch copies the table, reflecting the tables its foreign keys refer to;
    SQLAlchemy cannot reflect the clients table's expression index (lower(name), migration
    0007) and says so. Only `actions` and `rhythms` are copied; `clients` and its index stay
    as they are, so the warning is noise here, and only here."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="Skipped unsupported reflection of expression-based index",
            category=sa.exc.SAWarning,
        )
        yield


def downgrade() -> None:
    with _referred_tables_reflected(), op.batch_alter_table("rhythms") as batch:
        batch.drop_column("lapse_risk")
    op.execute("UPDATE actions SET status = 'open' WHERE status = 'waiting'")
    with _referred_tables_reflected(), op.batch_alter_table("actions") as batch:
        batch.drop_constraint("ck_actions_status_known", type_="check")
        batch.create_check_constraint("ck_actions_status_known", _OLD)
    op.drop_table("staff_quota_history")
    op.execute("UPDATE staff SET weekly_quota = 2 WHERE weekly_quota IS NULL")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("joined_on")
        batch.drop_column("daily_capacity")
        batch.alter_column(
            "weekly_quota", existing_type=sa.Integer, nullable=False, server_default="2"
        )
