"""The query planner's statistics on PostgreSQL, brought up to date after a large write.

PostgreSQL plans each query from its statistics of every table (`ANALYZE`). Its autovacuum
refreshes them in the background, but only after a delay: a table that a large import has
just filled (a first import of a million clients, or of twenty million activities) is
planned as if it were empty until then, and the pages and the next morning's job can pick
plans for a few rows over millions. So an import that changed a large part of a table
analyses it at once. SQLite plans without such statistics: nothing to do there."""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, text

from keepwarm.store.engine import writing

log = logging.getLogger(__name__)

SHARE = 0.1
"""Analyse a table when a write changed at least this share of its rows (by the planner's own
estimate), or when it was never analysed."""

ANALYSED_TABLES = frozenset({"clients", "activities", "touches"})


def analyse_if_changed(engine: Engine, table: str, changed: int) -> bool:
    """`ANALYZE table` on PostgreSQL when `changed` rows are a large part of it (`SHARE`) or
    it was never analysed; True when it was analysed."""
    if engine.dialect.name != "postgresql" or changed <= 0:
        return False
    if table not in ANALYSED_TABLES:  # the name goes into SQL: only the tables we know
        raise ValueError(f"not a table to analyse: {table!r}")
    started = time.perf_counter()
    with writing(engine) as conn:
        estimate = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:table)"),
            {"table": table},
        ).scalar_one()
        # -1: never analysed (PostgreSQL 14 and later); 0: analysed while empty
        if estimate >= 0 and changed < SHARE * estimate:
            return False
        conn.exec_driver_sql(f"ANALYZE {table}")
    log.info(
        "%s: the query planner's statistics refreshed in %.2f s (%d rows changed, about %d before)",
        table,
        time.perf_counter() - started,
        changed,
        max(int(estimate), 0),
    )
    return True
