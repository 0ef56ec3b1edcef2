"""Backups and restores of SQLite with the online backup API, under live writes; refusals that
change nothing; PostgreSQL's way (pg_dump) explained, and its restored schema checked."""

from __future__ import annotations

import contextlib
import glob
import json
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from conftest import IN_CI, NOW, PG_URL, Cli, pg_schema
from keepwarm.cli import app
from keepwarm.services import audit
from keepwarm.services import backup as svc
from keepwarm.store import connect, head_revision, migrate, writing
from keepwarm.store.tables import clients

WRITER = "writer@example.com"


def _run(db: str, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    env = {"COLUMNS": "200", "NO_COLOR": "1"}
    return CliRunner().invoke(app, [*args, "--db", db], env=env, input=input)


def _seeded(tmp_path: Path, n: int = 3000) -> Path:
    """A SQLite keepwarm database with `n` clients imported through `keepwarm import`."""
    path = tmp_path / "live.db"
    assert _run(str(path), "init").exit_code == 0
    rows = [f"C{i:05d},Client {i},client{i}@example.com" for i in range(n)]
    (tmp_path / "c.csv").write_text("\n".join(["id,name,email", *rows]) + "\n")
    result = _run(str(path), "import", "clients", str(tmp_path / "c.csv"))
    assert result.exit_code == 0, result.output
    return path


def _write_pair(engine: sa.Engine, n: int) -> None:
    """One write transaction inserting a pair of related rows: a client and the audit entry
    about them. A consistent copy holds both or neither."""
    with writing(engine) as conn:
        client_id = conn.execute(
            sa.insert(clients)
            .values(external_id=f"W{n:06d}", name=f"Written {n}", created_at=NOW, updated_at=NOW)
            .returning(clients.c.id)
        ).scalar_one()
        audit.record(
            conn,
            actor=WRITER,
            action="client-edit",
            now=NOW,
            client_id=client_id,
            subject=f"W{n:06d}",
        )


def _pairs(path: Path) -> tuple[set[str], set[str]]:
    with sqlite3.connect(path) as conn:
        written = {
            r[0]
            for r in conn.execute("SELECT external_id FROM clients WHERE external_id LIKE 'W%'")
        }
        audited = {
            r[0] for r in conn.execute("SELECT subject FROM audit_log WHERE actor = ?", (WRITER,))
        }
    return written, audited


def test_a_backup_taken_while_a_writer_commits_is_one_consistent_snapshot(tmp_path: Path) -> None:
    live = _seeded(tmp_path)
    engine = connect(f"sqlite:///{live}")
    stop = threading.Event()
    committed = [0]
    wrote = threading.Condition()

    def writer() -> None:
        while not stop.is_set():
            _write_pair(engine, committed[0])
            with wrote:
                committed[0] += 1
                wrote.notify_all()

    progress: list[tuple[int, int]] = []
    during: list[int] = []

    def on_step(done: int, total: int) -> None:
        progress.append((done, total))
        # between steps, wait until the writer has committed again: writes happen during
        # the backup, whatever the machine's speed
        with wrote:
            seen = committed[0]
            assert wrote.wait_for(lambda: committed[0] > seen, timeout=60)
            during.append(committed[0])

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with wrote:
            assert wrote.wait_for(lambda: committed[0] >= 5, timeout=60)
        report = svc.backup(
            engine,
            tmp_path / "copy.db",
            actor="command line",
            now=NOW,
            pages_per_step=20,
            progress=on_step,
        )
    finally:
        stop.set()
        thread.join()
    assert report.steps >= 5 and len(progress) == report.steps
    assert during[-1] > during[0]  # the writer committed between the backup's steps

    copy = tmp_path / "copy.db"
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        copied_clients = conn.execute("SELECT count(*) FROM clients").fetchone()[0]
    assert revision == report.revision == head_revision()
    written, audited = _pairs(copy)
    assert written == audited  # never half a pair
    assert 5 <= len(written) < committed[0]  # a snapshot from before the writer stopped
    assert copied_clients == report.counts["clients"] == 3000 + len(written)
    live_written, live_audited = _pairs(live)
    assert live_written == live_audited and len(live_written) == committed[0]
    engine.dispose()

    # restored into a new database, keepwarm reads it
    fresh = tmp_path / "fresh.db"
    assert _run(str(fresh), "init").exit_code == 0
    result = _run(str(fresh), "restore", str(copy), "--yes")
    assert result.exit_code == 0, result.output
    assert f"{copied_clients} clients" in result.output
    listed = _run(str(fresh), "client", "C00017")
    assert listed.exit_code == 0 and "Client 17" in listed.output, listed.output
    assert _run(str(fresh), "today").exit_code == 0
    assert _pairs(fresh) == (written, audited)
    fresh_engine = connect(f"sqlite:///{fresh}")
    (entry,) = audit.entries(fresh_engine, audit.AuditFilter(action="restore"))
    assert entry.details["clients"] == copied_clients
    fresh_engine.dispose()


def test_the_backup_command_reports_the_copy_and_is_audited(tmp_path: Path) -> None:
    live = _seeded(tmp_path, 50)
    result = _run(str(live), "backup", str(tmp_path / "b.db"), "--step", "3")
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output and "50 clients" in result.output
    engine = connect(f"sqlite:///{live}")
    (entry,) = audit.entries(engine, audit.AuditFilter(action="backup"))
    assert entry.actor == "command line" and entry.details["clients"] == 50
    engine.dispose()
    assert not list(tmp_path.glob(".b.db.partial*"))  # the temporary file is gone


def test_restore_replaces_the_content_seen_by_an_open_connection(tmp_path: Path) -> None:
    live = _seeded(tmp_path, 20)
    assert _run(str(live), "backup", str(tmp_path / "b.db")).exit_code == 0
    engine = connect(f"sqlite:///{live}")  # as a running server holds one
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(clients)).scalar_one() == 20
    for n in range(5):
        _write_pair(engine, n)
    result = _run(str(live), "restore", str(tmp_path / "b.db"), input="y\n")
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(clients)).scalar_one() == 20
    # the replaced content is kept beside the database
    (saved,) = tmp_path.glob("live.db.before-restore-*")
    assert len(_pairs(saved)[0]) == 5
    engine.dispose()


