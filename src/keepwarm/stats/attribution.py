"""Did a campaign work? Treated clients against held-out clients: the difference in the share
that came back, its confidence interval, a verdict in words, and revenue per client.

Plain numbers in, plain numbers out; imports nothing else of keepwarm.

Sources:
- The interval for the difference of two proportions is Newcombe's hybrid score interval
  (Newcombe 1998, "Interval estimation for the difference between independent proportions:
  comparison of eleven methods", Statistics in Medicine 17:873-890, method 10), as computed by
  statsmodels' ``confint_proportions_2indep(method="newcomb")``. It behaves well for small
  groups and rates near 0, where the textbook (Wald) interval is too narrow.
- The number of clients still needed is the standard sample size for two proportions
  (Cohen's arcsine effect size, a two-sided test, 80% power: statsmodels ``NormalIndPower``),
  at the holdout's observed rate, to detect the smallest effect that matters.
- Revenue per client is compared with Welch's t-interval (unequal variances) on every client's
  revenue in the window, zeros included. Revenue is skewed (most clients spend nothing), so
  for small groups the interval is rough; it is shown as a guide, the verdict rests on returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# The smallest difference in return rate worth acting on, by default: 5 percentage points. A
# campaign whose interval rules out an effect this large "shows no evidence" of working; one
# whose interval is wider is "inconclusive". Settable per call (`smallest_effect`).
SMALLEST_EFFECT = 0.05
# The power of the sample-size calculation behind "about N more clients needed".
POWER = 0.8

Outcome = Literal["worked", "no evidence", "inconclusive", "did harm", "no comparison"]


@dataclass(frozen=True)
class Comparison:
    """Treated against held out. Rates and the difference are shares (0.12 = 12%);
    `difference` = treated rate - holdout rate, with its interval [ci_low, ci_high] at
    `confidence`. They are None when a group is empty (`outcome` "no comparison").

    `outcome`: "worked" (the whole interval is above 0), "did harm" (below 0), "no evidence"
    (the interval contains 0 and rules out an effect of `smallest_effect` or more),
    "inconclusive" (contains 0 and is too wide to tell: `more_needed` says about how many more
    clients, split like this campaign, would tell), "no comparison" (a group is empty).
    """

    treated: int
    treated_returned: int
    holdout: int
    holdout_returned: int
    treated_rate: float | None
    holdout_rate: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    smallest_effect: float
    outcome: Outcome
    more_needed: int | None

    @property
    def verdict(self) -> str:
        """The verdict in the issue's words, e.g. "inconclusive — about 340 more clients needed
        to tell"."""
        if self.outcome == "inconclusive":
            return f"inconclusive — about {self.more_needed} more clients needed to tell"
        return self.outcome

    @property
    def sentence(self) -> str:
        """The verdict as a sentence for people."""
        if self.outcome == "no comparison":
            return (
                "There is nothing to compare yet: it takes clients who got the campaign and "
                "clients held out."
            )
        assert self.treated_rate is not None and self.holdout_rate is not None
        assert self.ci_low is not None and self.ci_high is not None
        rates = (
            f"{_pct(self.treated_rate)} of the clients who got it came back, against "
            f"{_pct(self.holdout_rate)} of those held out"
        )
        interval = f"between {_points(self.ci_low)} and {_points(self.ci_high)} points"
        if self.outcome == "worked":
            return f"It worked: {rates}. The true lift is {interval}."
        if self.outcome == "did harm":
            return f"It seems to have done harm: {rates}. The true difference is {interval}."
        if self.outcome == "no evidence":
            return (
                f"No evidence it worked: {rates}. The true difference is {interval}, which "
                f"rules out a lift of {self.smallest_effect * 100:.1f} points or more."
            )
        return (
            f"Too early to tell: {rates}, but the true difference could be anywhere "
            f"{interval}. About {self.more_needed} more clients, split the same way, would tell."
        )


@dataclass(frozen=True)
class RevenueComparison:
    """Revenue per client in the window (in cents, every member counted, zeros included):
    the treated and holdout means and the difference with Welch's t-interval (None when a
    group has fewer than two clients or neither varies)."""

    treated_per_client: float | None
    holdout_per_client: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def _points(share: float) -> str:
    """A difference of shares in percentage points, signed: "+5.2", "-1.0"."""
    return f"{share * 100:+.1f}"


def _check_counts(name: str, total: int, returned: int) -> None:
    if total < 0 or returned < 0 or returned > total:
        raise ValueError(f"{name}: returned ({returned}) must be between 0 and total ({total})")


