"""Whole or absent: an import killed with SIGKILL at a random moment leaves the database intact
and either fully imported or untouched (RELIABILITY.md, "Data").

KEEPWARM_KILL_RUNS sets how many kills to try (default 6; docs/reliability.md reports a run
with many more)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keepwarm.store import connect, migrate

RUNS = int(os.environ.get("KEEPWARM_KILL_RUNS", "6"))
ROWS = 40_000


def _files(folder: Path) -> tuple[Path, Path]:
    clients = folder / "clients.csv"
    activities = folder / "activities.csv"
    rng = random.Random(3)
    clients.write_text("id,name\n" + "".join(f"C{i},Client {i}\n" for i in range(2_000)))
    activities.write_text(
        "client_id,date,amount\n"
        + "".join(
            f"C{rng.randrange(2_000)},2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d},"
            f"{rng.randrange(0, 30_000) / 100:.2f}\n"
            for _ in range(ROWS)
        )
    )
    return clients, activities


def _keepwarm(*args: str, db: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "keepwarm.cli", *args, "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_an_import_killed_at_any_moment_is_whole_or_absent(tmp_path: Path) -> None:
    clients, activities = _files(tmp_path)
    rng = random.Random(11)
    # How long a full import takes here, so kills land throughout it.
    db = tmp_path / "timing.db"
    engine = connect(f"sqlite:///{db}", create=True)
    migrate(engine)
    engine.dispose()
    assert _keepwarm("import", "clients", str(clients), db=db).wait() == 0
    started = time.perf_counter()
    assert _keepwarm("import", "activities", str(activities), db=db).wait() == 0
    duration = time.perf_counter() - started

    outcomes = {"complete": 0, "absent": 0}
    for run in range(RUNS):
        db = tmp_path / f"kill-{run}.db"
        engine = connect(f"sqlite:///{db}", create=True)
        migrate(engine)
        engine.dispose()
        assert _keepwarm("import", "clients", str(clients), db=db).wait() == 0
        process = _keepwarm("import", "activities", str(activities), db=db)
        time.sleep(rng.uniform(0.05, duration * 1.1))
        process.send_signal(signal.SIGKILL)
        process.wait()
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            count = conn.execute("SELECT COUNT(*) FROM activities").fetchone()[0]
            logged = conn.execute(
                "SELECT COUNT(*) FROM imports WHERE kind = 'activities'"
            ).fetchone()[0]
        assert count in (0, ROWS), f"run {run}: a partial import of {count} rows"
        assert logged == (1 if count else 0)
        outcomes["complete" if count else "absent"] += 1
    assert sum(outcomes.values()) == RUNS


@pytest.mark.parametrize("flag", ["--help"])
def test_the_cli_module_runs_as_a_program(flag: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "keepwarm.cli", flag], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "keepwarm" in result.stdout
