"""The daily job follows what changed: `activity_changes`, written by the database's own
triggers on every insert, update and delete of an activity (whatever path makes it: imports,
merges of two clients, erasure, a client's deletion cascading), and `activity_snapshot`, the
rhythm engine's packed copy of every activity (one row per block of clients) that the daily job
brings up to date from those changes. `rhythm_fits` gains the activity count it saw and the
lapse score's calibration, so the daily job can score with a recent fit until enough has
changed.

On SQLite the triggers are per row; on PostgreSQL per statement over the statement's
transition tables (one INSERT ... SELECT DISTINCT per statement, not one per row).

Revision ID: 0030_activity_snapshot
Revises: 0029_campaign_channels
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030_activity_snapshot"
down_revision = "0029_campaign_channels"
branch_labels = None
depends_on = None

_SQLITE = (
    "CREATE TRIGGER activities_changes_insert AFTER INSERT ON activities BEGIN "
    "INSERT INTO activity_changes (client_id) VALUES (NEW.client_id); END",
    "CREATE TRIGGER activities_changes_delete AFTER DELETE ON activities BEGIN "
    "INSERT INTO activity_changes (client_id) VALUES (OLD.client_id); END",
    "CREATE TRIGGER activities_changes_update "
    "AFTER UPDATE OF client_id, date, amount_cents, kind ON activities BEGIN "
    "INSERT INTO activity_changes (client_id) VALUES (OLD.client_id); "
    "INSERT INTO activity_changes (client_id) SELECT NEW.client_id "
    "WHERE NEW.client_id <> OLD.client_id; END",
)

_POSTGRESQL = (
    """CREATE FUNCTION keepwarm_activities_changed() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO activity_changes (client_id) SELECT DISTINCT client_id FROM new_rows;
        ELSIF TG_OP = 'DELETE' THEN
            INSERT INTO activity_changes (client_id) SELECT DISTINCT client_id FROM old_rows;
        ELSE
            INSERT INTO activity_changes (client_id)
            SELECT client_id FROM old_rows UNION SELECT client_id FROM new_rows;
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER activities_changes_insert AFTER INSERT ON activities "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION keepwarm_activities_changed()",
    "CREATE TRIGGER activities_changes_delete AFTER DELETE ON activities "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION keepwarm_activities_changed()",
    "CREATE TRIGGER activities_changes_update AFTER UPDATE ON activities "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION keepwarm_activities_changed()",
)


def upgrade() -> None:
    op.create_table(
        "activity_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client_id", sa.Integer, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "activity_snapshot",
        sa.Column("block", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activities", sa.Integer, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    op.add_column("rhythm_fits", sa.Column("activities", sa.BigInteger))
    op.add_column("rhythm_fits", sa.Column("lapse_calibration", sa.Text))
    statements = _SQLITE if op.get_bind().dialect.name == "sqlite" else _POSTGRESQL
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER activities_changes_{name}")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER activities_changes_{name} ON activities")
        op.execute("DROP FUNCTION keepwarm_activities_changed()")
    op.drop_column("rhythm_fits", "lapse_calibration")
    op.drop_column("rhythm_fits", "activities")
    op.drop_table("activity_snapshot")
    op.drop_table("activity_changes")
