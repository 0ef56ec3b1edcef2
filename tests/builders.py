"""Builders for domain values the tests need, each defined once: a test names only the fields
it is about."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from keepwarm.domain.model import Rhythm

_RHYTHM = Rhythm(
    as_of=dt.date(2026, 11, 24),
    activities=20,
    last_activity=dt.date(2026, 7, 24),
    days_since_last=123,
    usual_gap_days=15.0,
    silence_ratio=8.2,
    p_alive=0.04,
    expected_30=0.1,
    expected_90=0.3,
    expected_365=1.0,
    expected_spend_cents=7500,
    monthly_value_cents=15000,
    at_risk_cents=15000,
    clv_cents=20000,
    attention_after=dt.date(2026, 8, 20),
    trend_direction=0,
    usage_change=None,
    visits_change=None,
    spend_change=None,
    trend_p_value=None,
)


def rhythm(**changes: object) -> Rhythm:
    """A learned rhythm: a fortnightly client silent for 123 days (lapsing), with the given
    fields changed."""
    return replace(_RHYTHM, **changes)
