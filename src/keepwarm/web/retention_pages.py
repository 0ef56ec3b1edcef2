"""Retention by member of staff on the Reports page (its section, `reports_retention.html`)
and its CSV download. The numbers come from keepwarm.services.retention, the very function
`keepwarm report retention` prints, so page, CSV and command line agree. Staff see their own
row; the owner sees everyone's."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import User
from keepwarm.services import retention as service
from keepwarm.services.daily_job import local_today
from keepwarm.services.policy import get_policy
from keepwarm.web.auth import SignedIn, clock, engine_of

router = APIRouter(include_in_schema=False)


def _period(request: Request) -> tuple[dt.date, dt.date]:
    """The period of ?from=&to= (default: the last 90 days up to today)."""
    today = local_today(get_policy(engine_of(request)), clock())
    start, end = service.default_period(today)
    for key in ("from", "to"):
        raw = request.query_params.get(key, "").strip()
        if not raw:
            continue
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(f"{key}: expected a date such as 2026-03-01") from None
        if key == "from":
            start = day
        else:
            end = day
    return start, end


def _retention(request: Request, user: User) -> service.Retention:
    start, end = _period(request)
    who = None if user.is_owner else (user.staff or "")
    return service.retention(engine_of(request), start, end, staff_name=who)


def retention_context(request: Request, user: User) -> dict[str, object]:
    """The Reports page's retention section: the numbers and a bar chart per member."""
    from keepwarm.web.reports import bar_chart  # the Reports page's own chart

    found = _retention(request, user)
    names = [r.staff for r in found.rows]
    chart = bar_chart(
        "retention-chart",
        "Clients kept and weeks the quota was met, by member of staff",
        names,
        [
            ("Retention (%)", [r.retention_pct or 0 for r in found.rows]),
            ("Weeks quota met (%)", [r.quota_pct or 0 for r in found.rows]),
        ],
        x_label="Member of staff",
        y_label="Per cent",
        fmt=lambda v: f"{v:,.0f}%",
    )
    query = f"from={found.start.isoformat()}&to={found.end.isoformat()}"
    return {
        "retention": found,
        "retention_chart": chart,
        "retention_csv": f"/reports/retention.csv?{query}",
        "lapsed_days": service.LAPSED_DAYS,
        "return_days": service.RETURN_DAYS,
    }


@router.get("/reports/retention.csv")
def retention_download(request: Request, session: SignedIn) -> Response:
    """The retention rows as CSV: the bytes `keepwarm report retention --format csv` prints."""
    found = _retention(request, session.user)
    name = f"keepwarm-retention-{found.start.isoformat()}-{found.end.isoformat()}.csv"
    return Response(
        found.csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
