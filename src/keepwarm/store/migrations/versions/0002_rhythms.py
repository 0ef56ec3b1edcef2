"""Rhythms: each client's learned rhythm and the population fit behind it.

Revision ID: 0002_rhythms
Revises: 0001_initial
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rhythms"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rhythm_fits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(40), nullable=False),
        sa.Column("time_unit", sa.String(20), nullable=False),
        sa.Column("fallback", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("population", sa.Text, nullable=False),
        sa.Column("log_likelihood", sa.Float),
        sa.Column("converged", sa.Boolean, nullable=False),
        sa.Column("clients", sa.Integer, nullable=False),
        sa.Column("holdout", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_rhythm_fits"),
    )
    op.create_index("ix_rhythm_fits_as_of", "rhythm_fits", ["as_of"])
    op.create_table(
        "rhythms",
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("fit_id", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("activities", sa.Integer, nullable=False),
        sa.Column("last_activity", sa.Date),
        sa.Column("days_since_last", sa.Integer),
        sa.Column("usual_gap_days", sa.Float),
        sa.Column("silence_ratio", sa.Float),
        sa.Column("p_alive", sa.Float, nullable=False),
        sa.Column("expected_30", sa.Float, nullable=False),
        sa.Column("expected_90", sa.Float, nullable=False),
        sa.Column("expected_365", sa.Float, nullable=False),
        sa.Column("expected_spend_cents", sa.BigInteger, nullable=False),
        sa.Column("monthly_value_cents", sa.BigInteger, nullable=False),
        sa.Column("at_risk_cents", sa.BigInteger, nullable=False),
        sa.Column("clv_cents", sa.BigInteger, nullable=False),
        sa.Column("attention_after", sa.Date),
        sa.Column("trend_direction", sa.Integer, nullable=False),
        sa.Column("usage_change", sa.Float),
        sa.Column("visits_change", sa.Float),
        sa.Column("spend_change", sa.Float),
        sa.Column("trend_p_value", sa.Float),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_rhythms_client_id_clients", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["fit_id"], ["rhythm_fits.id"], name="fk_rhythms_fit_id_rhythm_fits", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("client_id", name="pk_rhythms"),
    )
    op.create_index("ix_rhythms_attention_after", "rhythms", ["attention_after"])


def downgrade() -> None:
    op.drop_table("rhythms")
    op.drop_table("rhythm_fits")
