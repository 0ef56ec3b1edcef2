"""Did a campaign work? Its treated and held-out members, how many of each came back within
the return window, revenue per client, and the verdict (keepwarm.stats.attribution).

Intention to treat: members are compared as assigned at the first wave (campaign_members.arm).
A treated client whose message bounced, who unsubscribed before a later wave or whose letter
was never posted still counts as treated: dropping them would compare the reachable against
everyone and flatter the campaign.

The window starts on the day the first wave actually went out: the business's local date of the
earliest `campaign_waves.sent_at`, not the date the wave was planned for (a wave sent three days
late must not count the visits before it as returns; one sent early with "Send wave now" must
count those after it). A member, treated or held out alike, came back when they have an activity
dated within the window: sent < activity.date <= sent + return_days (`window`, the one
definition). Revenue per client is the sum of those activities' amounts, every member counted
(zeros included). Until the window closes the results are "so far".

The browser and `keepwarm campaign results --format json` both show `as_json(...)` of the same
result, so the numbers agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from keepwarm.domain.errors import NotFound
from keepwarm.domain.policy import Policy
from keepwarm.stats.attribution import Comparison, RevenueComparison, compare, compare_revenue
from keepwarm.store import reading
from keepwarm.store.policy import load_policy_data
from keepwarm.store.tables import activities, campaign_members, campaign_waves, campaigns


@dataclass(frozen=True)
class CampaignResults:
    """One campaign's results as of `today` (see the module docstring). `first_wave` is the
    day the first wave went out (its send, not its planned date); None until a wave has gone
    (then there are no members and nothing to compare)."""

    name: str
    kind: str
    first_wave: dt.date | None
    window_closes: dt.date | None
    window_open: bool
    comparison: Comparison
    revenue: RevenueComparison

    @property
    def status(self) -> str:
        """Where the campaign's results stand, in words."""
        if self.first_wave is None:
            return "No wave has gone yet: nothing to compare."
        assert self.window_closes is not None
        closes = f"{self.window_closes.day} {self.window_closes:%B %Y}"
        if self.window_open:
            return f"Results so far: the window closes on {closes}."
        return f"Final results: the window closed on {closes}."


@dataclass(frozen=True)
class PooledResults:
    """Campaigns of one kind taken together: their counts summed (see `pooled`)."""

    kind: str
    campaigns: tuple[CampaignResults, ...]
    window_closes: dt.date | None  # the last window to close
    window_open: bool  # any window still open
    comparison: Comparison
    revenue: RevenueComparison


@dataclass(frozen=True)
class _Member:
    arm: str
    returned: bool
    revenue_cents: int


def window(sent: dt.date, return_days: int) -> tuple[dt.date, dt.date]:
    """The return window after a first wave that went out on `sent`: a return is an activity
    dated after the first bound and on or before the second."""
    return sent, sent + dt.timedelta(days=return_days)


def first_sent(conn: Connection, campaign_id: int) -> dt.date | None:
    """The business's local date on which the campaign's first wave went out (None: none has).
    SQLite keeps no time zone: its stored times are UTC."""
    at = conn.execute(
        select(func.min(campaign_waves.c.sent_at)).where(
            campaign_waves.c.campaign_id == campaign_id
        )
    ).scalar_one_or_none()
    if at is None:
        return None
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    data = load_policy_data(conn)
    policy = Policy() if data is None else Policy.from_dict(data)
    return policy.local_date(at)


def _members(conn: Connection, campaign_id: int, after: dt.date, closes: dt.date) -> list[_Member]:
    in_window = and_(
        activities.c.client_id == campaign_members.c.client_id,
        activities.c.date > after,
        activities.c.date <= closes,
    )
    rows = conn.execute(
        select(
            campaign_members.c.arm,
            func.count(activities.c.id).label("visits"),
            func.coalesce(func.sum(activities.c.amount_cents), 0).label("cents"),
        )
        .select_from(campaign_members.outerjoin(activities, in_window))
        .where(campaign_members.c.campaign_id == campaign_id)
        .group_by(campaign_members.c.id, campaign_members.c.arm)
    )
    return [_Member(r.arm, r.visits > 0, int(r.cents)) for r in rows]


