"""Feedback (issue 14): after a visit keepwarm asks the client, once per visit and at most once
per period, by a channel they may be reached by; the link's page records an answer only by its
POST, once, until the link expires; an unhappy answer is first on the owner's list the next
morning, once; NPS by month and member of staff agrees on every surface. SQLite and
PostgreSQL; a real SMTP server for the end-to-end test."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services import feedback as svc
from keepwarm.services.consent import set_consent
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.services.todays_list import todays_list
from keepwarm.services.users import add_user
from keepwarm.store.tables import actions, activities, clients, feedback_requests, outbox
from web_support import PASSWORD, Web, csrf_of

BASE = "https://keepwarm.example.com"
MAIL = {
    "smtp_url": "smtp://127.0.0.1:2525",
    "mail_from": "Northside Physio <hello@northside.example>",
    "base_url": BASE,
}
VISIT = TODAY - dt.timedelta(days=2)  # the policy's default: ask two days after a visit


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    for where in ("keepwarm.web.auth.clock", "keepwarm.web.feedback.clock"):
        monkeypatch.setattr(where, c)
    return c


@pytest.fixture
def mail(settings: Settings) -> Settings:
    return settings.replace(**MAIL)


def _practice(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    """Dana (capacity 1 a day) owns C0-C3, Sam owns C4. C0, C1, C3 and C4 visited two days ago;
    C2 has no email (only a phone, and no texts set up); C1 unsubscribed from emails; C3 asked
    not to be contacted at all; C4's visit was a year ago."""
    add_staff(engine, "Dana", email=None, daily_capacity=1, now=NOW)
    add_staff(engine, "Sam", email=None, now=NOW)
    people = ["id,name,first_name,owner,email,phone,do_not_contact"]
    visits = ["client_id,date,amount,kind"]
    for i, owner in enumerate(["Dana"] * 4 + ["Sam"]):
        email = "" if i == 2 else f"c{i}@example.com"
        people.append(f"C{i},Client {i},Cli{i},{owner},{email},+1503555010{i},{i == 3}")
        visits.append(f"C{i},2025-06-0{i + 1},50.00,visit")
        if i != 4:
            visits.append(f"C{i},{VISIT.isoformat()},50.00,visit")
    for kind, lines in ((ImportKind.CLIENTS, people), (ImportKind.ACTIVITIES, visits)):
        path = folder / f"{kind.value}.csv"
        path.write_text("\n".join(lines) + "\n")
        assert import_file(engine, settings, kind, path, today=TODAY, now=NOW).ok
    set_consent(engine, "C1", "email", False, actor="test", now=NOW, source="unsubscribe")


def _requests(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(feedback_requests, clients.c.external_id)
                .join(clients, clients.c.id == feedback_requests.c.client_id)
                .order_by(feedback_requests.c.id)
            )
        )


def _messages(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(outbox).where(outbox.c.kind == "feedback")))


def _signal_codes(engine: sa.Engine, client: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT a.signals FROM actions a JOIN clients c ON c.id = a.client_id "
                "WHERE c.external_id = :c"
            ),
            {"c": client},
        ).scalars()
        return [s["code"] for raw in rows for s in json.loads(raw)]


def _token_of(message: Any) -> str:
    found = re.search(re.escape(BASE) + r"/feedback/(\S+)", message.body)
    assert found, message.body
    return found.group(1)


def test_a_visit_two_days_ago_queues_one_request_by_email_once(  # type: ignore[no-untyped-def]
    engine, mail, tmp_path
) -> None:
    _practice(engine, mail, tmp_path)
    run_daily(engine, mail, day=TODAY, now=NOW)
    [request] = _requests(engine)
    assert request.external_id == "C0"  # C1 unsubscribed, C2 no email, C3 do not contact
    assert (request.channel, request.visit_date) == ("email", VISIT)
    [message] = _messages(engine)
    assert (message.key, message.kind) == (f"feedback:{request.id}", "feedback")
    assert (message.bulk, message.personal, message.to_address) == (
        True,
        False,
        "c0@example.com",
    )
    assert request.outbox_id == message.id
    token = _token_of(message)
    assert request.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in request.token_hash  # only the digest is stored
    assert "How likely are you to recommend us" in message.body
    # a rerun, and the command, queue nothing new
    assert svc.send_requests(engine, mail, day=TODAY, now=NOW) == 0
    assert len(_messages(engine)) == 1


