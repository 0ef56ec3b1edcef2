"""`keepwarm backtest`: replayed at a past date, keepwarm's lapse score finds the clients who
did not come back better than what practice software does, and the backtest refuses what it
cannot answer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from keepwarm import rhythm
from keepwarm.services.backtest import auc, precision_at

X = dt.date(2026, 6, 1)
RANKINGS = {
    "keepwarm",
    "days_since_last",
    "overdue_fixed_interval",
    "overdue_own_gap",
    "p_alive",
    "expected_365",
}


def _import(cli, tmp_path: Path, clients: list[str], visits: list[str]) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c.csv").write_text("\n".join(["id,name", *clients]) + "\n")
    (tmp_path / "v.csv").write_text("\n".join(["client_id,date,amount", *visits]) + "\n")
    assert cli("import", "clients", str(tmp_path / "c.csv")).exit_code == 0
    assert cli("import", "activities", str(tmp_path / "v.csv")).exit_code == 0


def _weekly(cli, tmp_path: Path, n: int = 100, stopped: int = 30) -> None:  # type: ignore[no-untyped-def]
    # `n` weekly clients for two years; `stopped` of them stopped 60 days before X and never
    # returned, the others kept coming for the 90 days after X.
    clients = [f"W{i:03d},Client {i}" for i in range(n)]
    visits = []
    for i in range(n):
        stop = X - dt.timedelta(days=60) if i < stopped else X + dt.timedelta(days=90)
        day = X - dt.timedelta(days=730 - i % 7)
        while day <= stop:
            visits.append(f"W{i:03d},{day},50.00")
            day += dt.timedelta(days=7)
    _import(cli, tmp_path, clients, visits)


def _backtest(cli, *args: str) -> dict:  # type: ignore[no-untyped-def]
    result = cli("backtest", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_report_ranks_keepwarm_and_the_baselines_with_auc_and_precision(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    _weekly(cli, tmp_path)
    report = _backtest(cli, "--as-of", X.isoformat(), "--days", "90")
    assert set(report["baselines"]) == {
        "days_since_last",
        "overdue_fixed_interval",
        "overdue_own_gap",
    }
    assert report["clients"] == report["all_clients"] == 100
    assert report["not_returned"] == {"repeat": 30, "all": 30}
    for group in ("repeat", "all"):
        assert set(report["auc"][group]) == RANKINGS
        assert set(report["precision_at"][group]["keepwarm"]) == {"20", "50", "1%"}
    # Every sensible ranking puts the 30 who stopped first: the top 20 are all gone, and the
    # top 50 hold those 30 and 20 who came back.
    for name in ("keepwarm", "days_since_last", "overdue_fixed_interval", "overdue_own_gap"):
        assert report["auc"]["repeat"][name] == 1.0, name
        assert report["precision_at"]["repeat"][name] == {"20": 1.0, "50": 0.6, "1%": 1.0}
    assert report["flagged"] == 30 and report["flagged_not_returned"] == 30
    assert report["base_rate"] == 0.3
    text = " ".join(cli("backtest", "--as-of", X.isoformat()).output.split())
    assert "30 (100%) did not come back within 90 days, against 30%" in text
    assert "keepwarm's lapse score beats every baseline" not in text  # ties are not a win
    assert "does NOT beat every baseline: auc: 1.000 against 1.000 for days_since_last" in text
    assert report["beats_baselines"] == {"repeat": False, "all": False}
    assert {
        "baseline": "days_since_last",
        "measure": "auc",
        "keepwarm": 1.0,
        "baseline_value": 1.0,
    } in report["behind"]["repeat"]


def test_precision_at_counts_ties_at_the_cut_at_their_expected_share() -> None:
    score = np.array([3.0, 2.0, 2.0, 1.0])
    gone = np.array([True, False, True, False])
    assert precision_at(score, gone, 1) == 1.0
    assert precision_at(score, gone, 2) == 0.75  # 3, then one of the two 2s: half gone
    assert precision_at(score, gone, 4) == 0.5
    assert auc(score, gone) == 0.875  # (1 + 1 + 0.5 + 1) / 4 pairs
    assert auc(score, np.zeros(4, dtype=bool)) is None


def test_keepwarm_beats_every_baseline_on_a_simulated_practice(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    truth = rhythm.BGNBDParams(
        3.0, 18.0, 1.0, 12.0, 0.0, 7.0, rhythm.FitDiagnostics(True, 0, 0, "", 0, 0, 0, False)
    )
    sim = rhythm.simulate_activities(
        truth, 1500, np.random.default_rng(7), as_of_day=3 * 365, cohort_days=365
    )
    start = X - dt.timedelta(days=int(sim.as_of_day))
    clients = [f"P{i},Client {i}" for i in range(1500)]
    visits = [
        f"P{c},{start + dt.timedelta(days=d)},{cents / 100:.2f}"
        for c, d, cents in zip(
            sim.client.tolist(), sim.day.tolist(), sim.amount_cents.tolist(), strict=True
        )
    ]
    _import(cli, tmp_path, clients, visits)
    last = max(start + dt.timedelta(days=d) for d in sim.day.tolist())
    report = _backtest(cli, "--as-of", (last - dt.timedelta(days=90)).isoformat())
    for group in ("repeat", "all"):
        ours = report["auc"][group]["keepwarm"]
        for name in report["baselines"]:
            assert ours > report["auc"][group][name], (group, name)
            # At the top of the list (20, 50, 1%), never below a baseline.
            for k, share in report["precision_at"][group]["keepwarm"].items():
                assert share >= report["precision_at"][group][name][k], (group, name, k)
    assert report["beats_baselines"] == {"repeat": True, "all": True}
    assert report["behind"] == {"repeat": [], "all": []}


def _refused(cli, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = cli("backtest", *args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def test_the_backtest_refuses_what_it_cannot_answer(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "no activities" in _refused(cli, "--as-of", "2026-01-01")
    _weekly(cli, tmp_path)
    last = X + dt.timedelta(days=90)
    assert "not in the past" in _refused(cli, "--as-of", "2999-01-01")
    assert "last recorded activity" in _refused(cli, "--as-of", last.isoformat())
    assert "not known yet" in _refused(cli, "--as-of", X.isoformat(), "--days", "91")
    early = (X - dt.timedelta(days=700)).isoformat()
    assert "of history before" in _refused(cli, "--as-of", early, "--days", "30")


def test_too_few_clients_with_two_visits_is_refused_in_plain_words(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _weekly(cli, tmp_path, n=2, stopped=0)
    message = _refused(cli, "--as-of", X.isoformat(), "--days", "80")
    assert "only 2 clients had two visits" in message
