"""Benchmark: false alarms and detection of the usage-trend test (keepwarm.rhythm.trend).

    .venv/bin/python bench/bench_trend.py [--clients 2000] [--runs 1] [--gap-shape 8]
        [--seed 20240917]

Simulated clients, vectorised (``summarise`` + ``trend``, arrays in, arrays out):

- **Visits**: a renewal process with Gamma gaps (shape ``--gap-shape``: 8 gives a weekly
  client 7 ± 2.5 days; 1 is Poisson), a random phase, and a first visit in the first period;
  a rate change at ``CHANGE_DAY`` (after two years of steady history) rescales time from then
  on. At most one visit counts per day.
- **Spend**: fixed prices (every visit 50.00), varying prices (lognormal, sigma 0.3, mean
  50.00), or fixed prices with a 2% rise 60 days before the quarter scored (a steady client).
- **False alarms**: a steady client is scored on each of 91 consecutive days, starting 2.5
  years after the first visit; the rate is the share of clients flagged (up or down) on *any*
  of those days. Target: at most alpha = 5% per client per quarter.
- **Detection**: a change of ±33% or ±50% in visit rate (prices varying) or in spend per visit
  (prices varying, rate steady) at two years; scored once, 3 and 6 months after the change;
  the rate is the share flagged in the right direction (the wrong direction is counted too).

``--runs`` repeats every cell with a fresh seed and reports the mean.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from keepwarm.rhythm import summarise, trend

CHANGE_DAY = 730
QUARTER = 91
SCORE_FROM = 912  # 2.5 years: a full window of steady history after two years of baseline
PRICE_CENTS = 5000
SPEND_SIGMA = 0.3
RHYTHMS = {"weekly": 7.0, "monthly": 30.0, "quarterly": 91.0}


def simulate(
    rng: np.random.Generator,
    n: int,
    period: float,
    *,
    days: int,
    gap_shape: float,
    rate_factor: float = 1.0,
    prices: str = "varying",
    spend_factor: float = 1.0,
    change_day: int = CHANGE_DAY,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Activities (client, day, cents) of ``n`` clients up to day ``days - 1``."""
    # Operational time u (one unit per usual gap) -> calendar day; after the change the
    # client goes through operational time ``rate_factor`` times as fast.
    k = int(days * max(rate_factor, 1.0) / period * 1.5 + 20)
    u = np.cumsum(rng.gamma(gap_shape, 1.0 / gap_shape, size=(n, k)), axis=1)
    u += rng.random((n, 1)) - u[:, :1]  # first visit at a random phase of the first period
    u_change = change_day / period
    t = np.where(u <= u_change, u * period, change_day + (u - u_change) * period / rate_factor)
    client, j = np.nonzero(t < days)
    day = np.floor(t[client, j]).astype(np.int64)
    if prices == "varying":
        noise = rng.lognormal(-(SPEND_SIGMA**2) / 2, SPEND_SIGMA, size=day.size)
    else:
        noise = np.ones(day.size)
    factor = np.where(day >= change_day, spend_factor, 1.0)
    cents = np.rint(PRICE_CENTS * noise * factor).astype(np.int64)
    return client, day, cents


def false_alarms(
    rng: np.random.Generator, n: int, period: float, prices: str, shape: float
) -> float:
    rise = prices == "2% rise"
    client, day, cents = simulate(
        rng,
        n,
        period,
        days=SCORE_FROM + QUARTER,
        gap_shape=shape,
        prices="fixed" if rise else prices,
        spend_factor=1.02 if rise else 1.0,
        change_day=SCORE_FROM - 60 if rise else SCORE_FROM + QUARTER,
    )
    flagged = np.zeros(n, dtype=bool)
    for as_of in range(SCORE_FROM, SCORE_FROM + QUARTER):
        flagged |= trend(summarise(client, day, cents, n, as_of)).direction != 0
    return float(flagged.mean())


def detection(
    rng: np.random.Generator, n: int, period: float, what: str, factor: float, shape: float
) -> list[tuple[float, float]]:
    client, day, cents = simulate(
        rng,
        n,
        period,
        days=CHANGE_DAY + 183,
        gap_shape=shape,
        rate_factor=factor if what == "visit rate" else 1.0,
        spend_factor=factor if what == "spend per visit" else 1.0,
    )
    want = 1 if factor > 1 else -1
    out = []
    for after in (91, 182):
        d = trend(summarise(client, day, cents, n, CHANGE_DAY + after)).direction
        out.append((float(np.mean(d == want)), float(np.mean(d == -want))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2000, help="clients per cell")
    parser.add_argument("--runs", type=int, default=1, help="repeats per cell (mean reported)")
    parser.add_argument("--gap-shape", type=float, default=8.0, help="Gamma shape of the gaps")
    parser.add_argument("--seed", type=int, default=20240917)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    n, runs = args.clients, args.runs

    print(
        f"{n:,} clients per cell, {runs} run(s), gap shape {args.gap_shape:g}, "
        f"seed {args.seed}; {platform.processor() or platform.machine()}\n"
    )
    print("False alarms per steady client per quarter (flagged on any of 91 days; target <= 5%)\n")
    print("| visits | rhythm | fixed prices | varying prices | 2% price rise |")
    print("| --- | --- | --- | --- | --- |")
    shapes = [(f"Gamma gaps, shape {args.gap_shape:g}", args.gap_shape), ("Poisson", 1.0)]
    for label, shape in shapes:
        for rhythm, period in RHYTHMS.items():
            cells = []
            for prices in ("fixed", "varying", "2% rise"):
                rate = np.mean([false_alarms(rng, n, period, prices, shape) for _ in range(runs)])
                cells.append(f"{rate:.1%}")
            print(f"| {label} | {rhythm} | " + " | ".join(cells) + " |")

    print("\nDetection: share flagged in the right direction (wrong direction in brackets)\n")
    print("| rhythm | change | 3 months after | 6 months after |")
    print("| --- | --- | --- | --- |")
    for rhythm in ("weekly", "monthly"):
        for what in ("visit rate", "spend per visit"):
            for factor in (1.33, 0.67, 1.5, 0.5):
                res = np.mean(
                    [
                        detection(rng, n, RHYTHMS[rhythm], what, factor, args.gap_shape)
                        for _ in range(runs)
                    ],
                    axis=0,
                )
                sign = "+" if factor > 1 else "−"
                cells = [f"{right:.0%} ({wrong:.1%})" for right, wrong in res]
                change = f"{what} {sign}{abs(factor - 1):.0%}"
                print(f"| {rhythm} | {change} | " + " | ".join(cells) + " |")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