def _results(
    conn: Connection, campaign: Any, today: dt.date
) -> tuple[CampaignResults, list[_Member]]:
    first = first_sent(conn, campaign.id)
    if first is None:
        members: list[_Member] = []
        closes = None
    else:
        after, closes = window(first, campaign.return_days)
        members = _members(conn, campaign.id, after, closes)
    result = CampaignResults(
        name=campaign.name,
        kind=campaign.kind,
        first_wave=first,
        window_closes=closes,
        window_open=closes is not None and today < closes,
        comparison=_compare(members),
        revenue=_revenue(members),
    )
    return result, members


def _compare(members: list[_Member]) -> Comparison:
    treated = [m for m in members if m.arm == "treated"]
    holdout = [m for m in members if m.arm == "holdout"]
    return compare(
        len(treated),
        sum(m.returned for m in treated),
        len(holdout),
        sum(m.returned for m in holdout),
    )


def _revenue(members: list[_Member]) -> RevenueComparison:
    return compare_revenue(
        [m.revenue_cents for m in members if m.arm == "treated"],
        [m.revenue_cents for m in members if m.arm == "holdout"],
    )


def results(engine: Engine, name: str, *, today: dt.date) -> CampaignResults:
    """The results of the campaign called `name` as of `today`. NotFound if there is none."""
    with reading(engine) as conn:
        campaign = conn.execute(select(campaigns).where(campaigns.c.name == name)).first()
        if campaign is None:
            raise NotFound(f"no campaign called {name!r} (see `keepwarm campaign list`)")
        return _results(conn, campaign, today)[0]


def pooled(engine: Engine, kind: str, *, today: dt.date) -> PooledResults:
    """Every campaign of `kind` (e.g. win_back) taken together: treated and held-out members
    and returns summed over the campaigns, revenue over all their members.

    The plain sum is fair when the campaigns held out about the same share and their audiences
    came back at similar rates; when they did not, a campaign with a big holdout weighs more on
    one side than the other and the pooled difference can mislead (Simpson's paradox). Each
    campaign's own results are listed with the pooled ones for that reason."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(campaigns).where(campaigns.c.kind == kind).order_by(campaigns.c.name)
        ).all()
        done = [_results(conn, row, today) for row in rows]
    members = [m for _, ms in done for m in ms]
    closing = [r.window_closes for r, _ in done if r.window_closes is not None]
    return PooledResults(
        kind=kind,
        campaigns=tuple(r for r, _ in done),
        window_closes=max(closing) if closing else None,
        window_open=any(r.window_open for r, _ in done),
        comparison=_compare(members),
        revenue=_revenue(members),
    )


def _comparison_json(c: Comparison, revenue: RevenueComparison) -> dict[str, Any]:
    return {
        "treated": c.treated,
        "holdout": c.holdout,
        "treated_returned": c.treated_returned,
        "holdout_returned": c.holdout_returned,
        "treated_rate": c.treated_rate,
        "holdout_rate": c.holdout_rate,
        "difference": c.difference,
        "ci_low": c.ci_low,
        "ci_high": c.ci_high,
        "confidence": c.confidence,
        "smallest_effect": c.smallest_effect,
        "verdict": c.verdict,
        "outcome": c.outcome,
        "more_needed": c.more_needed,
        "sentence": c.sentence,
        "revenue_per_client_treated_cents": revenue.treated_per_client,
        "revenue_per_client_holdout_cents": revenue.holdout_per_client,
        "revenue_difference_cents": revenue.difference,
        "revenue_ci_low_cents": revenue.ci_low,
        "revenue_ci_high_cents": revenue.ci_high,
    }


def as_json(result: CampaignResults | PooledResults) -> dict[str, Any]:
    """The results as JSON-ready values: what the CLI prints and the page shows."""
    data = _comparison_json(result.comparison, result.revenue)
    closes = result.window_closes.isoformat() if result.window_closes else None
    data.update(window_closes=closes, window_open=result.window_open)
    if isinstance(result, PooledResults):
        data.update(kind=result.kind, campaigns=[as_json(r) for r in result.campaigns])
    else:
        first = result.first_wave.isoformat() if result.first_wave else None
        data.update(name=result.name, kind=result.kind, first_wave=first, status=result.status)
    return data
