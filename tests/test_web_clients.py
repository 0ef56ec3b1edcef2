"""The Clients list and the client page through the real app on both backends: search,
filters, sorting, pages, the client page (rhythm, chart, timeline), editing, touches, delete.
Data comes in through keepwarm's own CSV import and daily run; only the clock is mocked."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from conftest import NOW, table_snapshot
from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.services import clients as svc
from keepwarm.services.todays_list import todays_list
from web_support import Web

XSS = "<script>alert(1)</script>"
FILLERS = 60


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock, the one thing mocked: 24 Nov 2026, 9 in the morning.
    monkeypatch.setattr("keepwarm.web.auth.clock", lambda: NOW)
    monkeypatch.setattr("keepwarm.web.pages.clock", lambda: NOW)


@pytest.fixture
def practice(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A few named clients, 60 fillers, visits, a touch, and today's plan (rhythms learned)."""
    clients = [
        "id,name,owner,email,phone,status,tags,cancelled_on",
        "ADA,Ada Lovelace,Dana,ada@example.com,+15035550100,active,VIP;yoga,",
        "BOB,Bob Builder,Sam,Bob@Example.com,(503) 555-0111,prospect,,",
        "CLEO,Cleo Gone,Dana,cleo@example.com,,cancelled,,2026-10-01",
        f'XSS,"{XSS}",Sam,x@example.com,,active,,',
    ]
    clients += [f"F{i:02d},Filler {i:02d},,f{i}@example.com,,active,," for i in range(FILLERS)]
    visits = ["client_id,date,amount,kind"]
    day = dt.date(2025, 1, 5)
    while day <= dt.date(2026, 6, 1):  # Ada: monthly, then silent since June
        visits.append(f"ADA,{day},80.00,massage")
        day += dt.timedelta(days=30)
    visits += [f"BOB,2026-11-0{d},20.00,class" for d in (1, 3, 5)]
    visits += ["CLEO,2026-09-01,50.00,visit", "XSS,2026-10-01,10.00,visit"]
    visits += [f"F{i:02d},2026-0{1 + i % 9}-1{i % 10},{10 + i}.00,visit" for i in range(FILLERS)]
    touches = ["client_id,date,channel,staff,note", "ADA,2026-05-02,call,Dana,Asked about her back"]
    for name in ("Dana", "Sam"):
        assert cli("staff", "add", name, "--weekly-quota", "10").exit_code == 0
    for kind, lines in (("clients", clients), ("activities", visits), ("touches", touches)):
        path = tmp_path / f"{kind}.csv"
        path.write_text("\n".join(lines) + "\n")
        result = cli("import", kind, str(path))
        assert result.exit_code == 0, result.output
    assert cli("run-daily", "--as-of", NOW.date().isoformat()).exit_code == 0
    return cli


def _names(html: str) -> list[str]:
    """The client names listed on a Clients page, in order."""
    return re.findall(r"<td data-label=\"Name\"><a href=\"/clients/[^\"]+\">([^<]*)</a>", html)


def test_search_finds_clients_by_name_email_and_phone_in_any_format(practice, web) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    assert _names(owner.get("/clients?q=lovelace").text) == ["Ada Lovelace"]
    assert _names(owner.get("/clients?q=BOB%40example").text) == ["Bob Builder"]
    for typed in ("(503) 555-0111", "503.555.0111", "+1 503 555 0111", "5550111"):
        assert _names(owner.get("/clients", params={"q": typed}).text) == ["Bob Builder"], typed
    none = owner.get("/clients?q=nobody-like-this").text
    assert _names(none) == [] and "No clients match." in none


def test_each_filter_narrows_the_list(practice, web, engine) -> None:  # type: ignore[no-untyped-def]
    staff = web("dana@example.com", role="staff", staff="Dana")  # staff see the list too
    assert _names(staff.get("/clients?status=prospect").text) == ["Bob Builder"]
    assert set(_names(staff.get("/clients?owner=Sam").text)) == {"Bob Builder", XSS_ESCAPED}
    assert _names(staff.get("/clients?tag=vip").text) == ["Ada Lovelace"]
    assert _names(staff.get("/clients?status=cancelled&owner=Dana").text) == ["Cleo Gone"]
    listed = todays_list(engine)
    assert listed, "the daily run planned no actions"
    code = listed[0].signals[0]["code"]
    flagged = {a.client_name for a in listed if code in {s["code"] for s in a.signals}}
    shown = set(_names(staff.get(f"/clients?signal={code}").text))
    assert shown == {n.replace("<", "&lt;").replace(">", "&gt;") for n in flagged}
    rows, total = svc.search_clients(engine, signal=code)
    assert total == len(flagged) and all(code in r.open_signals for r in rows)
    assert staff.get("/clients?status=gone").status_code == 400
    with pytest.raises(InvalidInput):
        svc.search_clients(engine, sort="colour")


XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_column_headers_sort_the_list(practice, web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    page = owner.get("/clients?q=filler").text
    assert 'href="/clients?q=filler&amp;sort=value&amp;dir=desc"' in page  # a header link
    assert _names(page)[:2] == ["Filler 00", "Filler 01"]
    desc = _names(owner.get("/clients?q=filler&sort=name&dir=desc").text)
    assert desc[:2] == ["Filler 59", "Filler 58"]
    assert _names(owner.get("/clients?owner=Dana&sort=name&dir=desc").text) == [
        "Cleo Gone",
        "Ada Lovelace",
    ]
    rows, _ = svc.search_clients(engine, sort="value", descending=True, limit=100)
    values = [r.yearly_value_cents for r in rows]  # the Value column: what a client is worth a year
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    by_last, _ = svc.search_clients(engine, sort="last_activity", descending=True, limit=3)
    assert by_last[0].id == "BOB" and by_last[0].last_activity == dt.date(2026, 11, 5)
    valued = _names(owner.get("/clients?sort=value&dir=desc").text)
    assert valued[0] == next(r.name for r in rows)
    assert owner.get("/clients?sort=colour").status_code == 400


def test_the_list_is_paged_fifty_at_a_time(practice, web) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    total = FILLERS + 4
    first = owner.get("/clients").text
    assert f"1–50 of {total}" in first and len(_names(first)) == 50
    assert 'href="/clients?sort=name&amp;dir=asc&amp;page=2"' in first
    second = owner.get("/clients?page=2").text
    assert f"51–{total} of {total}" in second and len(_names(second)) == total - 50
    assert not set(_names(first)) & set(_names(second))
    kept = owner.get("/clients?q=filler&page=2").text  # filters stay on the page links
    assert "11–" not in kept and "51–60 of 60" in kept and "q=filler" in kept


def test_the_client_page_shows_contact_rhythm_chart_and_timeline(practice, web) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    answer = owner.get("/clients/ADA")
    assert answer.status_code == 200
    html = answer.text
    assert 'href="tel:+15035550100"' in html and 'href="mailto:ada%40example.com"' in html
    assert "VIP" in html and "yoga" in html and "Dana" in html
    # The rhythm in words and numbers.
    assert "Usual gap" in html and re.search(r"<dd>3\d days</dd>", html)
    assert "Worth a year" in html and "At risk" in html and "As learned on 2026-11-24" in html
    # The chart: one tick per visit in the last two years, the usual gap and the silence.
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "<title" in svg and "<desc" in svg
    assert svg.count('class="visit"') == 18 and 'class="usual-gap"' in svg
    assert 'class="silence"' in svg and "#f4c9b4" in svg  # overdue: silent longer than usual
    assert "18 visits in the last two years" in svg and "longer than usual" in html
    # The timeline: visits and the imported touch, newest first.
    timeline = html[html.index('class="timeline"') :]
    assert "Asked about her back" in timeline and "massage" in timeline
    assert timeline.index("30 May 2026") < timeline.index("2 May 2026")
    assert owner.get("/clients/NOPE").status_code == 404


def test_editing_saves_normalised_values(practice, web, engine) -> None:  # type: ignore[no-untyped-def]
    dana = web("dana@example.com", role="staff", staff="Dana")
    form = {
        "name": "Ada King",
        "email": " Ada.King@EXAMPLE.com ",
        "phone": "(503) 555-0199",
        "address": "1 Analytical Way",
        "tags": "yoga; vip; Yoga",
        "owner": "Sam",
        "status": "active",
        "do_not_contact": "yes",
        "notes": "Prefers mornings",
    }
    answer = dana.post("/clients/ADA", form)
    assert answer.status_code == 303 and answer.headers["location"] == "/clients/ADA?msg=saved"
    client = svc.get_client(engine, "ADA")
    assert client.name == "Ada King" and client.phone == "+15035550199"
    assert client.email == "Ada.King@example.com" and client.owner == "Sam"
    assert client.tags == ("vip", "yoga") and client.do_not_contact
    assert client.notes == "Prefers mornings" and client.address == "1 Analytical Way"
    page = dana.get(answer.headers["location"]).text
    assert "Saved." in page and "Do not contact" in page


def test_a_bad_email_or_phone_shows_the_field_error_and_changes_nothing(  # type: ignore[no-untyped-def]
    practice, web, engine
) -> None:
    owner = web()
    before = table_snapshot(engine)
    form = {"name": "Ada Lovelace", "email": "not-an-email", "phone": "12", "status": "active"}
    answer = owner.post("/clients/ADA", form)
    assert answer.status_code == 400
    html = answer.text
    assert re.search(r'id="err-email">[^<]*not an email address', html)
    assert re.search(r'id="err-phone">[^<]*not a phone number', html)
    assert 'value="not-an-email"' in html  # what was typed stays in the form
    assert table_snapshot(engine) == before
    with pytest.raises(svc.InvalidValues) as caught:
        svc.update_client(engine, "ADA", {"status": "gone"}, now=NOW)
    assert "status" in caught.value.errors
    assert table_snapshot(engine) == before


def test_logging_a_touch_closes_the_open_action_and_joins_the_timeline(  # type: ignore[no-untyped-def]
    practice, web, engine
) -> None:
    action = todays_list(engine)[0]
    staff = web("me@example.com", role="staff", staff=action.staff)
    page = staff.get(f"/clients/{action.client_id}").text
    assert f"#action-{action.id}" in page
    answer = staff.post(
        f"/clients/{action.client_id}/touches",
        {"channel": "card", "date": "2026-11-24", "note": "Sent a birthday card", "outcome": ""},
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("msg=touch")
    assert action.id not in {a.id for a in todays_list(engine)}
    after = staff.get(answer.headers["location"]).text
    assert "Touch recorded." in after and "Sent a birthday card" in after
    assert "No open actions for this client." in after
    entry = svc.client_timeline(engine, action.client_id)[0]
    assert (entry.kind, entry.channel, entry.staff) == ("touch", "card", action.staff)
    future = staff.post(f"/clients/{action.client_id}/touches", {"date": "2026-12-01"})
    assert future.status_code == 400


def test_staff_cannot_delete_and_the_owner_must_confirm(practice, web, engine) -> None:  # type: ignore[no-untyped-def]
    dana = web("dana@example.com", role="staff", staff="Dana")
    owner = web()
    before = table_snapshot(engine)
    assert "Delete client" not in dana.get("/clients/ADA").text
    assert dana.post("/clients/ADA/delete", {"confirm": "yes"}).status_code == 403
    assert owner.post("/clients/ADA/delete", {}).status_code == 400
    assert table_snapshot(engine) == before
    answer = owner.post("/clients/ADA/delete", {"confirm": "yes"})
    assert answer.status_code == 303
    assert "deleted" in owner.get(answer.headers["location"]).text
    with pytest.raises(NotFound):
        svc.get_client(engine, "ADA")
    with engine.connect() as conn:
        left = conn.exec_driver_sql("SELECT COUNT(*) FROM activities").scalar()
    assert left == len(before["activities"]) - 18


def test_anonymous_visitors_are_sent_to_sign_in(practice, web, web_app) -> None:  # type: ignore[no-untyped-def]
    web()  # a user exists, so the app asks for sign-in rather than setup
    stranger = Web(web_app)
    for url in ("/clients", "/clients/ADA", "/clients?q=ada"):
        answer = stranger.get(url)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    refused = stranger.client.post("/clients/ADA/delete", data={"confirm": "yes"})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")


def test_a_name_with_markup_is_escaped_on_both_pages(practice, web) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    for url in ("/clients", "/clients?q=script", "/clients/XSS"):
        html = owner.get(url).text
        assert XSS not in html and XSS_ESCAPED in html, url


def test_the_services_create_update_and_delete(engine) -> None:  # type: ignore[no-untyped-def]
    made = svc.create_client(
        engine,
        {"name": "New One", "phone": "020 7946 0018", "email": "n@example.com"},
        now=NOW,
        region="GB",
    )
    assert made.phone == "+442079460018" and made.status.value == "active"
    assert svc.search_clients(engine, "020 7946 0018")[1] == 1  # the national form finds it
    with pytest.raises(svc.InvalidValues) as caught:
        svc.create_client(engine, {"id": made.id, "name": "Again"}, now=NOW)
    assert "id" in caught.value.errors
    changed = svc.update_client(engine, made.id, {"birthday": "1990-02-03"}, now=NOW)
    assert changed.birthday == dt.date(1990, 2, 3) and changed.name == "New One"
    svc.delete_client(engine, made.id)
    assert svc.search_clients(engine)[1] == 0


def test_a_client_created_with_first_and_last_name_gets_the_full_name(engine) -> None:  # type: ignore[no-untyped-def]
    from conftest import NOW
    from keepwarm.services.clients import create_client

    made = create_client(engine, {"first_name": "Ann", "last_name": "Lee"}, now=NOW)
    assert made.name == "Ann Lee" and made.first_name == "Ann"


def test_a_long_history_shows_the_latest_first_and_the_rest_on_request(cli, web, tmp_path) -> None:  # type: ignore[no-untyped-def]
    visits = tmp_path / "visits.csv"
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=7 * i) for i in range(60)]
    visits.write_text("client_id,date,kind\n" + "".join(f"LONG,{d},visit\n" for d in days))
    (tmp_path / "c.csv").write_text("id,name\nLONG,Lena Long\n")
    assert cli("import", "clients", str(tmp_path / "c.csv")).exit_code == 0
    assert cli("import", "activities", str(visits)).exit_code == 0
    owner = web()
    first = owner.get("/clients/LONG").text
    listed = first[first.index('class="timeline"') :]
    assert listed.count('<li class="timeline-activity">') == 40
    assert days[-1].strftime("%-d %b %Y") in listed and days[0].strftime("%-d %b %Y") not in listed
    assert "?history=all" in listed
    whole = owner.get("/clients/LONG?history=all").text
    assert whole.count('<li class="timeline-activity">') == 60 and "?history=all" not in whole


