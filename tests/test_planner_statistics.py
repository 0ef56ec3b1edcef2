"""A large import brings PostgreSQL's query-planner statistics up to date at once, instead of
leaving the pages and the next morning's job to plan for an empty table until autovacuum
analyses it (keepwarm.store.statistics)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.importing import import_file
from keepwarm.store.statistics import analyse_if_changed

NOW = dt.datetime(2026, 12, 4, 9, tzinfo=dt.UTC)


def _estimate(engine: sa.Engine, table: str) -> float:
    with engine.connect() as conn:
        return float(
            conn.execute(
                sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
            ).scalar_one()
        )


def test_a_large_import_analyses_the_table_and_a_small_change_does_not(
    engine: sa.Engine, settings: Settings, backend: str, write_csv: Callable[..., Path]
) -> None:
    lines = ["id,name"] + [f"C{i:04d},Client {i}" for i in range(300)]
    path = write_csv("clients.csv", "\n".join(lines) + "\n")
    if backend == "postgresql":
        assert _estimate(engine, "clients") < 0  # never analysed
    report = import_file(engine, settings, ImportKind.CLIENTS, path, today=NOW.date(), now=NOW)
    assert report.ok and report.added == 300
    if backend == "sqlite":  # SQLite plans without such statistics: nothing is done
        assert not analyse_if_changed(engine, "clients", 300)
        return
    assert _estimate(engine, "clients") == 300  # analysed by the import itself
    assert not analyse_if_changed(engine, "clients", 29)  # under a tenth of 300: left alone
    assert analyse_if_changed(engine, "clients", 30)


def test_only_keepwarms_own_tables_are_analysed(engine: sa.Engine, backend: str) -> None:
    if backend == "postgresql":
        with pytest.raises(ValueError, match="not a table"):
            analyse_if_changed(engine, "clients; DROP TABLE clients", 10)
    assert not analyse_if_changed(engine, "clients", 0)
