"""Campaign results in the browser (the owner's): the section on a campaign's page, its own
page (/campaigns/{name}/results) and campaigns of one kind pooled (/campaigns/kind/{kind}).

Everything shown comes from `services.campaign_results.as_json` — the very dictionary
`keepwarm campaign results --format json` prints — so the numbers agree. The difference and
its interval are drawn as inline SVG whose geometry is computed here (no script: CSP).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from keepwarm.domain.errors import NotFound
from keepwarm.services.campaign_results import as_json, pooled, results
from keepwarm.services.users import Session
from keepwarm.web.auth import business_today, engine_of, only_the_owner, signed_in
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)

KINDS = {
    "win_back": "Win-back",
    "holiday": "Holiday cards",
    "welcome": "Welcome",
    "custom": "Custom",
}
WIDTH, HEIGHT, LEFT, RIGHT, AXIS = 520, 104, 24, 496, 64


def _owner(session: Annotated[Session, Depends(signed_in)]) -> Session:
    only_the_owner(session.user, "see campaign results")
    return session


CampaignOwner = Annotated[Session, Depends(_owner)]


@dataclass(frozen=True)
class Tick:
    at: float
    text: str


@dataclass(frozen=True)
class IntervalChart:
    """A point (the difference) with an error bar (its interval) against a zero line, in
    percentage points; x positions in SVG units."""

    width: int
    height: int
    left: int
    right: int
    axis: int
    zero: float
    point: float
    low: float
    high: float
    ticks: tuple[Tick, ...]
    desc: str


def interval_chart(data: dict[str, Any]) -> IntervalChart | None:
    """The chart of a result (as_json's dict); None when there is nothing to compare."""
    low, high, diff = data["ci_low"], data["ci_high"], data["difference"]
    if low is None or high is None or diff is None:
        return None
    # A symmetric scale around 0 in whole steps of 5 points, wide enough for the interval.
    reach = max(abs(low), abs(high), data["smallest_effect"]) * 100
    step = 5 if reach <= 25 else 10 if reach <= 50 else 25
    edge = step * math.ceil(reach / step + 0.01)

    def x(share: float) -> float:
        return round(float(LEFT + (share * 100 + edge) / (2 * edge) * (RIGHT - LEFT)), 1)

    ticks = tuple(Tick(x(v / 100), f"{v:+d}" if v else "0") for v in range(-edge, edge + 1, step))
    desc = (
        f"Difference {diff * 100:+.1f} points, 95% interval {low * 100:+.1f} to "
        f"{high * 100:+.1f} points."
    )
    return IntervalChart(
        WIDTH, HEIGHT, LEFT, RIGHT, AXIS, x(0), x(diff), x(low), x(high), ticks, desc
    )


def section_context(engine: Engine, name: str, today: dt.date) -> dict[str, Any]:
    """What the results section of campaign `name`'s page needs (`campaign_results.html`):
    `results` (as_json) and `chart`. NotFound if there is no such campaign."""
    data = as_json(results(engine, name, today=today))
    return {"results": data, "chart": interval_chart(data)}


@router.get("/campaigns/kind/{kind}")
def pooled_page(request: Request, kind: str, session: CampaignOwner) -> Response:
    if kind not in KINDS:
        raise NotFound(f"no kind of campaign called {kind!r}: {', '.join(KINDS)}")
    data = as_json(pooled(engine_of(request), kind, today=business_today(request)))
    context = {"results": data, "chart": interval_chart(data), "kind_words": KINDS[kind]}
    return render(request, "campaign_pooled.html", context)


@router.get("/campaigns/{name}/results")
def results_page(request: Request, name: str, session: CampaignOwner) -> Response:
    context = section_context(engine_of(request), name, business_today(request))
    return render(request, "campaign_results_page.html", {"name": name, **context})