def _bytes(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}


def test_restore_refuses_a_file_that_is_not_a_sound_keepwarm_backup(tmp_path: Path) -> None:
    live = _seeded(tmp_path, 10)
    (tmp_path / "notes.txt").write_text("hello")
    with sqlite3.connect(tmp_path / "other.db") as conn:
        conn.execute("CREATE TABLE things (x)")
    assert _run(str(live), "backup", str(tmp_path / "b.db")).exit_code == 0
    newer = tmp_path / "newer.db"
    newer.write_bytes((tmp_path / "b.db").read_bytes())
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    damaged = tmp_path / "damaged.db"
    data = bytearray((tmp_path / "b.db").read_bytes())
    data[4096 * 3 : 4096 * 3 + 2000] = b"\xff" * 2000
    damaged.write_bytes(bytes(data))
    before = _bytes(tmp_path)
    cases = {
        "missing.db": "no such file",
        "notes.txt": "not a SQLite database",
        "other.db": "not a keepwarm one",
        "newer.db": "does not know",
        "damaged.db": "damaged",
    }
    for name, message in cases.items():
        result = _run(str(live), "restore", str(tmp_path / name), "--yes")
        assert result.exit_code != 0, name
        assert message in " ".join(result.output.split()), (name, result.output)
    assert _bytes(tmp_path) == before  # nothing changed