def test_a_client_asked_by_email_is_not_also_on_a_list_to_be_asked(  # type: ignore[no-untyped-def]
    engine, mail, tmp_path
) -> None:
    _practice(engine, mail, tmp_path)
    run_daily(engine, mail, day=TODAY, now=NOW)
    assert "feedback" not in _signal_codes(engine, "C0")  # asked by email
    assert "feedback" in _signal_codes(engine, "C2")  # no email: staff ask in person


def test_nothing_is_queued_when_email_is_not_set_up(  # type: ignore[no-untyped-def]
    engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    run_daily(engine, settings, day=TODAY, now=NOW)
    assert _requests(engine) == [] and _messages(engine) == []
    assert "feedback" in _signal_codes(engine, "C0")  # staff ask, as before


def _visit(engine: sa.Engine, client: str, on: dt.date) -> None:
    with engine.begin() as conn:
        internal = conn.execute(
            sa.text("SELECT id FROM clients WHERE external_id = :c"), {"c": client}
        ).scalar_one()
        conn.execute(
            sa.insert(activities).values(
                client_id=internal, key=f"test:{client}:{on}", date=on, amount_cents=5000
            )
        )


def test_a_client_is_asked_at_most_once_in_the_period(  # type: ignore[no-untyped-def]
    engine, mail, tmp_path
) -> None:
    _practice(engine, mail, tmp_path)
    assert svc.send_requests(engine, mail, day=TODAY, now=NOW) == 1
    later = TODAY + dt.timedelta(days=30)
    _visit(engine, "C0", later - dt.timedelta(days=2))
    at = NOW + dt.timedelta(days=30)
    assert svc.send_requests(engine, mail, day=later, now=at) == 0  # 30 days < 90
    much_later = TODAY + dt.timedelta(days=100)
    _visit(engine, "C0", much_later - dt.timedelta(days=2))
    at = NOW + dt.timedelta(days=100)
    assert svc.send_requests(engine, mail, day=much_later, now=at) == 1
    assert [r.external_id for r in _requests(engine)] == ["C0", "C0"]


def test_two_runs_at_once_ask_a_client_once_about_a_visit(  # type: ignore[no-untyped-def]
    engine, mail, tmp_path, monkeypatch
) -> None:
    _practice(engine, mail, tmp_path)
    assert svc.send_requests(engine, mail, day=TODAY, now=NOW) == 1
    # the second run read "nobody asked yet" before the first committed
    monkeypatch.setattr("keepwarm.store.feedback.last_asked", lambda conn: {})
    assert svc.send_requests(engine, mail, day=TODAY, now=NOW) == 0
    assert len(_requests(engine)) == 1 and len(_messages(engine)) == 1


@pytest.fixture
def site(engine: sa.Engine, mail: Settings, tmp_path: Path, clock: Clock) -> Any:
    from keepwarm.web import create_app

    _practice(engine, mail, tmp_path)
    svc.send_requests(engine, mail, day=TODAY, now=NOW)
    return create_app(mail)


def _snapshot(engine: sa.Engine) -> list[tuple[str, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(map(str, r)) for r in conn.execute(sa.select(feedback_requests)).all())


def _answer(browser: Web, token: str, score: str, comment: str = "") -> Any:
    page = browser.get(f"/feedback/{token}")
    return browser.client.post(
        "/feedback",
        data={
            "csrf_token": csrf_of(page.text, "/feedback"),
            "token": token,
            "score": score,
            "comment": comment,
        },
    )


def test_opening_the_link_shows_the_question_and_records_nothing(  # type: ignore[no-untyped-def]
    site, engine
) -> None:
    token = _token_of(_messages(engine)[0])
    before = _snapshot(engine)
    page = Web(site).get(f"/feedback/{token}")
    assert page.status_code == 200
    assert "How likely are you to recommend" in page.text and "Cli0" in page.text
    assert page.text.count('type="radio" name="score"') == 11
    assert _snapshot(engine) == before


def test_the_answer_is_recorded_once(site, engine, clock) -> None:  # type: ignore[no-untyped-def]
    token = _token_of(_messages(engine)[0])
    browser = Web(site)
    answer = _answer(browser, token, "8", "  Lovely, thanks  ")
    assert answer.status_code == 200 and "Thank you" in answer.text
    [row] = _requests(engine)
    assert (row.score, row.comment) == (8, "Lovely, thanks")
    cookie = browser.client.cookies["kw_pre"]  # the form's cookie, still in the browser
    again = browser.client.post(
        "/feedback", data={"csrf_token": cookie, "token": token, "score": "2", "comment": "no"}
    )
    assert "we already have your answer" in again.text
    [row] = _requests(engine)
    assert (row.score, row.comment) == (8, "Lovely, thanks")


def test_an_answer_needs_the_forms_cookie_and_a_score_from_0_to_10(  # type: ignore[no-untyped-def]
    site, engine
) -> None:
    token = _token_of(_messages(engine)[0])
    forged = Web(site).client.post("/feedback", data={"token": token, "score": "0"})
    assert forged.status_code == 403
    bad = _answer(Web(site), token, "11")
    assert bad.status_code == 400 and "score: choose a number from 0 to 10" in bad.text
    assert _requests(engine)[0].answered_at is None


def test_an_expired_or_unknown_link_says_so_and_records_nothing(  # type: ignore[no-untyped-def]
    site, engine, clock
) -> None:
    token = _token_of(_messages(engine)[0])
    assert Web(site).get("/feedback/not-a-token").status_code == 404
    clock.now = NOW + svc.VALID_FOR + dt.timedelta(minutes=1)
    page = Web(site).get(f"/feedback/{token}")
    assert page.status_code == 410 and "This link has expired" in page.text
    clock.now = NOW + svc.VALID_FOR - dt.timedelta(minutes=1)
    browser = Web(site)
    form = browser.get(f"/feedback/{token}")
    clock.now = NOW + svc.VALID_FOR + dt.timedelta(minutes=1)
    late = browser.client.post(
        "/feedback",
        data={"csrf_token": csrf_of(form.text, "/feedback"), "token": token, "score": "9"},
    )
    assert late.status_code == 410
    assert _requests(engine)[0].answered_at is None


def test_the_request_log_never_writes_the_links_token(  # type: ignore[no-untyped-def]
    site, engine, caplog
) -> None:
    import logging

    token = _token_of(_messages(engine)[0])
    with caplog.at_level(logging.DEBUG):
        _answer(Web(site), token, "9")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("keepwarm"))
    assert "GET /feedback/(token) 200" in ours and "POST /feedback 200" in ours
    assert token not in ours  # (the test's own HTTP client logs its URLs: not the app's log)


def _list_of(engine: sa.Engine, staff: str, day: dt.date) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT a.*, c.external_id FROM actions a "
                    "JOIN clients c ON c.id = a.client_id JOIN staff s ON s.id = a.staff_id "
                    "WHERE s.name = :s AND a.day = :d AND a.status = 'open' "
                    "ORDER BY a.rank, a.id"
                ),
                {"s": staff, "d": day},
            )
        )


