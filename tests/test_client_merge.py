"""Merging two clients and undoing it: every row that names the merged client moves to the kept
one (no table still names it), rows that would clash are set aside and come back on undo, the
kept client's empty fields are filled (and emptied again by undo), one audit entry per client;
undo gives back exactly the rows there were; re-importing either export after a merge updates
the one client. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.model import ImportKind
from keepwarm.services.client_merge import merge_clients, merge_history, undo_merge
from keepwarm.services.consent import record as record_consent
from keepwarm.services.daily_job import run_daily
from keepwarm.services.erasure import erase_client
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.services.touches import record_touch
from keepwarm.store import writing
from keepwarm.store.client_merge import client_links
from keepwarm.store.tables import (
    audit_log,
    client_aliases,
    client_merges,
    contact_flags,
    duplicate_decisions,
    feedback_requests,
    metadata,
    rhythms,
)

OWNER = "owner@example.com"
CLIENTS_A = (
    "id,first_name,last_name,owner,email,phone,address,birthday\n"
    "K1,Kimberly,Morris,Dana,kim@example.org,,4 Oak Lane,1984-03-02\n"
    "C3,Other,Person,Dana,other@example.org,,2 Main St,\n"
)
CLIENTS_B = (
    "id,first_name,last_name,phone,birthday,notes\nK2,Kim,Morris,+15035550123,1984-03-02,B\n"
)
ACTIVITIES_A = (
    "client_id,date,amount,kind\n"
    "K1,2025-01-05,120.00,visit\nK1,2025-06-05,80.00,visit\nC3,2025-02-01,50.00,visit\n"
)
ACTIVITIES_B = "client_id,date,amount,kind\nK2,2025-03-05,60.00,visit\nK2,2025-09-01,40.00,visit\n"
LATER = NOW + dt.timedelta(hours=1)


def _import(engine: sa.Engine, settings: Settings, folder: Path, kind: ImportKind, text: str):  # type: ignore[no-untyped-def]
    path = folder / f"{kind.value}-{abs(hash(text))}.csv"
    path.write_text(text)
    report = import_file(engine, settings, kind, path, today=TODAY, now=NOW)
    assert report.ok, report
    return report


def _ids(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT external_id, id FROM clients")).all())  # type: ignore[arg-type]


def _practice(engine: sa.Engine, settings: Settings, folder: Path) -> dict[str, int]:
    add_staff(engine, "Dana", email=None, weekly_quota=5, now=NOW)
    _import(engine, settings, folder, ImportKind.CLIENTS, CLIENTS_A)
    _import(engine, settings, folder, ImportKind.CLIENTS, CLIENTS_B)
    _import(engine, settings, folder, ImportKind.ACTIVITIES, ACTIVITIES_A)
    _import(engine, settings, folder, ImportKind.ACTIVITIES, ACTIVITIES_B)
    run_daily(engine, settings, day=TODAY, now=NOW)
    record_touch(engine, "K2", channel="call", date=TODAY, staff="Dana", note="hi", now=NOW)
    ids = _ids(engine)
    with writing(engine) as conn:
        record_consent(
            conn,
            client_id=ids["K2"],
            channel="sms",
            allowed=True,
            source="staff",
            actor=OWNER,
            now=NOW,
        )
        for key in ("K1", "K2"):  # the same visit asked about twice, one flag each: clashes
            conn.execute(
                sa.insert(feedback_requests).values(
                    client_id=ids[key],
                    visit_date=dt.date(2025, 1, 5),
                    channel="email",
                    token_hash=key * 32,
                    created_at=NOW,
                    expires_at=NOW,
                )
            )
            conn.execute(
                sa.insert(contact_flags).values(
                    client_id=ids[key],
                    field="email",
                    written=f"{key} at example",
                    reason="no @",
                    created_at=NOW,
                )
            )
        conn.execute(
            sa.insert(duplicate_decisions).values(
                client_a=min(ids["K2"], ids["C3"]),
                client_b=max(ids["K2"], ids["C3"]),
                decided_by=OWNER,
                decided_at=NOW,
            )
        )
    return ids


# ... and the rhythm engine's change log, which rightly records the moves both ways
_BOOKS = {audit_log.name, client_merges.name, client_aliases.name, "activity_changes"}


def _everything(engine: sa.Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table but the merge's own books, sorted."""
    with engine.connect() as conn:
        return {
            t.name: sorted(tuple(map(str, r)) for r in conn.execute(sa.select(t)))
            for t in metadata.sorted_tables
            if t.name not in _BOOKS
        }


