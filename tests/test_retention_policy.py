"""The retention policy: erase_inactive_years (0, off, by default) makes the daily job erase
every client with no visit or touch for that many years, reason "retention", audited;
`keepwarm erase --inactive-years N --dry-run` lists who. The clock is mocked (the day is
given). On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.domain.model import ImportKind
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.policy import get_policy, set_policy_value
from keepwarm.services.staff import add_staff

CLIENTS = (
    "id,name,owner,email,since\n"
    "OLD-1,Ottoline Oldvisit,Dana,otto@example.com,2015-03-01\n"
    "OLD-2,Never Seen,Dana,,2018-01-01\n"
    "NEW-1,Recent Visitor,Dana,recent@example.com,2015-03-01\n"
    "NOD-1,No Dates,Dana,,\n"
)
ACTIVITIES = (
    "client_id,date,amount,kind\n"
    f"OLD-1,{TODAY.year - 6}-05-01,50.00,visit\n"
    f"NEW-1,{TODAY.year - 6}-05-01,50.00,visit\n"
    f"NEW-1,{TODAY.year - 1}-05-01,50.00,visit\n"
)


@pytest.fixture
def practice(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    add_staff(engine, "Dana", email=None, weekly_quota=5, now=NOW)
    for kind, text in ((ImportKind.CLIENTS, CLIENTS), (ImportKind.ACTIVITIES, ACTIVITIES)):
        path = tmp_path / f"{kind.value}.csv"
        path.write_text(text)
        assert import_file(engine, settings, kind, path, today=TODAY, now=NOW).ok
    return engine


def _ids(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.exec_driver_sql("SELECT external_id FROM clients").scalars())


def test_off_by_default_then_the_daily_job_erases_the_inactive(  # type: ignore[no-untyped-def]
    practice, settings, caplog
) -> None:
    assert get_policy(practice).erase_inactive_years == 0
    run_daily(practice, settings, day=TODAY, now=NOW)
    assert _ids(practice) == {"OLD-1", "OLD-2", "NEW-1", "NOD-1"}

    set_policy_value(practice, "erase_inactive_years", "3", now=NOW)
    caplog.set_level(logging.INFO)
    later = NOW + dt.timedelta(days=1)
    run_daily(practice, settings, day=TODAY + dt.timedelta(days=1), now=later)
    # OLD-1's last visit and OLD-2's first day are over 3 years ago; NEW-1 came last year; NOD-1
    # has no date at all and is never chosen.
    assert _ids(practice) == {"NEW-1", "NOD-1"}
    assert "retention: 2 clients erased (no activity for 3 years)" in caplog.text
    with practice.connect() as conn:
        erasures = conn.exec_driver_sql("SELECT reason, erased_by FROM erasures").all()
        assert [tuple(e) for e in erasures] == [("retention", "keepwarm (retention policy)")] * 2
        entries = conn.exec_driver_sql(
            "SELECT details FROM audit_log WHERE action = 'erase'"
        ).scalars()
        assert list(entries) == ['{"reason": "retention"}'] * 2


def test_the_command_lists_who_on_a_dry_run(practice, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("keepwarm.cli.privacy.today", lambda: TODAY)
    monkeypatch.setattr("keepwarm.cli.privacy.now", lambda: NOW)
    result = cli("erase", "--inactive-years", "3", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would erase 2 clients with no activity for 3 years." in result.output
    assert "  OLD-2\n  OLD-1" in result.output  # the longest gone first
    assert _ids(practice) == {"OLD-1", "OLD-2", "NEW-1", "NOD-1"}
    result = cli("erase", "--inactive-years", "10", "--dry-run")
    assert "Would erase 0 clients" in result.output
    result = cli("erase", "--inactive-years", "3", "--yes")
    assert result.exit_code == 0 and "Erased 2 clients" in result.output
    assert _ids(practice) == {"NEW-1", "NOD-1"}
    bad = cli("erase", "--inactive-years", "0")
    assert bad.exit_code != 0 and _ids(practice) == {"NEW-1", "NOD-1"}