def test_a_backup_from_an_older_schema_is_migrated_after_restore(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    engine = connect(f"sqlite:///{old}", create=True)
    from alembic import command

    from keepwarm.store.migrate import _config

    config = _config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0023_feedback")
        conn.commit()
    engine.dispose()
    live = _seeded(tmp_path, 5)
    result = _run(str(live), "restore", str(old), "--yes")
    assert result.exit_code == 0, result.output
    assert "migrated from 0023" in result.output
    assert _run(str(live), "db", "check").exit_code == 0


@pytest.fixture
def pg_url(pg_admin: sa.Engine | None) -> Iterator[str]:
    """A migrated PostgreSQL schema (skipped without PostgreSQL; under CI=true, failed)."""
    with pg_schema(pg_admin, "kwbak_") as url:  # type: ignore[arg-type]
        engine = connect(url)
        migrate(engine)
        engine.dispose()
        yield url


def test_postgresql_backups_are_explained_not_attempted(pg_url: str, tmp_path: Path) -> None:
    result = _run(pg_url, "backup", str(tmp_path / "x.db"))
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "pg_dump --format=custom" in text and "pg_restore" in text
    assert "keepwarm db check" in text
    assert not (tmp_path / "x.db").exists()


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if found is None:
        if IN_CI:
            pytest.fail(f"CI=true but {name} is not installed")
        pytest.skip(f"{name} is not installed")
    return found


def test_a_schema_dumped_with_pg_dump_and_restored_passes_the_check(
    pg_url: str, pg_admin: sa.Engine, tmp_path: Path
) -> None:
    pg_dump, psql = _pg_tool("pg_dump"), _pg_tool("psql")
    source_schema = sa.make_url(pg_url).query["options"].split("=", 1)[1]
    base = sa.make_url(PG_URL).set(drivername="postgresql")
    plain = base.render_as_string(hide_password=False)
    engine = connect(pg_url)
    with writing(engine) as conn:
        audit.record(conn, actor="owner@example.com", action="sign-in", now=NOW)
    engine.dispose()
    dump = tmp_path / "keepwarm.sql"
    subprocess.run(
        [pg_dump, "--schema", source_schema, "--no-owner", "--file", str(dump), plain],
        check=True,
    )
    with pg_schema(pg_admin, "kwrestored_") as restored_url:
        target_schema = sa.make_url(restored_url).query["options"].split("=", 1)[1]
        text = dump.read_text().replace(source_schema, target_schema)
        text = text.replace(f"CREATE SCHEMA {target_schema};", "")
        dump.write_text(text)
        subprocess.run(
            [psql, "--quiet", "--set", "ON_ERROR_STOP=1", "--file", str(dump), plain],
            check=True,
            capture_output=True,
        )
        good = _run(restored_url, "db", "check")
        assert good.exit_code == 0, good.output
        restored = connect(restored_url)
        assert [e.action for e in audit.entries(restored)] == ["sign-in"]
        with restored.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_audit_log_actor_at")
        restored.dispose()
        bad = _run(restored_url, "db", "check")
        assert bad.exit_code == 1
        assert "index ix_audit_log_actor_at on audit_log (actor, at): missing" in bad.output


def test_db_check_finds_a_missing_column_and_index_and_passes_a_good_schema(
    cli: Cli, engine: sa.Engine, backend: str
) -> None:
    good = cli("db", "check")
    assert good.exit_code == 0, good.output
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_audit_log_client_id")
        conn.exec_driver_sql("ALTER TABLE feedback_requests DROP COLUMN comment")
    assert sorted(svc.schema_differences(engine)) == sorted(
        [
            "index ix_audit_log_client_id on audit_log (client_id): missing",
            "column feedback_requests.comment: missing",
        ]
    )
    bad = cli("db", "check")
    assert bad.exit_code == 1
    assert "ix_audit_log_client_id" in bad.output


def test_db_check_notes_autovacuum_off_without_failing(
    cli: Cli, engine: sa.Engine, backend: str
) -> None:
    """PostgreSQL's autovacuum reclaims the rhythms each morning replaces: off, `db check`
    says so (and still passes a good schema); on, or on SQLite, it says nothing."""
    off = False
    if backend == "postgresql":
        with engine.connect() as conn:
            off = conn.exec_driver_sql("SHOW autovacuum").scalar_one() == "off"
    notes = svc.server_notes(engine)
    assert bool(notes) == off
    result = cli("db", "check", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["notes"] == notes
    if off:
        assert "autovacuum is off" in notes[0]
        plain = cli("db", "check")
        assert plain.exit_code == 0 and "autovacuum is off" in plain.output


def test_db_check_names_an_old_revision(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0027_privacy'")
    assert any("0027_privacy" in p for p in svc.schema_differences(engine))


def test_restore_asks_first_and_no_changes_nothing(tmp_path: Path) -> None:
    live = _seeded(tmp_path, 10)
    assert _run(str(live), "backup", str(tmp_path / "b.db")).exit_code == 0
    engine = connect(f"sqlite:///{live}")
    _write_pair(engine, 1)
    engine.dispose()
    before = _bytes(tmp_path)
    answer = _run(str(live), "restore", str(tmp_path / "b.db"), input="n\n")
    assert answer.exit_code != 0 and "Replace everything in" in answer.output
    assert _bytes(tmp_path) == before


FAMILY = (
    "id,name,email,phone,birthday\n"
    "K1,Kim Morris,morris@example.com,+15035550111,1970-02-03\n"
    "K2,Lee Morris,morris@example.com,+15035550112,1972-05-06\n"  # shares Kim's email
    "K3,Ola Smith,ola.smith@example.com,+15035550113,1980-07-08\n"
)


def _database(folder: Path, text: str = FAMILY) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "live.db"
    assert _run(str(path), "init").exit_code == 0
    (folder / "c.csv").write_text(text)
    assert _run(str(path), "import", "clients", str(folder / "c.csv")).exit_code == 0
    return path


def _ids(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT external_id FROM clients")}


def test_restoring_a_backup_made_before_an_erasure_erases_the_client_again(
    tmp_path: Path,
) -> None:
    live = _database(tmp_path)
    assert _run(str(live), "backup", str(tmp_path / "b.db")).exit_code == 0
    assert _run(str(live), "erase", "K1", "--yes").exit_code == 0
    result = _run(str(live), "restore", str(tmp_path / "b.db"), "--yes")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "1 client erased since this backup was made was erased again" in said
    assert "2 clients, 0 activities" in said
    # Kim is gone again; Lee, who shares her email, is not the erased client and stays.
    assert _ids(live) == {"K2", "K3"}
    engine = connect(f"sqlite:///{live}")
    (entry,) = audit.entries(engine, audit.AuditFilter(action="restore"))
    assert entry.details["erased_again"] == 1 and entry.details["clients"] == 2
    assert [e.details["reason"] for e in audit.entries(engine, audit.AuditFilter(action="erase"))]
    engine.dispose()
    # No byte of her is left in the database or its WAL.
    for name in ("live.db", "live.db-wal"):
        if (tmp_path / name).exists():
            data = (tmp_path / name).read_bytes().lower()
            assert b"kim morris" not in data and b"5035550111" not in data, name
    # The erasure still holds for imports: the old file's row is skipped and named.
    again = _run(str(live), "import", "clients", str(tmp_path / "c.csv"))
    assert again.exit_code == 0 and "line 2: K1 was erased" in again.output, again.output
    assert _ids(live) == {"K2", "K3"}
    # The content saved before the restore never held her again either.
    (saved,) = tmp_path.glob("live.db.before-restore-*")
    assert _ids(saved) == {"K2", "K3"}
    assert not list(tmp_path.glob(".live.db.restoring*"))  # the staging file is gone


def test_a_restore_keeps_the_erasures_of_a_database_with_another_secret(tmp_path: Path) -> None:
    # Two databases with the same clients, each with its own erasure secret: the backup of one
    # restored into the other keeps both databases' erasures.
    live = _database(tmp_path / "a")
    other = _database(tmp_path / "b")
    assert _run(str(other), "erase", "K3", "--yes").exit_code == 0
    assert _run(str(other), "backup", str(tmp_path / "b.db")).exit_code == 0
    assert _run(str(live), "erase", "K1", "--yes").exit_code == 0
    result = _run(str(live), "restore", str(tmp_path / "b.db"), "--yes")
    assert result.exit_code == 0, result.output
    assert "1 client erased since this backup was made was erased again" in result.output
    assert _ids(live) == {"K2"}
    with contextlib.closing(sqlite3.connect(live)) as conn:
        assert conn.execute("SELECT count(*) FROM database_secrets").fetchone()[0] == 2
    again = _run(str(live), "import", "clients", str(tmp_path / "a" / "c.csv"))
    assert again.exit_code == 0, again.output
    assert "line 2: K1 was erased" in again.output and "line 4: K3 was erased" in again.output
    assert _ids(live) == {"K2"}
    # Restoring the same backup again erases Kim again: the carried erasure holds each time.
    result = _run(str(live), "restore", str(tmp_path / "b.db"), "--yes")
    assert "1 client erased since this backup was made was erased again" in result.output
    assert _ids(live) == {"K2"}


def test_a_backup_made_after_the_erasure_restores_with_nothing_to_erase(tmp_path: Path) -> None:
    live = _database(tmp_path)
    assert _run(str(live), "erase", "K1", "--yes").exit_code == 0
    assert _run(str(live), "backup", str(tmp_path / "b.db")).exit_code == 0
    result = _run(str(live), "restore", str(tmp_path / "b.db"), "--yes")
    assert result.exit_code == 0 and "erased again" not in result.output, result.output
    assert _ids(live) == {"K2", "K3"}
    with contextlib.closing(sqlite3.connect(live)) as conn:
        assert conn.execute("SELECT count(*) FROM erasures").fetchone()[0] == 1


def test_an_erasure_made_while_a_restore_runs_stops_it_before_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keepwarm.services.erasure import erase_client

    live = _database(tmp_path)
    assert _run(str(live), "backup", str(tmp_path / "b.db")).exit_code == 0
    carry = svc._carry_erasures

    def erase_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = carry(*args, **kwargs)
        engine = connect(f"sqlite:///{live}")
        erase_client(engine, "K3", actor="owner@example.com", now=NOW)
        engine.dispose()
        return found

    monkeypatch.setattr(svc, "_carry_erasures", erase_meanwhile)
    result = _run(str(live), "restore", str(tmp_path / "b.db"), "--yes")
    assert result.exit_code != 0 and "erased while the restore ran" in result.output, result.output
    assert _ids(live) == {"K1", "K2"}  # the live content as it was: nothing restored


def test_a_backup_into_a_folder_that_does_not_exist_makes_the_folder(tmp_path: Path) -> None:
    live = _seeded(tmp_path, 5)
    result = _run(str(live), "backup", str(tmp_path / "backups" / "x.db"))
    assert result.exit_code == 0, result.output
    assert "made the folder" in " ".join(result.output.split())
    assert svc.check_backup(tmp_path / "backups" / "x.db")[1]["clients"] == 5
    # A path through a file is refused, naming it.
    (tmp_path / "afile").write_text("")
    result = _run(str(live), "backup", str(tmp_path / "afile" / "x.db"))
    assert result.exit_code != 0 and "afile" in result.output and "not a folder" in result.output