def test_a_detractor_is_first_on_the_owners_list_the_next_morning_once(  # type: ignore[no-untyped-def]
    site, engine, mail, clock
) -> None:
    run_daily(engine, mail, day=TODAY, now=NOW)
    token = _token_of(_messages(engine)[0])
    clock.now = NOW + dt.timedelta(hours=3)
    _answer(Web(site), token, "4", "waited 40 minutes")
    tomorrow, morning = TODAY + dt.timedelta(days=1), NOW + dt.timedelta(days=1)
    run_daily(engine, mail, day=tomorrow, now=morning)
    danas = todays_list(engine, "Dana", day=tomorrow)
    assert danas[0].client_id == "C0"
    first = _list_of(engine, "Dana", tomorrow)[0]
    assert first.external_id == "C0" and first.rank == 0
    [signal] = [s for s in json.loads(first.signals) if s["code"] == "feedback"]
    assert signal["explanation"] == "Scored us 4/10 on 24 Nov: “waited 40 minutes”"
    assert "Talking points" in first.draft or "also" in first.why
    # her capacity of 1 is taken (C1, carried over; C2 waits): the answer comes on beyond it
    assert [a.client_id for a in danas] == ["C0", "C1"]
    [request] = _requests(engine)
    assert request.action_id == first.id
    after = TODAY + dt.timedelta(days=2)
    run_daily(engine, mail, day=after, now=NOW + dt.timedelta(days=2))
    with engine.connect() as conn:
        placed = conn.execute(
            sa.select(sa.func.count()).where(actions.c.reason_keys.like('%"feedback-answer:%'))
        ).scalar_one()
    assert placed == 1


