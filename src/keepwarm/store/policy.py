"""The stored policy document. Never commits."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, insert, select, update

from keepwarm.store.tables import policy


def load_policy_data(conn: Connection) -> dict[str, Any] | None:
    """The stored policy as a dict, or None when the defaults were never changed."""
    raw = conn.execute(select(policy.c.data).where(policy.c.id == 1)).scalar_one_or_none()
    return None if raw is None else json.loads(raw)


def save_policy_data(conn: Connection, data: dict[str, Any], now: dt.datetime) -> None:
    text = json.dumps(data, sort_keys=True)
    changed = conn.execute(
        update(policy).where(policy.c.id == 1).values(data=text, updated_at=now)
    ).rowcount
    if not changed:
        conn.execute(insert(policy).values(id=1, data=text, updated_at=now))
