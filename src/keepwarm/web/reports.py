"""The Reports page: quota adherence, clients by status, revenue at risk, touches per week.

Each report is a bar chart drawn here as inline SVG (no script, no external library: the
geometry is computed in Python and the template only places shapes), with its numbers in a
table beside it. Staff see their own quota line; the owner sees everyone's.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from keepwarm.domain.errors import NotAllowed, NotFound
from keepwarm.domain.model import ImportKind
from keepwarm.explain import money
from keepwarm.services.daily_job import local_today
from keepwarm.services.exporting import export_csv
from keepwarm.services.policy import get_policy
from keepwarm.services.reports import Reports, build_reports
from keepwarm.web.auth import SignedIn, clock, engine_of
from keepwarm.web.feedback import nps_context
from keepwarm.web.render import render
from keepwarm.web.retention_pages import retention_context

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
EXPORTS = {kind.value: kind for kind in ImportKind}  # clients, activities, touches

PALETTE = ("#b4532a", "#3d7a4f", "#1f5fbf", "#8a5cb8", "#b08a1e", "#5f6b73", "#c0577b")
WIDTH, HEIGHT = 640, 290
PAIRED = 440  # a chart beside its table is drawn narrower, so its text stays legible
LEFT, RIGHT, TOP, BOTTOM = 70, 14, 16, 48


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    fill: str
    tip: str


@dataclass(frozen=True)
class Tick:
    at: float
    text: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    desc: str
    bars: tuple[Bar, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    x_label: str
    y_label: str
    legend: tuple[tuple[str, str], ...]  # (colour, name) when there are several series
    reference: Tick | None  # a dashed line (e.g. the quota) at this height
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def _nice_step(top: float, whole: bool) -> float:
    raw = max(top, 1e-9) / 4
    # int ** int is typed Any: a float for negative exponents, an int otherwise.
    magnitude: float = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return max(step, 1) if whole else step


def bar_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    x_label: str,
    y_label: str,
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
    whole: bool = True,
    reference: tuple[float, str] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """Bars for each category, one per series (grouped), on a scale from zero."""
    values = [v for _, vs in series for v in vs]
    high = max([*values, reference[0] if reference else 0, 1 if whole else 0.01])
    step = _nice_step(high, whole)
    top_value = step * math.ceil(high / step)
    plot_w = width - LEFT - RIGHT
    plot_h = height - TOP - BOTTOM
    base = height - BOTTOM

    def y_of(value: float) -> float:
        return round(base - plot_h * value / top_value, 1)

    group = plot_w / max(len(categories), 1)
    bar_w = group * 0.72 / max(len(series), 1)
    bars = []
    for s, (name, vs) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        for i, value in enumerate(vs):
            x = LEFT + i * group + group * 0.14 + s * bar_w
            y = y_of(max(value, 0))
            who = f"{name}, " if len(series) > 1 else ""
            tip = f"{who}{categories[i]}: {fmt(value)}"
            bars.append(Bar(round(x, 1), y, round(bar_w, 1), round(base - y, 1), colour, tip))
    y_ticks = []
    n = 0
    while n * step <= top_value + 1e-9:
        y_ticks.append(Tick(y_of(n * step), fmt(n * step)))
        n += 1
    widest = max((len(label) for label in categories), default=1) * 6.5 + 4
    every = max(1, math.ceil(widest / group))  # label every other bar when they would touch
    x_ticks = tuple(
        Tick(round(LEFT + (i + 0.5) * group, 1), label)
        for i, label in enumerate(categories)
        if (len(categories) - 1 - i) % every == 0
    )
    desc = "; ".join(
        f"{categories[i]}: "
        + ", ".join((f"{name} " if len(series) > 1 else "") + fmt(vs[i]) for name, vs in series)
        for i in range(len(categories))
    )
    return Chart(
        id=chart_id,
        title=title,
        desc=f"{y_label} by {x_label.lower()}. {desc}.",
        bars=tuple(bars),
        x_ticks=x_ticks,
        y_ticks=tuple(y_ticks),
        x_label=x_label,
        y_label=y_label,
        legend=tuple((PALETTE[i % len(PALETTE)], name) for i, (name, _) in enumerate(series))
        if len(series) > 1
        else (),
        reference=Tick(y_of(reference[0]), reference[1]) if reference else None,
        width=width,
        height=height,
        right=width - RIGHT,
        bottom=height - BOTTOM,
    )


def _week(monday: dt.date) -> str:
    return f"{monday.day} {monday:%b}"


def _month(first: dt.date | None) -> str:
    return f"{first:%b}" if first else "earlier"


def _charts(data: Reports, symbol: str) -> dict[str, Chart]:
    weeks = [_week(m) for m in data.quota_weeks]
    quota = bar_chart(
        "quota-chart",
        "Personal touches as a share of each weekly quota, last 8 weeks",
        weeks,
        [(row.staff, [round(100 * row.share(i)) for i in range(len(weeks))]) for row in data.quota],
        x_label="Week starting",
        y_label="Share of quota (%)",
        fmt=lambda v: f"{v:,.0f}%",
        reference=(100, "quota"),
    )
    status = bar_chart(
        "status-chart",
        "Clients by status",
        ["Active", "Prospect", "Cancelled", "Lapsing"],
        [
            (
                "Clients",
                [
                    data.status["active"],
                    data.status["prospect"],
                    data.status["cancelled"],
                    data.lapsing,
                ],
            )
        ],
        x_label="Status",
        y_label="Clients",
        width=PAIRED,
    )
    risk = bar_chart(
        "risk-chart",
        "Revenue at risk each month from lapsing clients, by the month they went quiet",
        [_month(m.month) for m in data.risk_months],
        [("At risk", [m.at_risk_cents for m in data.risk_months])],
        x_label="Month they went quiet",
        y_label=f"At risk a month ({symbol})",
        fmt=lambda v: money(v, symbol) if v else f"{symbol}0",
        width=PAIRED,
    )
    touches = bar_chart(
        "touches-chart",
        "Personal touches per week, last 12 weeks",
        [_week(m) for m, _ in data.touch_weeks],
        [("Touches", [count for _, count in data.touch_weeks])],
        x_label="Week starting",
        y_label="Personal touches",
        width=PAIRED,
    )
    return {"quota": quota, "status": status, "risk": risk, "touches": touches}


@router.get("/reports")
def reports_page(request: Request, session: SignedIn) -> Response:
    engine = engine_of(request)
    policy = get_policy(engine)
    today = local_today(policy, clock())
    user = session.user
    data = build_reports(engine, today, staff_name=None if user.is_owner else (user.staff or ""))
    symbol = policy.currency_symbol
    context = {
        "r": data,
        "charts": _charts(data, symbol),
        "week": _week,
        "month": _month,
        "money": lambda cents: money(cents, symbol) if cents else f"{symbol}0",
        "exports": tuple(EXPORTS) if user.is_owner else (),
        **nps_context(request, user),  # feedback (web/feedback.py)
        **retention_context(request, user),  # web/retention_pages.py
    }
    return render(request, "reports.html", context)


@router.get("/reports/export/{name}")
def export_download(request: Request, name: str, session: SignedIn) -> Response:
    """The owner's download of every client, activity or touch as CSV: the very bytes
    `keepwarm export KIND FILE` writes (keepwarm.services.exporting)."""
    kind = EXPORTS.get(name.removesuffix(".csv"))
    if kind is None or not name.endswith(".csv"):
        raise NotFound(f"no export called {name!r}: clients.csv, activities.csv or touches.csv")
    if not session.user.is_owner:
        raise NotAllowed("only the owner can download the practice's data")
    folder = Path(tempfile.mkdtemp(prefix="keepwarm-export-"))
    try:
        rows = export_csv(engine_of(request), kind, folder / name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    log.info("%s downloaded %d %s", session.user.email, rows, kind.value)
    return FileResponse(
        folder / name,
        media_type="text/csv; charset=utf-8",
        filename=f"keepwarm-{kind.value}-{clock().date().isoformat()}.csv",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