def test_a_promoters_answer_puts_no_one_on_a_list(  # type: ignore[no-untyped-def]
    site, engine, mail, clock
) -> None:
    run_daily(engine, mail, day=TODAY, now=NOW)
    _answer(Web(site), _token_of(_messages(engine)[0]), "10", "Great")
    run_daily(engine, mail, day=TODAY + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1))
    with engine.connect() as conn:
        placed = conn.execute(
            sa.select(sa.func.count()).where(actions.c.reason_keys.like('%"feedback-answer:%'))
        ).scalar_one()
    assert placed == 0 and _requests(engine)[0].action_id is None


def test_a_detractor_without_an_owner_goes_to_the_practice_owners_list(  # type: ignore[no-untyped-def]
    engine, mail, tmp_path
) -> None:
    _practice(engine, mail, tmp_path)
    add_user(engine, "owner@example.com", PASSWORD, "owner", staff_name="Sam", now=NOW)
    run_daily(engine, mail, day=TODAY, now=NOW)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE clients SET owner_id = NULL WHERE external_id = 'C0'"))
    token = _token_of(_messages(engine)[0])
    assert svc.answer(engine, mail, token, "3", "", now=NOW).state == "ok"
    tomorrow = TODAY + dt.timedelta(days=1)
    run_daily(engine, mail, day=tomorrow, now=NOW + dt.timedelta(days=1))
    assert _list_of(engine, "Sam", tomorrow)[0].external_id == "C0"


# --- NPS -------------------------------------------------------------------------------------

# (client, owner, answered, score): hand-worked below
ANSWERS = [
    ("C0", "Dana", dt.datetime(2026, 10, 3, 10, tzinfo=dt.UTC), 10),
    ("C1", "Dana", dt.datetime(2026, 10, 9, 10, tzinfo=dt.UTC), 9),
    ("C2", "Dana", dt.datetime(2026, 10, 20, 10, tzinfo=dt.UTC), 3),
    ("C4", "Sam", dt.datetime(2026, 10, 21, 10, tzinfo=dt.UTC), 7),
    ("C3", "Dana", dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC), 6),
    ("C4", "Sam", dt.datetime(2026, 11, 5, 10, tzinfo=dt.UTC), 9),
    ("C0", "Dana", dt.datetime(2026, 11, 6, 10, tzinfo=dt.UTC), 8),
]
# October: 4 answers, 2 promoters, 1 passive, 1 detractor: (2 - 1) / 4 = +25
# November: 3 answers, 1 promoter, 1 passive, 1 detractor: 0
# Dana: 5 answers (10, 9, 3, 6, 8): 2 promoters, 1 passive, 2 detractors: 0
# Sam: 2 answers (7, 9): 1 promoter, 1 passive: +50
# All: 7 answers, 3 promoters, 2 passives, 2 detractors: round(100 / 7) = +14


def _answered(engine: sa.Engine, tmp_path: Path, settings: Settings) -> None:
    _practice(engine, settings, tmp_path)
    with engine.begin() as conn:
        ids = dict(conn.execute(sa.text("SELECT external_id, id FROM clients")).all())
        staff_ids = dict(conn.execute(sa.text("SELECT name, id FROM staff")).all())
        for n, (client, owner, at, score) in enumerate(ANSWERS):
            conn.execute(
                sa.insert(feedback_requests).values(
                    client_id=ids[client],
                    staff_id=staff_ids[owner],
                    visit_date=at.date() - dt.timedelta(days=5),
                    channel="email",
                    token_hash=f"{n:064d}",
                    created_at=at - dt.timedelta(days=1),
                    expires_at=at + dt.timedelta(days=29),
                    answered_at=at,
                    score=score,
                    comment=f"comment {n}",
                )
            )


def _table(result: svc.Nps) -> dict[str, tuple[int, int, int, int, int | None]]:
    lines = [result.total, *result.by_month, *result.by_staff]
    return {x.group: (x.answers, x.promoters, x.passives, x.detractors, x.nps) for x in lines}


