"""The Today page's owner view: per member, the quota that applies and where it comes from,
their daily capacity and how many actions wait for a place; the owner moves a member's
waiting actions to another member (staff may not). On both backends."""

from __future__ import annotations

import json
import re
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import parse_qs, unquote

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.actions import Done, act
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.services.todays_list import (
    move_waiting,
    reason_in_words,
    todays_list,
    waiting_list,
)
from keepwarm.services.users import add_user, create_token
from test_web_api import Api
from web_support import PASSWORD


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for where in ("keepwarm.web.auth.clock", "keepwarm.web.pages.clock", "keepwarm.web.api.clock"):
        monkeypatch.setattr(where, lambda: NOW)


def _practice(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    """Dana (the practice's quota, her own capacity of 1) with four clients to contact, Sam
    (his own quota of 4, the practice's capacity) with one."""
    add_staff(engine, "Dana", email=None, daily_capacity=1, now=NOW)
    add_staff(engine, "Sam", email=None, weekly_quota=4, now=NOW)
    clients = ["id,name,owner,email,phone,tags"]
    visits = ["client_id,date,amount,kind"]
    for i, owner in enumerate(["Dana"] * 4 + ["Sam"]):
        clients.append(f"C{i},Client {i},{owner},c{i}@example.com,+1503555010{i},vip")
        visits.append(f"C{i},2025-01-0{i + 1},50.00,visit")
    for kind, lines in ((ImportKind.CLIENTS, clients), (ImportKind.ACTIVITIES, visits)):
        path = folder / f"{kind.value}.csv"
        path.write_text("\n".join(lines) + "\n")
        assert import_file(engine, settings, kind, path, today=TODAY, now=NOW).ok
    run_daily(engine, settings, day=TODAY, now=NOW)


def _line(html: str, staff: str) -> str:
    start = html.index(f'class="allowance muted" data-staff="{staff}"')
    return html[start : html.index("</li>", start)]


def test_owner_sees_each_allowance_and_waiting_and_moves_the_queue(  # type: ignore[no-untyped-def]
    web, web_app, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    waiting = len(waiting_list(engine, "Dana"))
    assert waiting == 3  # four reasons, room for one a day
    owner = web()
    html = owner.get("/today").text
    dana, sam = _line(html, "Dana"), _line(html, "Sam")
    assert "2 a week, practice default; up to 1 a day, own" in dana
    assert f'data-waiting="{waiting}">{waiting} waiting' in dana
    assert "4 a week, own; up to 5 a day, practice default" in sam
    assert "waiting" not in sam
    assert 'action="/today/waiting/move"' in html
    assert '<option value="Sam" selected>Sam</option>' in html  # the one with the most room
    user = add_user(engine, "api@example.com", PASSWORD, "owner", now=NOW)
    caller = Api(web_app, create_token(engine, user.id, "test", now=NOW))
    assert caller.get("/api/v1/today").json()["waiting"] == {"Dana": waiting}

    # Staff see their own line, and may not move anyone's queue.
    staff = web("dana@example.com", role="staff", staff="Dana")
    mine = staff.get("/today").text
    assert 'data-staff="Sam"' not in mine and 'action="/today/waiting/move"' not in mine
    refused = staff.post("/today/waiting/move", {"from_staff": "Dana", "to_staff": "Sam"})
    assert refused.status_code == 403
    assert len(waiting_list(engine, "Dana")) == waiting

    # The owner moves two, then the rest.
    two = {"from_staff": "Dana", "to_staff": "Sam", "count": "2"}
    moved = owner.post("/today/waiting/move", two)
    assert moved.status_code == 303 and "msg=moved" in moved.headers["location"]
    assert len(waiting_list(engine, "Dana")) == waiting - 2
    assert len(waiting_list(engine, "Sam")) == 2
    bad = owner.post("/today/waiting/move", {"from_staff": "Dana", "to_staff": "Dana"})
    assert bad.status_code == 400
    owner.post("/today/waiting/move", {"from_staff": "Dana", "to_staff": "Sam"})
    assert waiting_list(engine, "Dana") == []
    html = owner.get("/today").text
    assert "waiting" not in _line(html, "Dana")
    assert 'data-waiting="3">3 waiting' in _line(html, "Sam")
    assert caller.get("/api/v1/today").json()["waiting"] == {"Sam": waiting}


# --- the card, the lists by member, the drafts per channel ---------------------------------------


def _card(html: str, action_id: int) -> str:
    start = html.index(f'id="action-{action_id}"')
    return html[start : html.index('<div class="do">', start)]


def test_a_card_gives_one_plain_reason_and_its_numbers_one_click_away(  # type: ignore[no-untyped-def]
    web, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    [sams] = todays_list(engine, "Sam")
    html = web().get("/today").text
    card = _card(html, sams.id)
    why = re.search(r'<p class="why">([^<]*)</p>', card)
    assert why is not None and why.group(1) == sams.reason
    assert "%" not in why.group(1) and "priority" not in why.group(1)
    # the numbers and the priority arithmetic: in a closed <details>, not on the card's face
    face, numbers = card.split('<details class="numbers">')
    assert "priority " in numbers and "= value" in numbers
    assert "priority" not in face.replace("Priority", "") and "chance" not in face
    assert "#1 on Sam's list" not in card  # the list position is the card's rank
    # Done / Snooze / Dismiss: one row of buttons, fields behind them, follow-up fields in Done
    do = html[html.index('<div class="do">', html.index(f'id="action-{sams.id}"')) :]
    assert (
        do.count('<details class="step') >= 3
        and '<details class="step done" data-step="done">' in do
    )
    assert 'name="follow_up_on" type="date"' in do and 'name="follow_up_note"' in do
    assert ">Follow up on <" in do and ">Note for the follow-up</label>" in do


def test_the_email_button_of_a_call_opens_a_message_written_to_the_client(  # type: ignore[no-untyped-def]
    web, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    [sams] = todays_list(engine, "Sam")
    assert sams.channel == "call"
    card = _card(web().get("/today").text, sams.id)
    assert 'href="tel:+15035550104"' in card
    found = re.search(r'<a class="button mail" href="mailto:([^"]+)">Email</a>', card)
    assert found is not None, card
    address, query = html_unescape(found.group(1)).split("?", 1)
    fields = parse_qs(query)
    subject, body = fields["subject"][0], fields["body"][0]
    assert unquote(address) == "c4@example.com"
    assert subject and subject != "Hello"
    assert body.startswith("Dear Client,") and body.endswith("Sam")
    assert not re.search(r"\d\s*%", body + subject)
    for word in ("chance", "risk", "priority", "Call Client", "Why:"):
        assert word not in body, body
    # the textarea holds the talking points for the call, for staff
    assert "Talking points" in card and "Call Client 4" in card


def test_everyone_is_grouped_by_member_with_progress_and_ranks_per_list(  # type: ignore[no-untyped-def]
    web, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    add_touch_for = todays_list(engine, "Dana")
    owner = web()
    html = owner.get("/today").text
    heads = re.findall(r'<h2 id="list-h-\d+">([^<]+)</h2>', html)
    assert heads == ["Dana", "Sam"]
    dana = html[html.index('data-staff-list="Dana"') : html.index('data-staff-list="Sam"')]
    sam = html[html.index('data-staff-list="Sam"') :]
    assert 'data-progress="Dana"' in dana and "0 of 2 this week" in dana
    assert "0 of 4 this week" in sam and "<progress" in sam
    ranks = lambda part: re.findall(r'<span class="rank"[^>]*>(\d+)</span>', part)  # noqa: E731
    assert ranks(dana) == [str(i) for i in range(1, len(add_touch_for) + 1)]
    assert ranks(sam) == ["1"]
    # two on Sam's list; Sam marks the first done: the second is now #1, and counts one touch
    move_waiting(engine, from_staff="Dana", to_staff="Sam", count=1)
    [moved] = waiting_list(engine, "Sam")
    with engine.begin() as conn:
        opened = sa.text("UPDATE actions SET status = 'open', rank = 2 WHERE id = :i")
        conn.execute(opened, {"i": moved.id})
    listed = todays_list(engine, "Sam")
    assert [a.rank for a in listed] == [1, 2]
    act(engine, listed[0].id, Done(), by=None, day=TODAY, now=NOW)
    html = owner.get("/today").text
    sam = html[html.index('data-staff-list="Sam"') :]
    assert ranks(sam) == ["1"] and "1 of 4 this week" in sam
    assert "#2 on" not in sam


def test_the_undo_banner_posts_to_the_action_with_the_pages_csrf(  # type: ignore[no-untyped-def]
    web, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    owner = web()
    html = owner.get("/today?staff=Sam&msg=snoozed&undo=7").text
    banner = html[
        html.index('class="flash undo"') : html.index("</div>", html.index('class="flash undo"'))
    ]
    assert "Snoozed" in banner
    assert '<form method="post" action="/actions/7/undo"' in banner
    assert f'name="csrf_token" value="{owner.token}"' in banner
    assert '<input type="hidden" name="staff" value="Sam">' in banner
    assert html.count("Snoozed: it comes back") == 1  # not twice (the page's flash is off)
    assert "/undo" not in owner.get("/today?msg=done&undo=7%3Cb%3E").text


def test_an_action_with_a_reason_no_rule_knows_shows_its_own_words(  # type: ignore[no-untyped-def]
    web, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    [sams] = todays_list(engine, "Sam")
    note = [{"code": "a_new_code", "explanation": "ask about the new glasses", "reason_key": "r:1"}]
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE actions SET signals = :s WHERE id = :i"),
            {"s": json.dumps(note), "i": sams.id},
        )
    answer = web().get("/today")
    assert answer.status_code == 200
    card = _card(answer.text, sams.id)
    assert '<p class="why">Ask about the new glasses</p>' in card
    assert "- Why: ask about the new glasses" in card  # in the talking points


def test_a_card_or_letter_is_printed_from_its_own_page(  # type: ignore[no-untyped-def]
    web, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    [sams] = todays_list(engine, "Sam")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE actions SET channel = 'card' WHERE id = :i"), {"i": sams.id})
    owner = web()
    card = _card(owner.get("/today").text, sams.id)
    assert f'<a class="button primary" href="/actions/{sams.id}/print">Print the card</a>' in card
    page = owner.get(f"/actions/{sams.id}/print")
    assert page.status_code == 200
    letter = page.text[page.text.index('<div class="letter-text">') :]
    assert letter.startswith('<div class="letter-text">Dear Client,') and "Sam</div>" in letter
    assert "@media print" in owner.get("/static/app.css").text
    dana = web("dana@example.com", role="staff", staff="Dana")
    assert dana.get(f"/actions/{sams.id}/print").status_code == 403
    assert owner.get("/actions/999999/print").status_code == 404


def test_the_draft_per_channel_is_the_same_for_the_cli_and_the_api(  # type: ignore[no-untyped-def]
    web_app, engine, settings, tmp_path, cli, monkeypatch
) -> None:
    _practice(engine, settings, tmp_path)
    [sams] = todays_list(engine, "Sam")
    user = add_user(engine, "api@example.com", PASSWORD, "owner", now=NOW)
    caller = Api(web_app, create_token(engine, user.id, "test", now=NOW))
    [listed] = [a for a in caller.get("/api/v1/today").json()["actions"] if a["staff"] == "Sam"]
    assert listed["draft"] == sams.draft == sams.drafts["call"].text
    assert sams.drafts["email"].subject and sams.drafts["email"].text.startswith("Dear Client,")
    # `keepwarm today` shows the same draft; for an email, with its subject line
    monkeypatch.setattr("keepwarm.cli.today.now", lambda: NOW)
    shown = cli("today", "--staff", "Sam", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["actions"][0]["draft"] == sams.draft
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE actions SET channel = 'email' WHERE id = :i"), {"i": sams.id})
    email = todays_list(engine, "Sam")[0].drafts["email"]
    table = cli("today", "--staff", "Sam")
    assert f"Subject: {email.subject}" in table.output
    assert "   Dear Client," in table.output and "Call Client" not in table.output


def test_the_owners_subject_line_from_settings_is_the_emails_subject(  # type: ignore[no-untyped-def]
    web, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    [sams] = todays_list(engine, "Sam")
    code = sams.signals[0]["code"]
    owner = web()
    listing = owner.get("/settings/templates").text
    for form in ("letter", "subject", "sms", "call"):
        assert f'href="/settings/templates/{code}/{form}"' in listing
    assert "Email: the subject line" in owner.get(f"/settings/templates/{code}/subject").text
    mine = "A word from {{ staff }} for {{ first_name }}"
    saved = owner.post("/settings/templates/save", {"code": code, "form": "subject", "text": mine})
    assert saved.status_code == 303
    refused = owner.post(
        "/settings/templates/save", {"code": code, "form": "sms", "text": "Hi {{ nickname }}"}
    )
    assert refused.status_code == 400 and "nickname" in refused.text
    card = _card(owner.get("/today").text, sams.id)
    found = re.search(r'<a class="button mail" href="mailto:([^"]+)">Email</a>', card)
    assert found is not None
    fields = parse_qs(html_unescape(found.group(1)).split("?", 1)[1])
    assert fields["subject"] == ["A word from Sam for Client"]


def test_after_done_the_banner_offers_an_undo_that_brings_the_action_back(  # type: ignore[no-untyped-def]
    web, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    [sams] = todays_list(engine, "Sam")
    owner = web()
    done = owner.post(f"/actions/{sams.id}/done", {"staff": "Sam", "channel": "call"})
    assert done.status_code == 303
    assert f"undo={sams.id}" in done.headers["location"]
    page = owner.get(done.headers["location"]).text
    assert f'action="/actions/{sams.id}/undo"' in page and f'id="action-{sams.id}"' not in page
    undone = owner.post(f"/actions/{sams.id}/undo", {"staff": "Sam"})
    assert undone.status_code == 303
    assert [a.id for a in todays_list(engine, "Sam")] == [sams.id]
    assert f'id="action-{sams.id}"' in owner.get("/today?staff=Sam").text


@pytest.mark.parametrize(
    ("code", "explanation", "said"),
    [
        (
            "lapsing",
            "usually every 4 weeks; last visit 206 days ago (7x the usual gap); 30% chance still "
            "active; about $78.00 a month at risk",
            "Usually comes every 4 weeks; last visit 7 months ago",
        ),
        (
            "cancellation",
            "cancelled on Mon 2 Nov (3 weeks ago); no personal contact on record; call before "
            "the client is gone",
            "Cancelled on Mon 2 Nov (3 weeks ago); no personal contact on record",
        ),
        ("birthday", "birthday on Fri 27 Nov (in 3 days)", "Birthday on Fri 27 Nov (in 3 days)"),
        (
            "due",
            "check-up every 6 months (182 days); last check-up Sat 24 May 2025 (549 days ago); "
            "next due Sat 22 Nov 2025 (367 days ago)",
            "Check-up every 6 months (182 days); next due Sat 22 Nov 2025 (12 months ago)",
        ),
        ("usage_up", "usage up 35% lately", "Coming more often lately"),
        (
            "cadence_overdue",
            "no personal contact for 214 days; the cadence for vip clients is 90 days",
            "No personal contact for 7 months",
        ),
        ("a_new_code", "call about the glasses", "Call about the glasses"),
    ],
)
def test_the_why_sentence_is_the_strongest_reason_without_internal_numbers(
    code: str, explanation: str, said: str
) -> None:
    signals = [{"code": code, "explanation": explanation, "reason_key": "k"}]
    assert reason_in_words(signals) == said
    assert reason_in_words([]) == "Time to say hello"
    hug = "#3 on Dana's list: no signal today; last personal contact 40 days ago; priority 1"
    assert reason_in_words([], hug) == "Time to say hello: last personal contact 40 days ago"


def test_the_talking_points_give_the_other_reasons_in_plain_words_not_the_numbers(  # type: ignore[no-untyped-def]
    web, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    [sams] = todays_list(engine, "Sam")
    two = [
        {
            "code": "lapsing",
            "explanation": "usually every 11 days; last visit 117 days ago (11x the usual gap); "
            "5% chance still active; about $216 a month at risk",
            "reason_key": "lapsing:1",
        },
        {
            "code": "due",
            "explanation": "recall due Sat 19 Sep (75 days ago)",
            "reason_key": "due:2026-09-19",
        },
    ]
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE actions SET signals = :s WHERE id = :i"),
            {"s": json.dumps(two), "i": sams.id},
        )
    [listed] = todays_list(engine, "Sam")
    card = _card(web().get("/today").text, sams.id)
    face = re.sub(r'href="[^"]*"', "", card.split('<details class="numbers">')[0])
    assert '<p class="why">Usually comes every 11 days; last visit 4 months ago</p>' in face
    assert listed.draft.startswith("Call Client 4")
    assert "- Why: Recall due Sat 19 Sep (2 months ago)" in listed.draft  # the other reason
    assert "every 11 days" not in listed.draft.split("\n", 2)[2]  # the first is not repeated
    for internal in ("%", "$", "chance", "risk", "11x"):
        assert internal not in face, internal
    # the numbers are one click away
    assert "5% chance still active" in card.split('<details class="numbers">')[1]


@pytest.mark.parametrize(
    ("explanation", "said"),
    [
        ("no personal contact on record in 860 days", "No personal contact on record in 2 years"),
        ("no personal contact for 45 days", "No personal contact for 45 days"),
        ("recall due Sat 19 Sep (75 days ago)", "Recall due Sat 19 Sep (2 months ago)"),
        ("birthday on Fri 27 Nov (in 3 days)", "Birthday on Fri 27 Nov (in 3 days)"),
    ],
)
def test_long_silences_are_said_in_months_or_years(explanation: str, said: str) -> None:
    code = "birthday" if "birthday" in explanation else "cadence_overdue"
    assert reason_in_words([{"code": code, "explanation": explanation}]) == said


def test_the_today_page_reads_in_one_transaction(  # type: ignore[no-untyped-def]
    web, web_app, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    """The list, the quotas, the drafts and the send choices come from one read transaction
    (one state of the database), not one each: counted as connections checked out of the
    pool."""
    _practice(engine, settings, tmp_path)
    client = web()
    checkouts: list[object] = []
    sa.event.listen(web_app.state.engine.pool, "checkout", lambda *args: checkouts.append(args))
    answer = client.get("/today")
    assert answer.status_code == 200 and 'class="card' in answer.text
    assert len(checkouts) == 2  # the session's lookup, then the page's one transaction
