"""A client's money and chances: one definition each, used by every surface.

Today's list, the client page, the Clients table, Reports, the CLI and the JSON API all take
these numbers from here (and their words from `keepwarm.explain.worth`, `at_risk` and
`chance_active`), so one client never shows two different values.

- yearly value: what the client is worth a year while they keep coming: twelve months of the
  rhythm's monthly value (their own rate when last seen x their expected spend per visit).
- money at risk: the monthly value times the chance they have gone (`1 - p_alive`), a month.
- chance still active: the rhythm's `p_alive`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray


class Numbers(Protocol):
    """What the definitions read: a stored rhythm (`keepwarm.domain.model.Rhythm`) or the same
    three columns of a listing row."""

    @property
    def monthly_value_cents(self) -> int: ...
    @property
    def at_risk_cents(self) -> int: ...
    @property
    def p_alive(self) -> float: ...


def yearly_value_cents(rhythm: Numbers) -> int:
    """Twelve months of the monthly value, in cents (never negative)."""
    return max(rhythm.monthly_value_cents * 12, 0)


def yearly_values_cents(monthly_value_cents: NDArray[np.int64]) -> NDArray[np.int64]:
    """`yearly_value_cents` of many clients at once, from their monthly values."""
    return np.maximum(monthly_value_cents * 12, 0)


def at_risk_cents(rhythm: Numbers) -> int:
    """The monthly value at risk if the client has gone, in cents a month."""
    return max(rhythm.at_risk_cents, 0)


def chance_active(rhythm: Numbers) -> float:
    """The chance the client is still active, 0..1."""
    return min(max(rhythm.p_alive, 0.0), 1.0)
