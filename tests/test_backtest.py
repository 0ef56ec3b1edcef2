"""`keepwarm backtest`: replayed at a past date, the clients flagged as lapsing are the ones
who really did not come back, against the base rate."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

X = dt.date(2026, 6, 1)


def test_the_flagged_clients_are_the_ones_who_did_not_come_back(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # 100 weekly clients for two years; 30 stopped 60 days before X and never returned, the
    # others kept coming for the 90 days after X.
    clients = ["id,name"] + [f"W{i:03d},Client {i}" for i in range(100)]
    visits = ["client_id,date,amount"]
    for i in range(100):
        stop = X - dt.timedelta(days=60) if i < 30 else X + dt.timedelta(days=90)
        day = X - dt.timedelta(days=730 - i % 7)
        while day <= stop:
            visits.append(f"W{i:03d},{day},50.00")
            day += dt.timedelta(days=7)
    (tmp_path / "c.csv").write_text("\n".join(clients) + "\n")
    (tmp_path / "v.csv").write_text("\n".join(visits) + "\n")
    assert cli("import", "clients", str(tmp_path / "c.csv")).exit_code == 0
    assert cli("import", "activities", str(tmp_path / "v.csv")).exit_code == 0

    result = cli("backtest", "--as-of", X.isoformat(), "--days", "90", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["clients"] == 100
    assert report["flagged"] == 30
    assert report["flagged_not_returned"] == 30
    assert report["base_rate"] == 0.3
    assert report["lift"] == round(1 / 0.3, 2)
    assert report["history_short"] is False
    text = cli("backtest", "--as-of", X.isoformat())
    assert "30 (100%) did not come back within 90 days, against 30%" in " ".join(
        text.output.split()
    )
