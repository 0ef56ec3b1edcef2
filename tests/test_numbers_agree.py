"""Numbers agree: a client's yearly value, money at risk and chance of being active read the
same on Today, the client page, Reports, the JSON API and the CLI (one definition each, in
keepwarm.domain.values, in the words of keepwarm.explain); and the Clients filter "Gone quiet"
lists exactly the clients Reports counts as lapsing. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm import explain
from keepwarm.config import Settings
from keepwarm.domain import values
from keepwarm.domain.model import ImportKind
from keepwarm.ingest.values import format_amount
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.policy import get_policy
from keepwarm.services.rhythms import client_rhythm, compute_rhythms
from keepwarm.services.users import add_user, create_token
from test_web_api import Api
from test_web_reports import CLIENTS, TOUCHES, _activities
from web_support import PASSWORD

ALL = ("C1", "C2", "C3", "C4", "C5")


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("auth", "pages", "api", "reports", "clients", "imports"):
        monkeypatch.setattr(f"keepwarm.web.{module}.clock", lambda: NOW, raising=False)


def _practice(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    """The Reports scenario (C1 and C5 gone quiet, C2 regular, C4 cancelled), with its rhythms
    and today's plan."""
    for kind, text in (
        (ImportKind.CLIENTS, CLIENTS),
        (ImportKind.TOUCHES, TOUCHES),
        (ImportKind.ACTIVITIES, _activities()),
    ):
        path = folder / f"{kind.value}.csv"
        path.write_text(text)
        report = import_file(engine, settings, kind, path, today=TODAY, now=NOW)
        assert report.ok, report.problems
    compute_rhythms(engine, as_of=TODAY, now=NOW)
    run_daily(engine, settings, day=TODAY, now=NOW)


def _between(html: str, start: str, end: str) -> str:
    at = html.index(start)
    return html[at : html.index(end, at)]


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, element_id
    return found.group(1)


def test_a_clients_numbers_read_the_same_everywhere(  # type: ignore[no-untyped-def]
    web, web_app, engine, settings, cli, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    symbol = get_policy(engine).currency_symbol
    rhythm = client_rhythm(engine, "C5")
    assert rhythm is not None
    yearly = values.yearly_value_cents(rhythm)
    at_risk = values.at_risk_cents(rhythm)
    chance = values.chance_active(rhythm)
    assert yearly > 0 and at_risk > 0 and chance < 0.5  # C5 has gone quiet: money at risk
    worth_words = explain.worth(yearly, symbol)  # "worth about $3,600 a year"
    risk_words = explain.at_risk(at_risk, symbol)  # "about $150 a month at risk"
    chance_words = explain.chance_active(chance)  # "4% chance still active"

    owner = web()
    # Today: the action's why line says what the client is worth a year.
    today = owner.get("/today").text
    action = _between(today, 'href="/clients/C5"', 'class="do"')
    assert worth_words in action  # the why line
    assert chance_words in action and risk_words in action  # the reason, in words
    # The client page: the same three numbers, in the same words.
    page = owner.get("/clients/C5").text
    assert _text(page, "yearly-value") == explain.money(yearly, symbol)
    assert _text(page, "at-risk") == risk_words
    assert _text(page, "chance-active").startswith(explain.percent(chance))
    assert chance_words in page and risk_words in page  # the rhythm in words says the same
    # Reports: the money at risk in the top list.
    reports = owner.get("/reports").text
    top = _between(reports, 'id="top-risk"', "</table>")
    assert explain.money(at_risk, symbol) in _between(top, 'href="/clients/C5"', "</tr>")
    # The Clients list: the Value column is the yearly value.
    listed = owner.get("/clients?q=C5").text
    assert explain.money(yearly, symbol) in _between(listed, 'href="/clients/C5"', "</tr>")

    # The JSON API: the client and their row in the list.
    user = add_user(engine, "api@example.com", PASSWORD, "owner", now=NOW)
    api = Api(web_app, create_token(engine, user.id, "test", now=NOW))
    detail = api.get("/api/v1/clients/C5").json()
    assert detail["yearly_value_cents"] == yearly
    assert detail["at_risk_cents"] == at_risk
    assert detail["p_alive"] == pytest.approx(chance)
    (row,) = api.get("/api/v1/clients", params={"q": "C5"}).json()["clients"]
    assert (row["yearly_value_cents"], row["at_risk_cents"]) == (yearly, at_risk)
    assert row["p_alive"] == pytest.approx(chance)
    listing = api.get("/api/v1/today").json()
    (why,) = [a["why"] for a in listing["actions"] if a["client"]["id"] == "C5"]
    assert worth_words in why

    # The CLI: the client card and today's list.
    card = json.loads(cli("client", "C5", "--format", "json").output)["rhythm"]
    assert card["yearly_value"] == format_amount(yearly)
    assert card["at_risk_per_month"] == format_amount(at_risk)
    assert card["p_alive"] == round(chance, 4)
    assert "lapse_risk" in card
    assert chance_words in card["explanation"] and risk_words in card["explanation"]
    shown = json.loads(cli("today", "--as-of", TODAY.isoformat(), "--format", "json").output)
    (why,) = [a["why"] for a in shown["actions"] if a["client"]["id"] == "C5"]
    assert worth_words in why


def _listed_ids(html: str) -> set[str]:
    table = _between(html, "<tbody", "</tbody>")
    return set(re.findall(r'href="/clients/([^"?]+)"', table))


def test_gone_quiet_lists_exactly_the_clients_reports_count_as_lapsing(  # type: ignore[no-untyped-def]
    web, web_app, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    owner = web()
    lapsing = int(_text(owner.get("/reports").text, "n-lapsing"))
    quiet = _listed_ids(owner.get("/clients?signal=lapsing").text)
    assert len(quiet) == lapsing and quiet == {"C1", "C5"}  # not C4: cancelled
    top = _between(owner.get("/reports").text, 'id="top-risk"', "</table>")
    assert set(re.findall(r'href="/clients/([^"]+)"', top)) == quiet
    user = add_user(engine, "api@example.com", PASSWORD, "owner", now=NOW)
    api: Any = Api(web_app, create_token(engine, user.id, "test", now=NOW))
    answer = api.get("/api/v1/clients", params={"signal": "lapsing"}).json()
    assert answer["total"] == lapsing
    assert {c["id"] for c in answer["clients"]} == quiet