def test_merge_moves_everything_and_undo_gives_back_the_same_rows(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    ids = _practice(engine, settings, tmp_path)
    before = _everything(engine)
    assert len(before["rhythms"]) == 3

    done = merge_clients(engine, "K1", "K2", by=OWNER, now=LATER)

    assert done.moved["activities.client_id"] == 2
    assert done.moved["touches.client_id"] == 1
    assert done.set_aside == {
        "rhythms": 1,
        "feedback_requests": 1,
        "contact_flags": 1,
        "duplicate_decisions": 1,
    }
    assert set(done.filled) == {"phone", "notes"}
    with engine.connect() as conn:
        for link in client_links():
            named = conn.execute(
                sa.select(sa.func.count()).where(link.column == ids["K2"])
            ).scalar_one()
            assert named == 0, link.key
        kept = conn.execute(
            sa.text("SELECT name, email, phone, notes FROM clients WHERE external_id = 'K1'")
        ).one()
        assert kept == ("Kimberly Morris", "kim@example.org", "+15035550123", "B")
        assert conn.execute(
            sa.select(client_aliases.c.external_id, client_aliases.c.client_id)
        ).all() == [("K2", ids["K1"])]
        assert (
            conn.execute(
                sa.select(rhythms.c.client_id).where(rhythms.c.client_id == ids["K2"])
            ).all()
            == []
        )
        entries = conn.execute(
            sa.select(audit_log.c.client_id, audit_log.c.subject, audit_log.c.details)
            .where(audit_log.c.action == "merge")
            .order_by(audit_log.c.client_id)
        ).all()
    # One entry per client, each naming only its own client.
    assert sorted(e.client_id for e in entries) == sorted([ids["K1"], ids["K2"]])
    for e in entries:
        other = "Kim Morris (K2)" if e.client_id == ids["K1"] else "Kimberly Morris (K1)"
        assert other not in (e.subject or "") and "K2" not in e.details and "kim@" not in e.details
    assert [m.merged for m in merge_history(engine)] == ["K2"]

    undone = undo_merge(engine, done.merge_id, by=OWNER, now=LATER)
    assert undone.undone_by == OWNER
    assert _everything(engine) == before
    with engine.connect() as conn:
        assert conn.execute(sa.select(client_aliases)).all() == []
        actions = conn.execute(
            sa.select(audit_log.c.client_id).where(audit_log.c.action == "merge-undone")
        ).scalars()
        assert sorted(actions) == sorted([ids["K1"], ids["K2"]])
    with pytest.raises(InvalidInput, match="already undone"):
        undo_merge(engine, done.merge_id, by=OWNER, now=LATER)


def test_undo_refuses_when_the_merged_id_is_back_and_says_why(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    ids = _practice(engine, settings, tmp_path)
    done = merge_clients(engine, "K1", "K2", by=OWNER, now=LATER)
    with writing(engine) as conn:  # someone added a new client K2 by hand since
        conn.execute(sa.delete(client_aliases))
        conn.execute(
            sa.text(
                "INSERT INTO clients (external_id, name, created_at, updated_at, status, tags, "
                "do_not_contact) VALUES ('K2', 'New K2', :n, :n, 'active', '', false)"
            ),
            {"n": NOW},
        )
    with pytest.raises(InvalidInput, match="a client with id K2 exists again"):
        undo_merge(engine, done.merge_id, by=OWNER, now=LATER)
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM clients WHERE external_id = 'K2'")).all()
    assert names == [("New K2",)] and ids["K1"] in _ids(engine).values()
    with pytest.raises(NotFound):
        undo_merge(engine, 999, by=OWNER, now=LATER)
    with pytest.raises(InvalidInput, match="itself"):
        merge_clients(engine, "K1", "K1", by=OWNER, now=LATER)
    with pytest.raises(NotFound, match="NOPE"):
        merge_clients(engine, "K1", "NOPE", by=OWNER, now=LATER)


def test_reimporting_either_export_after_a_merge_updates_the_one_client(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    ids = _practice(engine, settings, tmp_path)
    merge_clients(engine, "K1", "K2", by=OWNER, now=LATER)
    with engine.connect() as conn:
        activities_before = conn.execute(
            sa.text("SELECT key, client_id FROM activities ORDER BY key")
        ).all()

    # Export B has an email column, empty for K2: the email K1 brought is kept.
    export_b = "id,first_name,last_name,email,phone,birthday,notes\n"
    export_b += "K2,Kim,Morris,,+15035550123,1984-03-02,B2\n"
    b = _import(engine, settings, tmp_path, ImportKind.CLIENTS, export_b)
    assert (b.added, b.updated) == (0, 1)
    with engine.connect() as conn:
        after_b = conn.execute(
            sa.text("SELECT name, email, phone FROM clients WHERE id = :i"), {"i": ids["K1"]}
        ).one()
    assert tuple(after_b) == ("Kim Morris", "kim@example.org", "+15035550123")
    a = _import(engine, settings, tmp_path, ImportKind.CLIENTS, CLIENTS_A)
    assert a.added == 0
    acts_b = _import(engine, settings, tmp_path, ImportKind.ACTIVITIES, ACTIVITIES_B)
    acts_a = _import(engine, settings, tmp_path, ImportKind.ACTIVITIES, ACTIVITIES_A)
    assert (acts_b.added, acts_a.added) == (0, 0)
    assert (
        _import(
            engine,
            settings,
            tmp_path,
            ImportKind.ACTIVITIES,
            "client_id,date,amount,kind\nK2,2026-01-05,30.00,visit\n",
        ).added
        == 1
    )

    assert set(_ids(engine)) == {"K1", "C3"}
    with engine.connect() as conn:
        kept = conn.execute(
            sa.text("SELECT name, email, notes FROM clients WHERE id = :i"), {"i": ids["K1"]}
        ).one()
        assert tuple(kept) == ("Kimberly Morris", "kim@example.org", "B2")
        after = conn.execute(sa.text("SELECT key, client_id FROM activities ORDER BY key")).all()
        new = conn.execute(
            sa.text("SELECT client_id FROM activities WHERE date = :d"), {"d": dt.date(2026, 1, 5)}
        ).scalar_one()
    assert set(activities_before) <= set(after) and len(after) == len(activities_before) + 1
    assert new == ids["K1"]


def test_keepwarm_merge_and_undo_from_the_command_line(
    cli, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _practice(engine, settings, tmp_path)
    shown = cli("merge", "K1", "K2", input="n\n")
    assert shown.exit_code != 0
    assert "Merge into it: K2 Kim Morris" in shown.output and "nickname" in shown.output
    assert set(_ids(engine)) == {"K1", "K2", "C3"}
    result = cli("merge", "K1", "K2", "--yes")
    assert result.exit_code == 0, result.output
    assert "Merged K2 into K1 (merge 1)" in result.output
    listed = json.loads(cli("merges", "--format", "json").output)
    assert [(m["kept"], m["merged"], m["undone_at"]) for m in listed] == [("K1", "K2", None)]
    bad = cli("merge", "undo", "x")
    assert bad.exit_code != 0 and "a merge number" in bad.output
    undone = cli("merge", "undo", "1", "--yes")
    assert undone.exit_code == 0, undone.output
    assert set(_ids(engine)) == {"K1", "K2", "C3"}
    again = cli("merge", "undo", "1", "--yes")
    assert again.exit_code != 0 and "already undone" in again.output


def test_undo_after_the_kept_client_was_erased_says_the_merge_went_with_them(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    _practice(engine, settings, tmp_path)
    done = merge_clients(engine, "K1", "K2", by=OWNER, now=LATER)
    erase_client(engine, "K1", actor=OWNER, now=LATER)
    with pytest.raises(NotFound, match="kept client was erased"):
        undo_merge(engine, done.merge_id, by=OWNER, now=LATER)
    assert set(_ids(engine)) == {"C3"}
