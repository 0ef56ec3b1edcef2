"""The net promoter score: the one definition every report uses (feedback, retention)."""

from __future__ import annotations

from collections.abc import Sequence


def net_promoter_score(scores: Sequence[int]) -> int | None:
    """% of answers 9-10 (promoters) minus % of answers 0-6 (detractors), rounded to a whole
    number (-100 to 100); None without answers."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100 * (promoters - detractors) / len(scores))
