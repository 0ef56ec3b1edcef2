"""The morning email: staff who opt in get their day's list by email once the daily job has
made the plan, once a day however often the job runs; the owner gets the team's summary;
nothing is queued without mail settings. End to end through a real SMTP server on loopback.
On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.services.daily_job import run_daily
from keepwarm.services.delivery import deliver_due
from keepwarm.services.morning import queue_morning, wants_morning_email
from keepwarm.services.todays_list import todays_list
from keepwarm.services.users import add_user, user_by_email
from keepwarm.store.tables import outbox
from smtp_support import running_smtp
from test_web_today import _practice
from web_support import PASSWORD, Web

DAY = TODAY + dt.timedelta(days=1)
LATER = NOW + dt.timedelta(days=1)


def _mail(settings: Settings, port: int = 2525) -> Settings:
    return settings.replace(
        smtp_url=f"smtp://127.0.0.1:{port}",
        mail_from="Northside Physio <hello@northside.example>",
        base_url="https://keepwarm.example.com",
    )


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path, cli: Any) -> sa.Engine:
    _practice(engine, settings, tmp_path)
    add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    add_user(engine, "dana@example.com", PASSWORD, "staff", staff_name="Dana", now=NOW)
    add_user(engine, "sam@example.com", PASSWORD, "staff", staff_name="Sam", now=NOW)
    return engine


def _morning_rows(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        query = sa.select(outbox).where(outbox.c.kind == "morning").order_by(outbox.c.id)
        return list(conn.execute(query))


def test_opting_in_by_the_command_line_turns_the_morning_email_on_and_off(practice, cli) -> None:  # type: ignore[no-untyped-def]
    dana = user_by_email(practice, "dana@example.com")
    assert not wants_morning_email(practice, dana.id)  # off unless asked for
    result = cli("user", "morning-email", "dana@example.com", "--on")
    assert result.exit_code == 0 and "each morning" in result.output
    assert wants_morning_email(practice, dana.id)
    assert cli("user", "morning-email", "dana@example.com", "--off").exit_code == 0
    assert not wants_morning_email(practice, dana.id)
    missing = cli("user", "morning-email", "nobody@example.com", "--on")
    assert missing.exit_code != 0 and "no user with email" in missing.output


def test_the_daily_job_queues_one_morning_email_per_opted_in_user_even_run_twice(
    practice, settings, cli
) -> None:  # type: ignore[no-untyped-def]
    cli("user", "morning-email", "dana@example.com", "--on")
    mail = _mail(settings)
    run_daily(practice, mail, day=DAY, now=LATER)
    run_daily(practice, mail, day=DAY, now=LATER)  # already planned: nothing more
    assert queue_morning(practice, mail, day=DAY, now=LATER) == 0  # and called again directly
    [row] = _morning_rows(practice)
    assert row.key == f"morning:{DAY.isoformat()}:{user_by_email(practice, 'dana@example.com').id}"
    assert (row.channel, row.to_address, row.state) == ("email", "dana@example.com", "queued")
    assert row.client_id is None and not row.bulk and not row.personal
    listed = todays_list(practice, "Dana", day=DAY)
    assert row.subject == f"Your list for Wednesday 25 November: {len(listed)} client" + (
        "s" if len(listed) != 1 else ""
    )
    for action in listed:
        assert f"{action.rank}. {action.client_name} — " in row.body
        assert f"Suggested: {action.channel}." in row.body
    assert "Client 4" not in row.body  # Sam's client, not on Dana's list
    assert "https://keepwarm.example.com/today" in row.body


def test_the_owner_gets_the_teams_summary(practice, settings, cli) -> None:  # type: ignore[no-untyped-def]
    cli("user", "morning-email", "owner@example.com", "--on")
    mail = _mail(settings)
    assert queue_morning(practice, mail, day=TODAY, now=NOW) == 1
    [row] = _morning_rows(practice)
    assert row.subject.startswith("The team's lists for Tuesday 24 November")
    assert "Dana: 1 on the list; 0 of 2 done this week; 3 waiting" in row.body
    assert "Sam: 1 on the list; 0 of 4 done this week" in row.body


def test_without_mail_settings_no_morning_email_is_queued(practice, settings, cli) -> None:  # type: ignore[no-untyped-def]
    cli("user", "morning-email", "dana@example.com", "--on")
    run_daily(practice, settings, day=DAY, now=LATER)
    assert queue_morning(practice, settings, day=DAY, now=LATER) == 0
    assert _morning_rows(practice) == []


def test_the_morning_email_arrives_through_a_real_smtp_server(practice, settings, cli) -> None:  # type: ignore[no-untyped-def]
    cli("user", "morning-email", "sam@example.com", "--on")
    with running_smtp() as (_, port, handler):
        mail = _mail(settings, port)
        run_daily(practice, mail, day=DAY, now=LATER)
        deliver_due(practice, mail, now_fn=lambda: LATER)
        [message] = handler.messages
    assert message["To"] == "sam@example.com"
    assert message["Subject"].startswith("Your list for Wednesday 25 November: 1 client")
    assert message["List-Unsubscribe"] is None  # not bulk mail to clients
    assert "Client 4" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [row] = _morning_rows(practice)
    assert row.state == "sent" and row.touch_id is None  # staff mail: no client touch


def test_a_member_turns_the_morning_email_on_from_their_account_page(practice, db_url) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.web import create_app

    app = create_app(_mail(Settings(database_url=db_url)))
    dana = Web(app)
    assert dana.sign_in("dana@example.com").status_code == 303
    page = dana.get("/account").text
    assert "Email me each morning" in page
    assert dana.post("/account/morning-email", data={"on": "yes"}).status_code == 303
    assert wants_morning_email(practice, user_by_email(practice, "dana@example.com").id)
    assert "Stop the morning email" in dana.get("/account").text


def test_two_runs_at_once_queue_each_morning_email_once(practice, settings, cli) -> None:  # type: ignore[no-untyped-def]
    import threading

    cli("user", "morning-email", "dana@example.com", "--on")
    cli("user", "morning-email", "owner@example.com", "--on")
    mail = _mail(settings)
    counts: list[int] = []
    start = threading.Barrier(3)

    def run() -> None:
        start.wait()
        counts.append(queue_morning(practice, mail, day=TODAY, now=NOW))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(counts) == 2 and len(counts) == 3
    assert sorted(r.to_address for r in _morning_rows(practice)) == [
        "dana@example.com",
        "owner@example.com",
    ]


def test_the_morning_email_help_names_every_setting_email_needs() -> None:
    from typer.testing import CliRunner

    from keepwarm.cli import app

    shown = CliRunner().invoke(app, ["user", "morning-email", "--help"], env={"COLUMNS": "200"})
    needed = Settings().mail_missing  # nothing set: every variable sending email needs
    assert "KEEPWARM_BASE_URL" in needed
    for name in needed:
        assert name in shown.output, name
