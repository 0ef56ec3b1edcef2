"""A simulated practice written as the CSV exports keepwarm imports (shared by benchmarks)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from keepwarm import rhythm


def bgnbd(r: float, alpha: float, a: float, b: float) -> rhythm.BGNBDParams:
    """True BG/NBD parameters (weeks) to simulate from."""
    fit = rhythm.FitDiagnostics(True, 0, 0, "", 0, 0, 0, False)
    return rhythm.BGNBDParams(r, alpha, a, b, 0.0, 7.0, fit)


def write_practice(
    clients: Path,
    activities: Path,
    truth: rhythm.BGNBDParams,
    *,
    n_clients: int,
    seed: int,
    end: dt.date,
    prefix: str,
) -> tuple[Path, Path]:
    """Three years of history ending on `end`, first visits over the first year; clients
    with an email and a phone. Files already there are reused."""
    if clients.exists() and activities.exists():
        return clients, activities
    clients.parent.mkdir(exist_ok=True)
    sim = rhythm.simulate_activities(
        truth, n_clients, np.random.default_rng(seed), as_of_day=3 * 365, cohort_days=365
    )
    start = end - dt.timedelta(days=int(sim.as_of_day))
    clients.write_text(
        "id,name,email,phone\n"
        + "".join(
            f"{prefix}{i},Client {i},c{i}@example.com,+1503555{i % 10000:04d}\n"
            for i in range(n_clients)
        )
    )
    dates = [(start + dt.timedelta(days=d)).isoformat() for d in range(sim.as_of_day + 1)]
    with activities.open("w") as fh:
        fh.write("client_id,date,amount,kind\n")
        rows = zip(sim.client.tolist(), sim.day.tolist(), sim.amount_cents.tolist(), strict=True)
        for c, d, cents in rows:
            fh.write(f"{prefix}{c},{dates[d]},{cents // 100}.{cents % 100:02d},visit\n")
    return clients, activities
