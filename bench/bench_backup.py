"""Time `keepwarm backup` of a 100,000-client SQLite database (and the restore of that copy).

Builds the practice once through the real import path (100,000 clients with email, phone,
address and notes; 3 visits each), then runs the `keepwarm backup` command --runs times in a
fresh process each (the command as a user runs it: online backup API in steps of 1024 pages
from one read snapshot, the copy's integrity check, revision and every table's row count),
and `keepwarm restore --yes` of the copy once. Prints the median and the range.

    .venv/bin/python bench/bench_backup.py --clients 100000 --runs 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.store import connect, migrate

NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
KEEPWARM = str(Path(sys.executable).with_name("keepwarm"))


def _files(folder: Path, n: int) -> tuple[Path, Path]:
    clients = folder / "clients.csv"
    with clients.open("w") as out:
        out.write("id,name,owner,email,phone,address,birthday,notes\n")
        for i in range(n):
            out.write(
                f"C{i},Client Number{i},Dana,c{i}@example.com,+1503{i:07d},"
                f'"{i} Main Street, Portland",1970-01-{1 + i % 28:02d},note about client {i}\n'
            )
    visits = folder / "activities.csv"
    with visits.open("w") as out:
        out.write("client_id,date,amount,kind\n")
        for i in range(n):
            for month in (1, 4, 7):
                out.write(f"C{i},2025-{month:02d}-{1 + i % 28:02d},50.00,visit\n")
    return clients, visits


def _timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([KEEPWARM, *args], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keepwarm-bench-backup-") as tmp:
        folder = Path(tmp)
        db = folder / "practice.db"
        url = f"sqlite:///{db}"
        engine = connect(url, create=True)
        migrate(engine)
        add_staff(engine, "Dana", email=None, weekly_quota=50, now=NOW)
        settings = Settings(database_url=url)
        clients, visits = _files(folder, options.clients)
        for kind, path in ((ImportKind.CLIENTS, clients), (ImportKind.ACTIVITIES, visits)):
            assert import_file(engine, settings, kind, path, today=NOW.date(), now=NOW).ok
        engine.dispose()
        size = db.stat().st_size
        copy = folder / "copy.db"
        times = [_timed(["backup", str(copy), "--db", str(db)]) for _ in range(options.runs)]
        restore = _timed(["restore", str(copy), "--yes", "--db", str(db)])
        print(
            f"keepwarm backup of {options.clients:,} clients ({size / 2**20:.0f} MiB): "
            f"median {statistics.median(times):.2f} s over {options.runs} runs "
            f"(range {min(times):.2f}-{max(times):.2f} s); keepwarm restore --yes: {restore:.2f} s"
        )


if __name__ == "__main__":
    main()
