"""Proof by simulation: does the reported 95% interval of a campaign's result cover the true
difference about 95% of the time, and how often does a campaign with no effect look like it
"worked"?

    .venv/bin/python bench/attribution_coverage.py [--runs 2000] [--seed 20261204]

Each scenario simulates ``--runs`` campaigns: an audience of N clients, a share held out (as
the campaign engine assigns it: 10% with at least 10 clients, or 50%), every treated client
coming back with probability p_t and every held-out client with p_h, independently. Each
simulated campaign goes through ``keepwarm.stats.attribution.compare`` exactly as a real one
does; coverage is the share of intervals containing p_t - p_h, "worked" the share of
verdicts "worked". A table in Markdown is printed (docs/attribution.md holds it).

The interval is Newcombe's hybrid score interval; its nominal coverage is 95%, and a one-sided
false "worked" rate of about 2.5% is expected when the true effect is 0. The verdict words
beyond "worked" are shown as shares too.
"""

from __future__ import annotations

import argparse
import math
import platform
from collections import Counter

import numpy as np

from keepwarm.stats.attribution import compare

# (label, audience, holdout share, p_treated, p_holdout)
SCENARIOS = [
    ("small, no effect", 60, 0.10, 0.10, 0.10),
    ("small, +15 points", 60, 0.10, 0.25, 0.10),
    ("small, no effect, 50% held out", 60, 0.50, 0.10, 0.10),
    ("medium, no effect", 300, 0.10, 0.20, 0.20),
    ("medium, +5 points", 300, 0.10, 0.25, 0.20),
    ("medium, +10 points", 300, 0.10, 0.15, 0.05),
    ("large, no effect", 2000, 0.10, 0.10, 0.10),
    ("large, +5 points", 2000, 0.10, 0.15, 0.10),
    ("large, +3 points, 50% held out", 2000, 0.50, 0.33, 0.30),
    ("rare returns, +2 points", 1000, 0.10, 0.03, 0.01),
]


def split(audience: int, share: float, minimum: int = 10) -> tuple[int, int]:
    """Treated and held out: `share` of the audience held out, at least `minimum`."""
    holdout = min(audience - 1, max(minimum, math.ceil(audience * share)))
    return audience - holdout, holdout


def run(
    audience: int, share: float, p_t: float, p_h: float, runs: int, rng: np.random.Generator
) -> tuple[float, float, Counter[str]]:
    treated, holdout = split(audience, share)
    covered, outcomes = 0, Counter[str]()
    truth = p_t - p_h
    returned_t = rng.binomial(treated, p_t, size=runs)
    returned_h = rng.binomial(holdout, p_h, size=runs)
    for rt, rh in zip(returned_t, returned_h, strict=True):
        c = compare(treated, int(rt), holdout, int(rh))
        assert c.ci_low is not None and c.ci_high is not None
        covered += c.ci_low <= truth <= c.ci_high
        outcomes[c.outcome] += 1
    return covered / runs, outcomes["worked"] / runs, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{args.runs} simulated campaigns per scenario, seed {args.seed}, "
          f"Python {platform.python_version()}\n")  # fmt: skip
    verdicts = " | ".join(f'"{o}"' for o in ("worked", "no evidence", "inconclusive", "did harm"))
    print("| scenario | clients (treated / held out) | true rates | 95% interval covers "
          f"the truth | {verdicts} |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for label, audience, share, p_t, p_h in SCENARIOS:
        coverage, _, outcomes = run(audience, share, p_t, p_h, args.runs, rng)
        treated, holdout = split(audience, share)
        shares = [
            f"{outcomes[o] / args.runs:.1%}"
            for o in ("worked", "no evidence", "inconclusive", "did harm")
        ]
        print(
            f"| {label} | {audience} ({treated} / {holdout}) | {p_t:.0%} vs {p_h:.0%} "
            f"| **{coverage:.1%}** | " + " | ".join(shares) + " |"
        )


if __name__ == "__main__":
    main()