def compare(
    treated: int,
    treated_returned: int,
    holdout: int,
    holdout_returned: int,
    *,
    confidence: float = 0.95,
    smallest_effect: float = SMALLEST_EFFECT,
) -> Comparison:
    """Compare the return rates of treated and held-out clients (see `Comparison`)."""
    _check_counts("treated", treated, treated_returned)
    _check_counts("holdout", holdout, holdout_returned)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    if not 0 < smallest_effect < 1:
        raise ValueError(f"smallest_effect must be between 0 and 1, not {smallest_effect}")
    treated_rate = treated_returned / treated if treated else None
    holdout_rate = holdout_returned / holdout if holdout else None
    if treated_rate is None or holdout_rate is None:
        return Comparison(
            treated, treated_returned, holdout, holdout_returned, treated_rate, holdout_rate,
            None, None, None, confidence, smallest_effect, "no comparison", None,
        )  # fmt: skip
    # statsmodels is imported where it is used: importing it (with pandas) costs every command
    # of the CLI a second, and only the campaign results need it
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = confint_proportions_2indep(
        treated_returned,
        treated,
        holdout_returned,
        holdout,
        method="newcomb",
        compare="diff",
        alpha=1 - confidence,
    )
    ci_low, ci_high = float(low), float(high)
    difference = treated_rate - holdout_rate
    more_needed: int | None = None
    outcome: Outcome
    if ci_low > 0:
        outcome = "worked"
    elif ci_high < 0:
        outcome = "did harm"
    elif ci_high < smallest_effect:
        outcome = "no evidence"
    else:
        outcome = "inconclusive"
        more_needed = _more_needed(
            treated, holdout, holdout_rate, difference, (ci_high - ci_low) / 2,
            confidence=confidence, smallest_effect=smallest_effect,
        )  # fmt: skip
    return Comparison(
        treated, treated_returned, holdout, holdout_returned, treated_rate, holdout_rate,
        difference, ci_low, ci_high, confidence, smallest_effect, outcome, more_needed,
    )  # fmt: skip


def required_total(
    holdout_rate: float,
    holdout_share: float,
    *,
    confidence: float = 0.95,
    smallest_effect: float = SMALLEST_EFFECT,
    power: float = POWER,
) -> int:
    """Clients in all (treated + held out, `holdout_share` of them held out) for a two-sided
    test at 1 - `confidence` to detect a rise from `holdout_rate` to `holdout_rate` +
    `smallest_effect` with probability `power` (Cohen's h, normal approximation)."""
    if not 0 < holdout_share < 1:
        raise ValueError(f"holdout_share must be between 0 and 1, not {holdout_share}")
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    base = min(max(holdout_rate, 0.0), 1 - smallest_effect)
    effect = float(proportion_effectsize(base + smallest_effect, base))
    ratio = holdout_share / (1 - holdout_share)  # holdout per treated client
    treated = NormalIndPower().solve_power(
        effect_size=effect, alpha=1 - confidence, power=power, ratio=ratio
    )
    return math.ceil(float(treated) * (1 + ratio))


def _more_needed(
    treated: int,
    holdout: int,
    holdout_rate: float,
    difference: float,
    half_width: float,
    *,
    confidence: float,
    smallest_effect: float,
) -> int:
    """About how many more clients, split like this campaign, would tell: the larger of the
    standard sample size (`required_total`) less the clients there are, and the growth that
    would shrink this interval (its half-width falls as one over the square root of the
    clients) until it either clears 0 or rules out `smallest_effect`. At least 1."""
    total = treated + holdout
    by_power = required_total(
        holdout_rate, holdout / total, confidence=confidence, smallest_effect=smallest_effect
    )
    target = max(difference, smallest_effect - difference)
    by_width = total * (half_width / target) ** 2
    return max(1, math.ceil(max(by_power, by_width) - total))


def compare_revenue(
    treated_cents: Sequence[float], holdout_cents: Sequence[float], *, confidence: float = 0.95
) -> RevenueComparison:
    """Revenue per client, treated against held out (see `RevenueComparison`)."""
    treated_mean = sum(treated_cents) / len(treated_cents) if treated_cents else None
    holdout_mean = sum(holdout_cents) / len(holdout_cents) if holdout_cents else None
    if treated_mean is None or holdout_mean is None:
        return RevenueComparison(treated_mean, holdout_mean, None, None, None)
    difference = treated_mean - holdout_mean
    varies = len(set(treated_cents)) > 1 or len(set(holdout_cents)) > 1
    if len(treated_cents) < 2 or len(holdout_cents) < 2 or not varies:
        return RevenueComparison(treated_mean, holdout_mean, difference, None, None)
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    means = CompareMeans(
        DescrStatsW([float(x) for x in treated_cents]),
        DescrStatsW([float(x) for x in holdout_cents]),
    )
    low, high = means.tconfint_diff(alpha=1 - confidence, usevar="unequal")
    return RevenueComparison(treated_mean, holdout_mean, difference, float(low), float(high))
