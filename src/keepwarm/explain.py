"""Plain-English sentences built from numbers: what the owner and staff read.

Pure functions; every figure a sentence states comes from its arguments.
"""

from __future__ import annotations

import math

from keepwarm.domain.model import Rhythm


def money(cents: float, symbol: str = "$") -> str:
    """$1,234 for larger sums, $12.50 below a hundred; negative amounts keep their sign."""
    sign = "-" if cents < 0 else ""
    value = abs(cents) / 100
    if value >= 100:
        return f"{sign}{symbol}{value:,.0f}"
    return f"{sign}{symbol}{value:,.2f}"


def worth(yearly_cents: float, symbol: str = "$") -> str:
    """'worth about $2,040 a year': a client's yearly value (keepwarm.domain.values)."""
    return f"worth about {money(yearly_cents, symbol)} a year"


def at_risk(monthly_cents: float, symbol: str = "$") -> str:
    """'about $170 a month at risk'."""
    return f"about {money(monthly_cents, symbol)} a month at risk"


def chance_active(p_alive: float) -> str:
    """'41% chance still active'."""
    return f"{percent(p_alive)} chance still active"


def days(n: float) -> str:
    n = round(n)
    return "1 day" if n == 1 else f"{n:,} days"


def span(n: float) -> str:
    """A length of time as people say it: '40 days', '7 months', '2 years'."""
    if n < 60:
        return days(n)
    months = round(n / 30.4)
    return f"{months} months" if months < 24 else f"{round(n / 365.25)} years"


def every(gap_days: float) -> str:
    """'every 15 days', 'every 2 weeks', 'every 3 months', 'about once a year'."""
    if gap_days < 13:
        return "every " + days(gap_days)
    if gap_days < 60:
        weeks = round(gap_days / 7)
        return "every week" if weeks == 1 else f"every {weeks} weeks"
    if gap_days < 300:
        months = round(gap_days / 30.4)
        return "every month" if months == 1 else f"every {months} months"
    years = gap_days / 365.25
    return "about once a year" if years < 1.5 else f"about every {round(years)} years"


def percent(fraction: float) -> str:
    value = fraction * 100
    if 0 < value < 1:
        return "under 1%"
    if 99 < value < 100:
        return "over 99%"
    return f"{value:.0f}%"


def change(fraction: float) -> str:
    return f"{'+' if fraction >= 0 else ''}{fraction * 100:.0f}%"


def rhythm_sentence(
    *,
    activities: int,
    days_since_last: int | None,
    usual_gap_days: float | None,
    p_alive: float,
    at_risk_cents: float,
    trend_direction: int = 0,
    usage_change: float | None = None,
    visits_change: float | None = None,
    spend_change: float | None = None,
    symbol: str = "$",
    noun: str = "visit",
) -> str:
    """e.g. 'usually every 2 weeks; last visit 122 days ago (8x the usual gap); 4% chance
    still active; about $150 a month at risk'."""
    if activities == 0 or days_since_last is None:
        return f"no {noun}s recorded yet"
    parts: list[str] = []
    last = f"last {noun} {days(days_since_last)} ago" if days_since_last else f"last {noun} today"
    if activities == 1:
        parts.append(f"one {noun} so far; {last}")
    elif usual_gap_days and math.isfinite(usual_gap_days) and usual_gap_days > 0:
        parts.append("usually " + every(usual_gap_days))
        ratio = days_since_last / usual_gap_days
        parts.append(last + (f" ({ratio:.0f}x the usual gap)" if ratio >= 2 else ""))
    else:
        parts.append(last)
    parts.append(chance_active(p_alive))
    trend = trend_words(trend_direction, usage_change, visits_change, spend_change)
    if trend:
        parts.append(trend)
    if p_alive < 0.5 and at_risk_cents >= 100:
        parts.append(at_risk(at_risk_cents, symbol))
    return "; ".join(parts)


def rhythm_words(rhythm: Rhythm, symbol: str = "$") -> str:
    """A stored rhythm in words (`rhythm_sentence` of its own fields): worked out when shown,
    with the policy's currency symbol, not stored beside every client each morning."""
    return rhythm_sentence(
        activities=rhythm.activities,
        days_since_last=rhythm.days_since_last,
        usual_gap_days=rhythm.usual_gap_days,
        p_alive=rhythm.p_alive,
        at_risk_cents=rhythm.at_risk_cents,
        trend_direction=rhythm.trend_direction,
        usage_change=rhythm.usage_change,
        visits_change=rhythm.visits_change,
        spend_change=rhythm.spend_change,
        symbol=symbol,
    )


def trend_words(
    direction: int,
    usage_change: float | None,
    visits_change: float | None = None,
    spend_change: float | None = None,
) -> str | None:
    """'usage up 35% lately', or, when overall usage moved the other way, the part that did
    move in the flagged direction ('spend per visit up 13% lately'): never a false sentence."""
    if not direction:
        return None
    word = "up" if direction > 0 else "down"
    for label, value in (
        ("usage", usage_change),
        ("visits", visits_change),
        ("spend per visit", spend_change),
    ):
        if value is not None and math.isfinite(value) and value * direction > 0:
            return f"{label} {word} {change(value).lstrip('+-')} lately"
    return None