def test_nps_by_month_and_member_of_staff_is_the_hand_worked_one(  # type: ignore[no-untyped-def]
    engine, settings, tmp_path
) -> None:
    _answered(engine, tmp_path, settings)
    assert _table(svc.nps(engine)) == {
        "all": (7, 3, 2, 2, 14),
        "2026-10": (4, 2, 1, 1, 25),
        "2026-11": (3, 1, 1, 1, 0),
        "Dana": (5, 2, 1, 2, 0),
        "Sam": (2, 1, 1, 0, 50),
    }
    november = svc.nps(engine, since=dt.date(2026, 11, 1), until=dt.date(2026, 11, 30))
    assert _table(november)["all"] == (3, 1, 1, 1, 0)
    answers = svc.nps(engine).answers
    assert [a.score for a in answers] == [8, 9, 6, 7, 3, 9, 10]  # newest first


def test_the_command_lines_json_and_csv_agree_with_the_function(  # type: ignore[no-untyped-def]
    engine, settings, tmp_path, cli
) -> None:
    _answered(engine, tmp_path, settings)
    expected = svc.nps(engine)
    shown = json.loads(cli("feedback", "report", "--format", "json").stdout)
    assert shown == json.loads(json.dumps(svc.nps_json(expected)))
    assert shown["total"]["nps"] == 14
    csv_text = cli("feedback", "report", "--format", "csv").stdout
    assert csv_text == svc.nps_csv(expected)
    assert "month,2026-10,4,2,1,1,25" in csv_text and "staff,Sam,2,1,1,0,50" in csv_text
    text = cli("feedback", "report").stdout
    assert "2026-10: NPS +25 from 4 answers" in text


def test_the_reports_page_its_csv_and_the_command_line_agree(  # type: ignore[no-untyped-def]
    engine, settings, tmp_path, cli, web
) -> None:
    _answered(engine, tmp_path, settings)
    owner = web()
    page = owner.get("/reports").text
    assert 'id="nps-total">+14</strong> from 7 answer(s)' in page
    assert '<svg class="chart report-chart" id="nps-chart"' in page
    assert '<tr data-staff="Sam"><th scope="row">Sam</th><td class="num">2</td>' in page
    assert page.index("comment 6") < page.index("comment 0")  # newest first
    download = owner.get("/reports/nps.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.text == cli("feedback", "report", "--format", "csv").stdout
    assert download.text == svc.nps_csv(svc.nps(engine))


def test_staff_see_their_own_clients_answers_only(engine, settings, tmp_path, web) -> None:  # type: ignore[no-untyped-def]
    _answered(engine, tmp_path, settings)
    sam = web("sam@example.com", role="staff", staff="Sam")
    page = sam.get("/reports").text
    assert 'id="nps-total">+50</strong> from 2 answer(s)' in page
    assert 'data-staff="Dana"' not in page and "comment 0" not in page
    assert "total,all,2,1,1,0,50" in sam.get("/reports/nps.csv").text


def test_the_clients_page_shows_their_answers(engine, settings, tmp_path, web) -> None:  # type: ignore[no-untyped-def]
    _answered(engine, tmp_path, settings)
    page = web().get("/clients/C2").text
    assert 'id="feedback-h">Feedback</h2>' in page
    assert "scored <strong>3/10</strong>: “comment 2”" in page


def test_the_email_arrives_with_the_link_opening_it_changes_nothing_answering_records(  # type: ignore[no-untyped-def]
    engine, settings, tmp_path, clock
) -> None:
    from keepwarm.services.delivery import deliver_due
    from keepwarm.web import create_app
    from smtp_support import running_smtp

    with running_smtp() as (host, port, handler):
        mail = settings.replace(**(MAIL | {"smtp_url": f"smtp://{host}:{port}"}))
        _practice(engine, mail, tmp_path)
        run_daily(engine, mail, day=TODAY, now=NOW)
        deliver_due(engine, mail, now_fn=clock)
        [message] = handler.messages
    assert message["To"] == "c0@example.com"
    assert message["List-Unsubscribe"]  # bulk mail: one click to stop it
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(re.escape(BASE) + r"(/feedback/\S+)", text)
    assert found, text
    app = create_app(mail)
    before = _snapshot(engine)
    browser = Web(app)
    page = browser.get(found.group(1))
    assert page.status_code == 200 and _snapshot(engine) == before
    answer = browser.client.post(
        "/feedback",
        data={
            "csrf_token": csrf_of(page.text, "/feedback"),
            "token": found.group(1).rsplit("/", 1)[1],
            "score": "9",
        },
    )
    assert answer.status_code == 200
    [row] = _requests(engine)
    assert (row.score, row.comment) == (9, None) and row.answered_at is not None
