"""The Reports page: numbers from a known scenario (built through the import path) appear in
the tables, and every report has its SVG chart."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

from conftest import NOW, TODAY
from keepwarm.explain import money
from keepwarm.services.policy import get_policy
from keepwarm.services.rhythms import client_rhythm, compute_rhythms
from keepwarm.store.tables import staff
from test_web_import import forget_uploads, imported  # noqa: F401 (a fixture)

CLIENTS = (
    "id,name,status,owner\r\n"
    "C1,Ann Smith,active,Ana\r\n"
    "C2,Bob Jones,active,Ben\r\n"
    "C3,Cleo Park,prospect,Ana\r\n"
    "C4,Dan Lee,cancelled,Ben\r\n"
    "C5,Eve Moss,active,Ana\r\n"
)
# TODAY is Tuesday 24 Nov 2026: this week starts on Monday 23 Nov.
TOUCHES = (
    "client,date,channel,staff\r\n"
    "C1,2026-11-23,call,Ana\r\n"
    "C3,2026-11-24,email,Ana\r\n"
    "C5,2026-11-24,newsletter,Ana\r\n"  # bulk: never counts
    "C2,2026-11-24,card,Ben\r\n"
    "C2,2026-11-17,call,Ana\r\n"
    "C1,2026-10-05,visit,Ben\r\n"
    "C5,2026-06-01,call,Ana\r\n"  # older than twelve weeks
)


def _activities() -> str:
    rows = ["client,date,amount"]
    for n in range(16):  # C1 and C4: monthly until March, then silence
        for client in ("C1", "C4"):
            rows.append(f"{client},{2025 + n // 12}-{1 + n % 12:02d}-01,120.00")
    for n in range(0, 330, 14):  # C2: every two weeks, up to last week
        day = TODAY.toordinal() - 330 + n
        rows.append(f"C2,{TODAY.fromordinal(day).isoformat()},40.00")
    for n in range(12):  # C5: monthly last year, silent since
        rows.append(f"C5,2025-{1 + n:02d}-10,300.00")
    return "\r\n".join(rows) + "\r\n"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("keepwarm.web.imports.clock", lambda: NOW)
    monkeypatch.setattr("keepwarm.web.reports.clock", lambda: NOW)


@pytest.fixture
def practice(web, engine, db_url):  # type: ignore[no-untyped-def]
    owner = web()
    imported(owner, CLIENTS)
    imported(owner, TOUCHES, kind="touches", name="touches.csv")
    imported(owner, _activities(), kind="activities", name="visits.csv")
    compute_rhythms(engine, as_of=TODAY, now=NOW)
    with engine.begin() as conn:  # the team has been here all year: every week is judged
        conn.execute(update(staff).values(joined_on=dt.date(2026, 1, 5)))
    return owner


def _cell(html: str, cell_id: str) -> str:
    found = re.search(rf'id="{cell_id}">([^<]*)<', html)
    assert found, cell_id
    return found.group(1)


def _row(html: str, table_id: str, header: str) -> list[str]:
    table = html[html.index(f'id="{table_id}"') :]
    table = table[: table.index("</table>")]
    found = re.search(rf"<th scope=\"row\">{re.escape(header)}</th>(.*?)</tr>", table, re.S)
    assert found, (table_id, header)
    return re.findall(r"<td[^>]*>([^<]*)</td>", found.group(1))


def test_reports_show_the_scenarios_numbers(practice, engine, web) -> None:  # type: ignore[no-untyped-def]
    page = practice.get("/reports")
    assert page.status_code == 200
    html = page.text

    # (a) quota adherence: personal touches per staff member per week, last 8 weeks.
    ana = _row(html, "quota-table", "Ana")
    assert len(ana) == 9  # eight weeks and the weeks met
    assert ana[-2] == "2 / 2" and ana[-3] == "1 / 2" and ana[-4] == "0 / 2"
    assert ana[-1] == "1 of 8"  # met this week already: the week counts
    ben = _row(html, "quota-table", "Ben")
    assert ben[-2] == "1 / 2"
    assert ben[-1] == "0 of 7"  # this week is still going: not counted as missed yet
    assert ben[:-1].count("1 / 2") == 2  # this week and the week of 5 October
    assert '<th scope="col">23 Nov</th>' in html and '<th scope="col">5 Oct</th>' in html

    # (b) clients by status, and how many are lapsing by their stored rhythms.
    policy = get_policy(engine)
    rhythms = {c: client_rhythm(engine, c) for c in ("C1", "C2", "C3", "C4", "C5")}
    status = {"C1": "active", "C2": "active", "C3": "prospect", "C4": "cancelled", "C5": "active"}
    lapsing = [
        c
        for c, r in rhythms.items()
        if r is not None
        and r.attention_after is not None
        and r.attention_after <= TODAY
        and r.activities >= policy.lapsing_min_activities
        and status[c] != "cancelled"
    ]
    assert "C1" in lapsing and "C5" in lapsing and "C2" not in lapsing  # the scenario holds
    assert rhythms["C4"].attention_after <= TODAY  # type: ignore[union-attr]  # but cancelled
    assert _cell(html, "n-active") == "3"
    assert _cell(html, "n-prospect") == "1"
    assert _cell(html, "n-cancelled") == "1"
    assert _cell(html, "n-lapsing") == str(len(lapsing))

    # (c) revenue at risk a month from lapsing clients, the biggest first, linked.
    at_risk = sum(rhythms[c].at_risk_cents for c in lapsing)  # type: ignore[union-attr]
    assert at_risk > 0
    assert _cell(html, "risk-total") == money(at_risk)
    top = html[html.index('id="top-risk"') :]
    links = re.findall(r'href="/clients/([^"]+)"', top[: top.index("</table>")])
    assert sorted(links) == sorted(lapsing)
    biggest = max(lapsing, key=lambda c: rhythms[c].at_risk_cents)  # type: ignore[union-attr]
    assert links[0] == biggest
    months = html[html.index('id="risk-table"') :]
    months = months[: months.index("</table>")]
    shown = re.findall(r'<td class="num">([^<]*)</td><td class="num">', months)
    assert sum(int(n) for n in shown) == len(lapsing)

    # (d) personal touches per week, last 12 weeks (the newsletter does not count).
    assert _row(html, "touches-table", "23 Nov") == ["3"]
    assert _row(html, "touches-table", "16 Nov") == ["1"]
    assert _row(html, "touches-table", "5 Oct") == ["1"]
    assert "1 Jun" not in html

    # Every report has an accessible SVG bar chart.
    for chart in ("quota-chart", "status-chart", "risk-chart", "touches-chart"):
        svg = html[html.index(f'<svg class="chart report-chart" id="{chart}"') :]
        svg = svg[: svg.index("</svg>")]
        assert f'<title id="{chart}-title">' in svg and f'<desc id="{chart}-desc">' in svg
        assert 'class="axis-label"' in svg
        assert svg.count("<rect ") >= 4
    touches = html[html.index('id="touches-chart"') :]
    touches = touches[: touches.index("</svg>")]
    assert touches.count("<rect ") == 12
    assert "<title>23 Nov: 3</title>" in touches
    assert "style=" not in html and "<script>" not in html

    # Staff open the reports too, with their own quota line only.
    ben = web("ben@example.com", role="staff", staff="Ben")
    page = ben.get("/reports")
    assert page.status_code == 200
    assert _row(page.text, "quota-table", "Ben")[-2] == "1 / 2"
    assert 'data-staff="Ana"' not in page.text
    assert _cell(page.text, "n-active") == "3"


def test_anonymous_visitors_are_sent_to_sign_in(web, web_app) -> None:  # type: ignore[no-untyped-def]
    from web_support import Web

    web()  # there is a user, so the app asks for a sign-in (not the first-run setup)
    answer = Web(web_app).get("/reports")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Freports"


def test_reports_on_an_empty_database(web) -> None:  # type: ignore[no-untyped-def]
    page = web().get("/reports")
    assert page.status_code == 200
    assert _cell(page.text, "n-lapsing") == "0"
    assert "rhythms are learned by the daily plan" in page.text


def test_each_week_is_judged_by_the_quota_then_and_none_before_joining(web, engine) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.services.staff import add_staff, update_staff

    owner = web()
    kim = add_staff(
        engine, "Kim", email=None, weekly_quota=2, joined_on=dt.date(2026, 9, 1), now=NOW
    )
    # Kim's quota went from 2 to 5 on Tuesday 10 November: from that week on, 5.
    changed = dt.datetime(2026, 11, 10, 9, tzinfo=dt.UTC)
    update_staff(engine, kim.id, email=None, weekly_quota=5, active=True, now=changed)
    # Lee joined on Monday 16 November (last week), following the practice's quota (2).
    add_staff(engine, "Lee", email=None, joined_on=dt.date(2026, 11, 16), now=NOW)

    html = owner.get("/reports").text
    assert '<th scope="col">5 Oct</th>' in html  # the eight weeks: 5 Oct .. 23 Nov
    kim_row = _row(html, "quota-table", "Kim")
    assert kim_row[:5] == ["0 / 2"] * 5  # 5 Oct .. 2 Nov: judged against 2
    assert kim_row[5:8] == ["0 / 5"] * 3  # 9 Nov .. 23 Nov: against 5
    assert kim_row[-1] == "0 of 7"  # this week is still going
    lee_row = _row(html, "quota-table", "Lee")
    assert lee_row[:6] == ["—"] * 6  # before Lee joined: not judged
    assert lee_row[6:8] == ["0 / 2", "0 / 2"]
    assert lee_row[-1] == "0 of 1"  # last week only; this week is still going


# --- on a phone (headless Chromium) -----------------------------------------------------------


@pytest.mark.slow
def test_reports_fit_a_phone_without_sideways_scrolling(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """At 390 x 844 the page never scrolls sideways: each chart scales to the width (its
    viewBox, width 100%) and a wide table scrolls inside its own box."""
    from browser_support import OWNER, PHONE, chromium, demo_site, screenshot, sign_in

    with demo_site(tmp_path_factory) as site, chromium() as browser:
        page = browser.new_context(viewport=PHONE).new_page()
        sign_in(page, site.url, OWNER)
        page.goto(site.url + "/reports")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        charts = page.locator("svg.report-chart").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().right)"
        )
        boxes = page.locator(".report-pair > table, .table-scroll").evaluate_all(
            "els => els.map(e => [e.getBoundingClientRect().right, getComputedStyle(e).overflowX])"
        )
        screenshot(page, "reports-phone-fit")
    assert width <= PHONE["width"]
    assert len(charts) >= 5 and all(right <= PHONE["width"] for right in charts)
    assert boxes and all(right <= PHONE["width"] and o == "auto" for right, o in boxes)
