"""Which weekly quota and daily capacity apply to a member of staff: decided here, once.

A member's own setting wins; without one, the policy's default applies. Every page and command
that shows a quota or a capacity takes it from `allowance`, and says which of the two it is.
Past weeks are judged against the quota in force that week (`quota_in_force`), and not at all
before the member joined.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from keepwarm.domain.model import Staff
from keepwarm.domain.policy import Policy

OWN = "own"
DEFAULT = "practice default"


@dataclass(frozen=True)
class Allowance:
    """What applies to one member: the weekly quota and daily capacity, and where each is from."""

    weekly_quota: int
    quota_source: str
    daily_capacity: int
    capacity_source: str

    def describe(self) -> str:
        """'quota 2 a week (practice default); capacity 5 a day (own)'."""
        return (
            f"quota {self.weekly_quota} a week ({self.quota_source}); "
            f"capacity {self.daily_capacity} a day ({self.capacity_source})"
        )


def allowance(member: Staff, policy: Policy) -> Allowance:
    """The member's own quota and capacity where set, else the policy's defaults."""
    own_quota, own_capacity = member.weekly_quota, member.daily_capacity
    return Allowance(
        weekly_quota=policy.weekly_quota if own_quota is None else own_quota,
        quota_source=DEFAULT if own_quota is None else OWN,
        daily_capacity=policy.daily_capacity if own_capacity is None else own_capacity,
        capacity_source=DEFAULT if own_capacity is None else OWN,
    )


def week_start(day: dt.date) -> dt.date:
    """The Monday of the week (Monday to Sunday) that holds `day`."""
    return day - dt.timedelta(days=day.weekday())


def judged(joined_on: dt.date | None, monday: dt.date) -> bool:
    """Whether a week is judged for a member who joined on `joined_on`: only whole weeks after
    joining (a member who joined on a Wednesday is judged from the next Monday)."""
    return joined_on is None or joined_on <= monday


def quota_in_force(history: Sequence[tuple[dt.date, int]], monday: dt.date, current: int) -> int:
    """The quota that applied in the week starting `monday`: the last change made on or before
    that week's Sunday (a change counts from the week it was made in); `current` without any
    recorded change by then."""
    sunday = monday + dt.timedelta(days=6)
    in_force = [quota for since, quota in sorted(history) if since <= sunday]
    return in_force[-1] if in_force else current
