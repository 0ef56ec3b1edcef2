"""Benchmark: does keepwarm's lapse score rank the clients who did not come back better than
what practice software already does? `keepwarm backtest` on CDNOW and a simulated practice.

    .venv/bin/python bench/bench_backtest.py [--cdnow /work/shared/data/CDNOW_master.txt]
        [--work /tmp/keepwarm-backtest]

CDNOW: the full master file (23,570 customers, 69,659 records, 1997-01-01..1998-06-30) is
written as CSV exports (one client per customer id; one activity per record, with its dollar
value), imported through the CLI into a temporary SQLite database, and replayed as of
1997-09-30 (the end of the literature's 39-week calibration period) for the 273 days to
1998-06-30. Simulated practice: 5,000 clients drawn from BG/NBD with regular visitors
(r = 3, alpha = 18 weeks: a visit every 6 weeks on average; a = 1, b = 12), three years of
history ending 2026-06-01, replayed as of 2026-03-02 for the 90 days to its last visit.
Each run prints the backtest's text report and writes its JSON next to the database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from simulated_practice import bgnbd, write_practice

KEEPWARM = str(Path(sys.executable).with_name("keepwarm"))
CDNOW = Path("/work/shared/data/CDNOW_master.txt")


def run(*args: str) -> str:
    done = subprocess.run([KEEPWARM, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"keepwarm {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def cdnow_csv(source: Path, work: Path) -> tuple[Path, Path]:
    clients, activities = work / "cdnow_clients.csv", work / "cdnow_activities.csv"
    ids: dict[str, None] = {}
    with source.open() as src, activities.open("w") as out:
        out.write("client_id,date,amount,quantity\n")
        next(src)  # header
        for line in src:
            cid, day, cds, dollars = line.split()
            ids.setdefault(cid)
            out.write(f"C{cid},{day[:4]}-{day[4:6]}-{day[6:]},{dollars},{cds}\n")
    clients.write_text("id,name\n" + "".join(f"C{c},Customer {c}\n" for c in ids))
    return clients, activities


def backtest(db: Path, clients: Path, activities: Path, as_of: str, days: int) -> dict:
    if not db.exists():
        run("init", "--db", str(db))
        run("import", "clients", str(clients), "--db", str(db))
        run("import", "activities", str(activities), "--db", str(db))
    args = ("backtest", "--as-of", as_of, "--days", str(days), "--db", str(db))
    print(run(*args))
    report = json.loads(run(*args, "--format", "json"))
    db.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdnow", type=Path, default=CDNOW)
    parser.add_argument("--work", type=Path, default=Path("/tmp/keepwarm-backtest"))
    parser.add_argument("--skip-cdnow", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.skip_cdnow:
        print("== CDNOW master, as of 1997-09-30, 273 days ==")
        files = cdnow_csv(args.cdnow, args.work)
        backtest(args.work / "cdnow.db", *files, "1997-09-30", 273)
    print("== Simulated practice, as of 2026-03-02, 90 days ==")
    end = dt.date(2026, 6, 1)
    files = write_practice(
        args.work / "practice_clients.csv",
        args.work / "practice_activities.csv",
        bgnbd(3.0, 18.0, 1.0, 12.0),
        n_clients=5000,
        seed=7,
        end=end,
        prefix="P",
    )
    backtest(args.work / "practice.db", *files, (end - dt.timedelta(days=91)).isoformat(), 90)


if __name__ == "__main__":
    main()