# Ids a business may use: a "/", "%", "?", "#", spaces, unicode, and ones that look like a
# route's tail ("x/delete"). Not "." or "..": no URL can hold those as a path segment.
ODD_IDS = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from(["ACC/2024/7", "/", "%", "%2F", "?", "#", " ", "é", "a/delete", "x/touches"]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8),
).filter(lambda text: text.strip() not in ("", ".", ".."))


def test_any_client_id_opens_edits_takes_a_touch_and_is_deleted_on_the_pages(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ODD_IDS)
    def check(client_id: str) -> None:
        made = svc.create_client(engine, {"id": client_id, "name": "Odd Id"}, now=NOW)
        try:
            _open_edit_touch_delete(owner, engine, made.id)
        finally:  # a failing example leaves nothing behind for the next one
            with contextlib.suppress(NotFound):
                svc.delete_client(engine, made.id)

    check()


def _open_edit_touch_delete(owner: Web, engine, client_id: str) -> None:  # type: ignore[no-untyped-def]
    listed = owner.get("/clients", params={"q": "Odd Id"}).text
    href = html.unescape(re.findall(r'<a href="(/clients/[^"]+)">Odd Id</a>', listed)[0])
    assert href == "/clients/" + quote(client_id, safe="")
    page = owner.get(href)
    assert page.status_code == 200, (client_id, href)
    assert str(escape(client_id)) in page.text
    assert f'action="{href}/delete"' in page.text and f'action="{href}/touches"' in page.text
    saved = owner.post(href, {"name": "Odd Renamed", "status": "active"})
    assert saved.status_code == 303 and saved.headers["location"] == href + "?msg=saved"
    assert svc.get_client(engine, client_id).name == "Odd Renamed"
    touched = owner.post(href + "/touches", {"channel": "call", "note": "odd"})
    assert touched.status_code == 303, touched.text
    timeline = svc.client_timeline(engine, client_id, limit=5)
    assert [e.kind for e in timeline] == ["touch"]
    gone = owner.post(href + "/delete", {"confirm": "yes"})
    assert gone.status_code == 303
    with pytest.raises(NotFound):
        svc.get_client(engine, client_id)
    assert owner.get(href).status_code == 404


def test_an_id_with_a_slash_is_one_client_however_the_url_writes_it(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    for client_id, name in (("ACC/2024/7", "Slash Seven"), ("A", "Plain A"), ("A/delete", "Tail")):
        svc.create_client(engine, {"id": client_id, "name": name}, now=NOW)
    assert "Slash Seven" in owner.get("/clients/ACC%2F2024%2F7").text
    assert "Slash Seven" in owner.get("/clients/ACC/2024/7").text  # typed unescaped
    assert "Tail" in owner.get("/clients/A%2Fdelete").text
    # an escaped "/" stays in the id: this edits client "A/delete", and deletes nobody
    answer = owner.post("/clients/A%2Fdelete", {"name": "Tail Two", "status": "active"})
    assert (
        answer.status_code == 303 and answer.headers["location"] == "/clients/A%2Fdelete?msg=saved"
    )
    assert svc.get_client(engine, "A/delete").name == "Tail Two"
    assert svc.get_client(engine, "A").name == "Plain A"
    assert owner.get("/clients/").status_code in (307, 404)
