"""The daily job follows what changed, and plans exactly what the full computation plans.

The packed copy of every activity (keepwarm.services.activity_snapshot) is brought up to date
from the change log the database's triggers write; here every path that changes activities
(an import adding and correcting activities, a merge of two clients, an erasure, a client's
deletion) is followed by a fold and compared with a full read. Then whole practices (the
scenario suite's busy and quiet weeks, and a random practice) are lived through twice, once as
the daily job runs by default and once reading every activity afresh each day (`--rebuild`),
and every day's lists, every rhythm and every fit must be the same. Last, when the population
model is refitted: weekly, on 5% more activities or clients, or when asked.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from conftest import database_in
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services import activity_snapshot
from keepwarm.services.backup import schema_differences
from keepwarm.services.client_merge import merge_clients
from keepwarm.services.daily_job import run_daily
from keepwarm.services.erasure import erase_client
from keepwarm.services.importing import import_file
from keepwarm.services.rhythms import compute_rhythms
from keepwarm.store import activity_snapshot as snapshot_store
from keepwarm.store import facts, reading
from keepwarm.store.activity_snapshot import Packed
from keepwarm.store.tables import activity_changes, rhythm_fits, rhythms
from keepwarm.store.tables import activity_snapshot as snapshot_table
from scenarios import stories
from scenarios.generate import background
from scenarios.practice import Practice, live_week, weekdays

NOW = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)
OWNER = "owner@example.com"


def _canonical(packed: Packed) -> list[tuple[int, int, int, str]]:
    """The activities as a sorted list (the order within one day is not kept)."""
    kinds = [*packed.kinds, ""]
    return sorted(
        zip(
            packed.client_id.tolist(),
            packed.day.tolist(),
            packed.cents.tolist(),
            [kinds[k] for k in packed.kind.tolist()],
            strict=True,
        )
    )


def _clients_csv(path: Path, ids: list[str]) -> Path:
    lines = ["id,first_name,last_name,email"]
    lines += [f"{i},First{i},Last{i},{i.lower()}@example.com" for i in ids]
    path.write_text("\n".join(lines) + "\n")
    return path


def _activities_csv(path: Path, rows: list[tuple[str, str, dt.date, str, str]]) -> Path:
    lines = ["id,client_id,date,amount,kind"]
    lines += [f"{a},{c},{d.isoformat()},{amount},{kind}" for a, c, d, amount, kind in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _import(engine: sa.Engine, settings: Settings, kind: ImportKind, path: Path) -> None:
    report = import_file(engine, settings, kind, path, today=TODAY, now=NOW)
    assert report.ok, report.problems[:3]


def _random_history(rng: random.Random, ids: list[str]) -> list[Any]:
    """Up to a dozen activities per client, from 2024 to August 2025 (some two on one day)."""
    rows = []
    for client in ids:
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 300))
        for _ in range(rng.randint(0, 12)):
            if day > dt.date(2025, 8, 31):
                break
            kind = rng.choice(["visit", "visit", "checkup", "glasses", ""])
            amount = f"{rng.randint(0, 300)}.{rng.randint(0, 99):02d}"
            rows.append((f"A{len(rows)}", client, day, amount, kind))
            day += dt.timedelta(days=rng.choice([0, 7, 30, 45, 90]))  # 0: two the same day
    return rows


def _fold_then_full(engine: sa.Engine) -> tuple[Packed, Packed]:
    _, folded = activity_snapshot.current(engine, NOW)
    _, full = activity_snapshot.current(engine, NOW, rebuild=True)
    return folded, full


def _log_size(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(activity_changes)).scalar_one()
        )


@pytest.mark.parametrize("block", [65_536, 7], ids=["one-block", "blocks-of-7"])
def test_the_fold_gives_what_a_full_read_gives_after_every_kind_of_change(
    engine: sa.Engine,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    block: int,
) -> None:
    monkeypatch.setattr(snapshot_store, "BLOCK_CLIENTS", block)
    monkeypatch.setattr(activity_snapshot, "STORE_FRACTION", 0.0)  # every fold is stored
    rng = random.Random(7)
    ids = [f"C{i}" for i in range(60)]
    _import(engine, settings, ImportKind.CLIENTS, _clients_csv(tmp_path / "c.csv", ids))
    history = _random_history(rng, ids)
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "a.csv", history))
    assert _log_size(engine) > 0  # the triggers wrote the import's clients

    _, first = activity_snapshot.current(engine, NOW)  # no snapshot yet: a full read, stored
    assert _log_size(engine) == 0
    assert first.size == len(history)

    # An evening's import: new activities for a few clients, a correction of an old one
    # (same business id, new amount and date), a new client with a history.
    fixed = history[0]
    evening = [
        (fixed[0], fixed[1], fixed[2] + dt.timedelta(days=3), "999.00", "glasses"),
        ("N1", "C5", dt.date(2025, 6, 1), "40.00", "visit"),
        ("N2", "C9", dt.date(2025, 6, 2), "", ""),
        ("N3", "C61", dt.date(2025, 6, 3), "12.50", "checkup"),
    ]
    _import(engine, settings, ImportKind.CLIENTS, _clients_csv(tmp_path / "c2.csv", ["C61"]))
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "e.csv", evening))
    changed = _log_size(engine)
    assert changed >= 4
    caplog.set_level("INFO", logger="keepwarm.services.activity_snapshot")
    folded, full = _fold_then_full(engine)
    assert "brought up to date" in caplog.text  # the fold, not a full read
    assert _canonical(folded) == _canonical(full)
    assert folded.size == len(history) + 3
    assert _log_size(engine) == 0

    # Two clients merged: the merged one's activities move to the kept one.
    merge_clients(engine, "C1", "C2", by=OWNER, now=NOW)
    assert _log_size(engine) > 0
    folded, full = _fold_then_full(engine)
    assert _canonical(folded) == _canonical(full)
    with reading(engine) as conn:
        c2 = conn.exec_driver_sql("SELECT count(*) FROM clients WHERE external_id = 'C2'")
        assert c2.scalar_one() == 0

    # Activities deleted in SQL, by no keepwarm path at all: the triggers still see it.
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "DELETE FROM activities WHERE client_id = "
            "(SELECT id FROM clients WHERE external_id = 'C3')"
        )
    folded, full = _fold_then_full(engine)
    assert _canonical(folded) == _canonical(full)

    # An erasure drops the packed copy (it held their activities); the next read is full.
    erase_client(engine, "C4", actor=OWNER, now=NOW)
    with engine.connect() as conn:
        assert conn.execute(sa.select(snapshot_table.c.block)).first() is None
    caplog.clear()
    folded, full = _fold_then_full(engine)
    assert "read in full" in caplog.text
    assert _canonical(folded) == _canonical(full)

    # What the fold keeps is what the store's own query says, for the signal rules too.
    for as_of in (dt.date(2024, 6, 1), dt.date(2025, 6, 2), TODAY):
        with reading(engine) as conn:
            read = facts.activity_facts(conn, as_of)
        kept = activity_snapshot.activity_columns(folded, as_of).facts()
        assert kept.spans == read.spans
        assert kept.last_by_kind == dict(read.last_by_kind)


def test_a_fold_rewrites_only_the_blocks_of_the_clients_that_changed(
    engine: sa.Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot_store, "BLOCK_CLIENTS", 10)
    monkeypatch.setattr(activity_snapshot, "STORE_FRACTION", 0.0)
    ids = [f"C{i}" for i in range(40)]
    _import(engine, settings, ImportKind.CLIENTS, _clients_csv(tmp_path / "c.csv", ids))
    rows = _random_history(random.Random(5), ids)
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "a.csv", rows))
    activity_snapshot.current(engine, NOW)

    def blocks() -> dict[int, tuple[Any, int]]:
        with engine.connect() as conn:
            found = conn.execute(
                sa.select(
                    snapshot_table.c.block, snapshot_table.c.built_at, snapshot_table.c.activities
                )
            ).all()
        return {b: (at, n) for b, at, n in found}

    before = blocks()
    assert len(before) >= 4  # 40 clients in blocks of 10 ids
    with engine.connect() as conn:
        c25 = conn.execute(sa.text("SELECT id FROM clients WHERE external_id = 'C25'")).scalar_one()
    later = NOW + dt.timedelta(hours=1)
    new = [("NEW", "C25", dt.date(2025, 8, 1), "10.00", "visit")]
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "n.csv", new))
    _, folded = activity_snapshot.current(engine, later)
    after = blocks()
    rewritten = {b for b in after if after[b][0] != before.get(b, (None,))[0]}
    assert rewritten == {0, c25 // 10}  # block 0 carries the version; C25's block
    assert after[c25 // 10][1] == before[c25 // 10][1] + 1
    _, full = activity_snapshot.current(engine, later, rebuild=True)
    assert _canonical(folded) == _canonical(full)


def test_a_few_changes_are_re_read_each_morning_until_enough_to_store(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    ids = [f"C{i}" for i in range(100)]
    _import(engine, settings, ImportKind.CLIENTS, _clients_csv(tmp_path / "c.csv", ids))
    rows = _random_history(random.Random(9), ids)
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "a.csv", rows))
    activity_snapshot.current(engine, NOW)
    with engine.connect() as conn:
        version = conn.execute(sa.select(snapshot_table.c.version)).scalar_one()

    def stored_version() -> int:
        with engine.connect() as conn:
            found = conn.execute(
                sa.select(snapshot_table.c.version).where(snapshot_table.c.block == 0)
            )
            return int(found.scalar_one())

    few = [(f"F{i}", f"C{i}", dt.date(2025, 8, 1), "10.00", "visit") for i in range(3)]
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "f.csv", few))
    for _ in range(2):  # 3 of 100 clients: below 5%, re-read each time, not stored
        _, folded = activity_snapshot.current(engine, NOW)
        assert folded.size == len(rows) + 3
        assert stored_version() == version and _log_size(engine) >= 3
    more = [(f"M{i}", f"C{i + 10}", dt.date(2025, 8, 2), "10.00", "visit") for i in range(3)]
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "m.csv", more))
    _, folded = activity_snapshot.current(engine, NOW)  # 6 of 100: stored
    assert stored_version() == version + 1 and _log_size(engine) == 0
    _, full = activity_snapshot.current(engine, NOW, rebuild=True)
    assert _canonical(folded) == _canonical(full)


def test_a_change_made_while_a_fold_runs_is_kept_for_the_next(
    engine: sa.Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [f"C{i}" for i in range(5)]
    _import(engine, settings, ImportKind.CLIENTS, _clients_csv(tmp_path / "c.csv", ids))
    rows = _random_history(random.Random(3), ids)
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "a.csv", rows))
    activity_snapshot.current(engine, NOW)
    late = [("LATE", "C1", dt.date(2025, 1, 9), "5.00", "visit")]
    real_store = activity_snapshot._store

    def import_then_store(*args: Any) -> None:  # an import commits between the read and the store
        _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "l.csv", late))
        real_store(*args)

    monkeypatch.setattr(activity_snapshot, "_store", import_then_store)
    monkeypatch.setattr(activity_snapshot, "STORE_FRACTION", 0.0)
    _import(
        engine,
        settings,
        ImportKind.ACTIVITIES,
        _activities_csv(tmp_path / "x.csv", [("X", "C2", dt.date(2025, 1, 8), "1.00", "")]),
    )
    _, folded = activity_snapshot.current(engine, NOW)
    assert folded.size == len(rows) + 1  # the late one was not read...
    assert _log_size(engine) >= 1  # ...and its change row stays
    monkeypatch.setattr(activity_snapshot, "_store", real_store)
    folded, full = _fold_then_full(engine)
    assert full.size == len(rows) + 2
    assert _canonical(folded) == _canonical(full)


# --- whole practices: the default daily job against a full read every day ----------------------


def _comparable(plan: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            a["client"]["id"],
            a["staff"],
            a["rank"],
            a["channel"],
            json.dumps(a["signals"], sort_keys=True),
            a["why"],
            a.get("draft"),
        )
        for a in plan["actions"]
    )


def _rhythm_rows(url: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            skip = {"fit_id"}
            cols = [c for c in rhythms.c if c.name not in skip]
            rows = conn.execute(sa.select(*cols).order_by(rhythms.c.client_id)).all()
            fits = conn.execute(
                sa.select(
                    rhythm_fits.c.as_of, rhythm_fits.c.population, rhythm_fits.c.lapse_calibration
                )
            ).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows] + [tuple(f) for f in fits]


def _random_practice() -> Practice:
    monday = dt.date(2026, 3, 9)
    people = background(
        seed=4242,
        count=120,
        owners=("Ana", "Ben"),
        mix=stories.BUSY_MIX,
        last_visit_by=monday + dt.timedelta(days=4),
    )
    return Practice(
        name="random",
        clients=tuple(people),
        days=weekdays(monday),
        staff_commands=(("staff", "add", "Ana"), ("staff", "add", "Ben")),
        marks_done=frozenset({"Ana"}),
    )


PRACTICES = {
    "busy": stories.busy_practice,
    "quiet": stories.quiet_practice,
    "random": _random_practice,
}


@pytest.mark.parametrize(
    ("name", "backend"),
    [("busy", "sqlite"), ("busy", "postgresql"), ("quiet", "sqlite"), ("random", "sqlite")],
)
def test_every_day_plans_what_reading_every_activity_plans(
    name: str, backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    practice = PRACTICES[name]()
    weeks, learned = {}, {}
    for mode, daily in (("follows", ()), ("full", ("--rebuild",))):
        folder = tmp_path / mode
        folder.mkdir()
        with database_in(backend, request, folder, "kwinc_") as url:
            weeks[mode] = live_week(url, folder, practice, daily=daily)
            learned[mode] = _rhythm_rows(url)
    for day in practice.days:
        follows, full = weeks["follows"].plans[day], weeks["full"].plans[day]
        assert _comparable(follows) == _comparable(full), day
        assert follows.get("waiting") == full.get("waiting"), day
    assert learned["follows"] == learned["full"]
    assert sum(len(weeks["follows"].plans[d]["actions"]) for d in practice.days) >= 1


# --- when the population model is refitted ----------------------------------------------------


def _fits(engine: sa.Engine) -> list[tuple[int, dt.date, int | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(rhythm_fits.c.id, rhythm_fits.c.as_of, rhythm_fits.c.activities).order_by(
                rhythm_fits.c.id
            )
        ).all()
    return [tuple(r) for r in rows]


def _rhythms_now(engine: sa.Engine) -> dict[int, tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(rhythms)).all()
    return {r.client_id: tuple(r) for r in rows}


def _practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> list[Any]:
    ids = [f"C{i}" for i in range(80)]
    _import(engine, settings, ImportKind.CLIENTS, _clients_csv(tmp_path / "c.csv", ids))
    history = _random_history(random.Random(11), ids)
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "a.csv", history))
    return history


def test_the_population_model_is_refitted_weekly_or_when_enough_changed(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    history = _practice(engine, settings, tmp_path)
    monday = dt.date(2025, 9, 1)
    run_daily(engine, settings, day=monday, now=NOW)
    [(fit_id, fitted_on, seen)] = _fits(engine)
    assert (fitted_on, seen) == (monday, len(history))

    run_daily(engine, settings, day=monday + dt.timedelta(days=1), now=NOW)
    assert len(_fits(engine)) == 1  # a day later, nothing changed: scored with Monday's fit
    with engine.connect() as conn:
        stored = set(conn.execute(sa.select(rhythms.c.fit_id, rhythms.c.as_of)).all())
    assert stored == {(fit_id, monday + dt.timedelta(days=1))}  # ... but scored as of today

    few = max(1, len(history) // 50)  # 2%: not enough to refit
    rows = [(f"F{n}", "C1", dt.date(2025, 8, 1), "10.00", "visit") for n in range(few)]
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "f.csv", rows))
    run_daily(engine, settings, day=monday + dt.timedelta(days=2), now=NOW)
    assert len(_fits(engine)) == 1

    many = len(history) // 10  # 10% more activities: refitted
    rows = [(f"M{n}", f"C{n % 80}", dt.date(2025, 8, 2), "10.00", "visit") for n in range(many)]
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "m.csv", rows))
    run_daily(engine, settings, day=monday + dt.timedelta(days=3), now=NOW)
    fits = _fits(engine)
    assert len(fits) == 2 and fits[-1][1:] == (
        monday + dt.timedelta(days=3),
        len(history) + few + many,
    )

    run_daily(engine, settings, day=monday + dt.timedelta(days=9), now=NOW)
    assert len(_fits(engine)) == 2  # six days after the refit
    run_daily(engine, settings, day=monday + dt.timedelta(days=10), now=NOW)
    assert len(_fits(engine)) == 3  # a week after it
    run_daily(engine, settings, day=monday + dt.timedelta(days=11), now=NOW, refit=True)
    assert len(_fits(engine)) == 4  # asked for


def test_scoring_with_a_stored_fit_gives_what_fitting_gives(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    """The same day, the same activities: scoring with the stored model and its stored lapse
    calibration gives every client exactly the rhythm the fit itself gave (so the stored
    calibration is applied, and the stored model is the fitted one, to the last bit)."""
    _practice(engine, settings, tmp_path)
    day = dt.date(2025, 9, 1)
    compute_rhythms(engine, as_of=day, now=NOW, refit=True)
    fitted = _rhythms_now(engine)
    assert len(_fits(engine)) == 1
    with engine.connect() as conn:
        calibration = conn.execute(sa.select(rhythm_fits.c.lapse_calibration)).scalar_one()
    assert json.loads(calibration) is not None  # this practice's history calibrates the score

    compute_rhythms(engine, as_of=day, now=NOW, refit=None)
    assert len(_fits(engine)) == 1
    assert _rhythms_now(engine) == fitted

    # A client's rhythm learned right away on import uses the same model and calibration.
    late = [("LATE", "C7", day - dt.timedelta(days=2), "80.00", "visit")]
    report = import_file(
        engine,
        settings,
        ImportKind.ACTIVITIES,
        _activities_csv(tmp_path / "late.csv", late),
        today=day,
        now=NOW,
    )
    assert report.ok
    on_import = _rhythms_now(engine)
    compute_rhythms(engine, as_of=day, now=NOW, refit=None)
    assert len(_fits(engine)) == 1
    again = _rhythms_now(engine)
    with engine.connect() as conn:
        c7 = conn.execute(sa.text("SELECT id FROM clients WHERE external_id = 'C7'")).scalar_one()
    # one client scored alone goes through numpy's scalar paths, a batch through its vector
    # paths: equal to within rounding (on some processors to the bit), never the old rhythm
    assert _close(on_import[c7], again[c7])
    assert not _close(again[c7], fitted[c7])


def _close(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """The same row, floats to 1e-12 relative."""
    return len(a) == len(b) and all(
        x == pytest.approx(y, rel=1e-12) if isinstance(x, float) else x == y
        for x, y in zip(a, b, strict=True)
    )


def test_without_its_triggers_the_daily_job_reads_everything_and_db_check_says_so(
    engine: sa.Engine,
    settings: Settings,
    tmp_path: Path,
    backend: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ids = [f"C{i}" for i in range(10)]
    _import(engine, settings, ImportKind.CLIENTS, _clients_csv(tmp_path / "c.csv", ids))
    rows = _random_history(random.Random(2), ids)
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "a.csv", rows))
    activity_snapshot.current(engine, NOW)
    with engine.begin() as conn:  # a restore that lost one, say
        on = "" if backend == "sqlite" else " ON activities"
        conn.exec_driver_sql(f"DROP TRIGGER activities_changes_insert{on}")
    assert schema_differences(engine) == [
        "trigger activities_changes_insert on activities: missing (the daily job then reads "
        "every activity each morning; restore with PostgreSQL's pg_restore, which keeps "
        "triggers)"
    ]
    late = [("LATE", "C1", dt.date(2025, 8, 1), "5.00", "visit")]  # no trigger records it
    _import(engine, settings, ImportKind.ACTIVITIES, _activities_csv(tmp_path / "l.csv", late))
    caplog.set_level("INFO", logger="keepwarm.services.activity_snapshot")
    _, packed = activity_snapshot.current(engine, NOW)
    assert packed.size == len(rows) + 1  # seen all the same: read in full
    assert "lacks the change-log triggers activities_changes_insert" in caplog.text
    assert "read in full" in caplog.text


def test_two_first_stores_at_once_store_one_copy(engine: sa.Engine, backend: str) -> None:
    """Two first runs at once both find no copy and both store one: on PostgreSQL the second
    insert of the head block waits for the first and then collides; it must step back (not
    fail the daily job). SQLite serialises its writers, so it never gets that far."""
    import threading

    from keepwarm.store import writing

    packed = Packed(
        np.array([1, 1, 2], dtype=np.int64),
        np.array([10, 20, 10], dtype=np.int64),
        np.array([100, 0, 50], dtype=np.int64),
        np.array([0, -1, 0], dtype=np.int32),
        ("visit",),
    )
    results: list[bool] = []
    with writing(engine) as first:
        assert snapshot_store.save(first, packed, version=None, now=NOW)
        if backend == "postgresql":
            second = threading.Thread(target=lambda: results.append(_save_first(engine, packed)))
            second.start()
            second.join(timeout=1.0)
            assert second.is_alive()  # waiting on the first's uncommitted head block
    if backend == "postgresql":
        second.join(timeout=30)
        assert results == [False]
    else:
        assert not _save_first(engine, packed)  # the head is there: stepped back
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(snapshot_table)).scalar() == 1


def _save_first(engine: sa.Engine, packed: Packed) -> bool:
    from keepwarm.store import writing

    with writing(engine) as conn:
        return snapshot_store.save(conn, packed, version=None, now=NOW)
