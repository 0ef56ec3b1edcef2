"""The daily job runs exactly once per local date: twice, or twice at once, gives one plan; a
run killed half-way is simply run again; and the date is the business's own, across
daylight-saving changes."""

from __future__ import annotations

import datetime as dt
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepwarm.domain.errors import DatabaseError
from keepwarm.domain.policy import Policy
from keepwarm.services.daily_job import local_today
from test_signals_service import AS_OF, _write

DAY = AS_OF.isoformat()
CLIENTS = 125  # in test_signals_service's practice


def _keepwarm(db_url: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "keepwarm.cli", *args, "--db", db_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def practice(cli, db_url: str, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    for name in ("Dana", "Sam"):
        assert cli("staff", "add", name).exit_code == 0
    for kind, path in zip(("clients", "activities", "touches"), _write(tmp_path), strict=True):
        assert cli("import", kind, str(path)).exit_code == 0
    return db_url


_DAY = sa.bindparam("day", type_=sa.Date)
_ON_DAY_PLAN = sa.text(
    "SELECT completed_at IS NOT NULL, actions FROM plans WHERE day = :day"
).bindparams(_DAY)
_ON_DAY_ACTIONS = sa.text("SELECT COUNT(*) FROM actions WHERE day = :day").bindparams(_DAY)
_ON_DAY_COMPLETE = sa.text(
    "SELECT COUNT(*) FROM plans WHERE day = :day AND completed_at IS NOT NULL"
).bindparams(_DAY)
_CLIENT_ACTIONS = sa.text(
    "SELECT a.id, a.status FROM actions a JOIN clients c ON c.id = a.client_id "
    "WHERE c.external_id = :client"
)


def _plan_state(engine: sa.Engine) -> tuple[list[tuple], list[tuple]]:
    with engine.connect() as conn:
        plans = conn.exec_driver_sql("SELECT day, completed_at IS NOT NULL FROM plans").all()
        acts = conn.exec_driver_sql(
            "SELECT client_id, staff_id, rank, status FROM actions ORDER BY client_id"
        ).all()
    return [(str(day), bool(done)) for day, done in plans], [tuple(a) for a in acts]


def test_two_runs_at_once_make_exactly_one_plan(practice: str, engine: sa.Engine) -> None:
    runs = [_keepwarm(practice, "run-daily", "--as-of", DAY) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    said = [out.decode() for out, _ in outputs]
    assert sum("Planned" in s for s in said) == 1
    assert sum("already made" in s for s in said) == 1
    plans, actions = _plan_state(engine)
    assert plans == [(DAY, True)]
    assert actions and len({a[0] for a in actions}) == len(actions)  # one action per client


def test_a_run_killed_at_any_moment_leaves_one_complete_plan_after_a_rerun(
    practice: str, engine: sa.Engine
) -> None:
    started = time.perf_counter()
    assert _keepwarm(practice, "run-daily", "--as-of", "2026-06-29").wait(timeout=120) == 0
    duration = time.perf_counter() - started
    first_actions = _plan_state(engine)[1]
    assert first_actions  # the practice has clients to contact: the kills below hit real work
    rng = random.Random(5)
    for attempt in range(3):
        day = (AS_OF + dt.timedelta(days=attempt)).isoformat()
        victim = _keepwarm(practice, "run-daily", "--as-of", day)
        time.sleep(rng.uniform(0.2, duration))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        with engine.connect() as conn:  # whole or absent: never a half-written plan
            done = conn.execute(_ON_DAY_PLAN, {"day": dt.date.fromisoformat(day)}).all()
            written = conn.execute(_ON_DAY_ACTIONS, {"day": dt.date.fromisoformat(day)}).scalar()
        if done and done[0][0]:
            # Complete: its new actions are all there (carried-over ones keep their first day).
            assert done[0][1] > 0 and written <= done[0][1]
        else:
            assert written == 0  # actions and completion are one transaction
        assert _keepwarm(practice, "run-daily", "--as-of", day).wait(timeout=120) == 0
        with engine.connect() as conn:
            complete = conn.execute(_ON_DAY_COMPLETE, {"day": dt.date.fromisoformat(day)}).scalar()
        assert complete == 1
    plans, actions = _plan_state(engine)
    assert sorted(plans) == [
        ((AS_OF + dt.timedelta(days=d)).isoformat(), True) for d in range(-1, 3)
    ]
    live = [a for a in actions if a[3] in ("open", "waiting", "snoozed")]
    assert live and len({a[0] for a in live}) == len(live)  # still one live action per client


@pytest.mark.parametrize(
    ("utc", "zone", "local"),
    [
        # New York springs forward at 2:00 on 8 March 2026 and falls back on 1 November.
        (dt.datetime(2026, 3, 8, 6, 59, tzinfo=dt.UTC), "America/New_York", dt.date(2026, 3, 8)),
        (dt.datetime(2026, 3, 8, 4, 59, tzinfo=dt.UTC), "America/New_York", dt.date(2026, 3, 7)),
        (dt.datetime(2026, 11, 1, 3, 30, tzinfo=dt.UTC), "America/New_York", dt.date(2026, 10, 31)),
        (dt.datetime(2026, 11, 1, 4, 30, tzinfo=dt.UTC), "America/New_York", dt.date(2026, 11, 1)),
        (dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC), "Europe/Berlin", dt.date(2026, 3, 29)),
        (dt.datetime(2026, 6, 30, 14, 0, tzinfo=dt.UTC), "Pacific/Auckland", dt.date(2026, 7, 1)),
    ],
)
def test_the_plan_date_is_the_businesss_own_local_date(
    utc: dt.datetime, zone: str, local: dt.date
) -> None:
    assert local_today(Policy(time_zone=zone), utc) == local


@pytest.mark.parametrize("act", ["done", "snoozed", "dismissed"])
def test_an_action_taken_while_the_plan_is_being_made_is_never_overwritten(
    act: str, practice: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keepwarm.config import Settings
    from keepwarm.services import actions, daily_job, todays_list

    settings = Settings(database_url=practice)
    first = dt.datetime.combine(AS_OF, dt.time(7), tzinfo=dt.UTC)
    daily_job.run_daily(engine, settings, day=AS_OF, now=first)
    target = next(a for a in todays_list.todays_list(engine) if a.signals)
    next_day = AS_OF + dt.timedelta(days=1)
    started = dt.datetime.combine(next_day, dt.time(7), tzinfo=dt.UTC)
    meanwhile = started + dt.timedelta(seconds=5)
    planning = daily_job._plan

    def plan_while_someone_acts(*args, **kwargs):  # type: ignore[no-untyped-def]
        made = planning(*args, **kwargs)
        # Someone acts after the plan read the earlier actions, before it is written.
        if act == "done":
            actions.complete_action(
                engine,
                target.id,
                channel="call",
                outcome=None,
                note=None,
                day=next_day,
                now=meanwhile,
            )
        elif act == "snoozed":
            until = next_day + dt.timedelta(days=7)
            actions.snooze_action(engine, target.id, until=until, today=next_day, now=meanwhile)
        else:
            actions.dismiss_action(engine, target.id, reason="Moved away", now=meanwhile)
        return made

    monkeypatch.setattr(daily_job, "_plan", plan_while_someone_acts)
    run = daily_job.run_daily(engine, settings, day=next_day, now=started)
    assert not run.already_planned
    with engine.connect() as conn:
        rows = conn.execute(_CLIENT_ACTIONS, {"client": target.client_id}).all()
    # Still as the person left it, and no new open action for the client.
    assert [(row[0], row[1]) for row in rows] == [(target.id, act)]


def _rhythm_days(engine: sa.Engine) -> list[tuple[str, int]]:
    """Each day the stored rhythms are of, with how many; every client has one."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT as_of, COUNT(*) FROM rhythms GROUP BY as_of").all()
        everyone = conn.exec_driver_sql("SELECT COUNT(*) FROM clients").scalar()
    assert sum(count for _, count in rows) == everyone
    return [(str(day), count) for day, count in rows]


def test_a_failed_rhythm_write_plans_nothing_and_a_rerun_plans_the_day(
    practice: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keepwarm.config import Settings
    from keepwarm.services import daily_job
    from keepwarm.services import rhythms as rhythm_service

    settings = Settings(database_url=practice)
    at = dt.datetime.combine(AS_OF, dt.time(7), tzinfo=dt.UTC)
    daily_job.run_daily(engine, settings, day=AS_OF, now=at)
    assert _rhythm_days(engine) == [(DAY, CLIENTS)]
    next_day = AS_OF + dt.timedelta(days=1)
    real_replace = rhythm_service.store.replace_rhythms

    def disk_full(*args: object) -> None:
        raise sa.exc.OperationalError("INSERT INTO rhythms", {}, Exception("disk is full"))

    monkeypatch.setattr(rhythm_service.store, "replace_rhythms", disk_full)
    with pytest.raises(DatabaseError, match="disk is full"):
        daily_job.run_daily(engine, settings, day=next_day, now=at + dt.timedelta(days=1))
    with engine.connect() as conn:  # nothing of the day's plan, yesterday's rhythms kept
        assert conn.execute(_ON_DAY_ACTIONS, {"day": next_day}).scalar() == 0
        assert conn.execute(_ON_DAY_COMPLETE, {"day": next_day}).scalar() == 0
    assert _rhythm_days(engine) == [(DAY, CLIENTS)]
    monkeypatch.setattr(rhythm_service.store, "replace_rhythms", real_replace)
    run = daily_job.run_daily(engine, settings, day=next_day, now=at + dt.timedelta(days=1))
    assert not run.already_planned and run.actions > 0  # run again, it plans the day
    assert _rhythm_days(engine) == [(next_day.isoformat(), CLIENTS)]


def test_a_database_in_memory_plans_its_day_with_its_rhythms(tmp_path: Path) -> None:
    from keepwarm.config import Settings
    from keepwarm.domain.model import ImportKind
    from keepwarm.services.daily_job import run_daily
    from keepwarm.services.importing import import_file
    from keepwarm.services.staff import add_staff
    from keepwarm.store import connect, migrate

    engine = connect("sqlite://")
    migrate(engine)
    settings = Settings(database_url="sqlite://")
    at = dt.datetime.combine(AS_OF, dt.time(7), tzinfo=dt.UTC)
    for kind, path in zip(ImportKind, _write(tmp_path), strict=True):
        assert import_file(engine, settings, kind, path, today=AS_OF, now=at).ok
    add_staff(engine, "Dana", email=None, weekly_quota=10, now=at)
    run = run_daily(engine, settings, day=AS_OF, now=at)
    assert run.actions > 0
    assert _rhythm_days(engine) == [(DAY, CLIENTS)]
