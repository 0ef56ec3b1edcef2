"""Importing from standard input, /dev/stdin and named pipes: the data is read once, all of it,
and imported; nothing is reported as imported that was not read. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY, table_snapshot
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.importing import import_file, preview_file

CLIENTS = "id,name\nP-1,Pipe One\nP-2,Pipe Two\n"
ACTIVITIES = "client_id,date,amount\nP-1,2024-01-02,10\nP-2,2024-01-03,20\n"


def _clients(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT external_id, name FROM clients ORDER BY external_id")
        return [tuple(r) for r in rows]


def _keepwarm(
    db_url: str, *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEEPWARM_DATABASE_URL": db_url, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "keepwarm.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_a_dash_reads_standard_input_and_a_second_import_changes_nothing(
    cli, engine: sa.Engine
) -> None:
    first = cli("import", "clients", "-", input=CLIENTS)
    assert first.exit_code == 0, first.output
    assert "2 added" in first.stdout
    assert "standard input" in first.stdout
    assert _clients(engine) == [("P-1", "Pipe One"), ("P-2", "Pipe Two")]

    again = cli("import", "clients", "-", input=CLIENTS)
    assert again.exit_code == 0, again.output
    assert "0 added, 0 updated, 2 unchanged" in again.stdout
    assert "Nothing changed" in again.stdout

    visits = cli("import", "activities", "-", input=ACTIVITIES)
    assert visits.exit_code == 0, visits.output
    assert "2 added" in visits.stdout
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM activities").scalar() == 2


def test_a_dry_run_from_standard_input_reports_the_rows_and_changes_nothing(
    cli, engine: sa.Engine
) -> None:
    before = table_snapshot(engine)
    result = cli("import", "clients", "-", "--dry-run", input=CLIENTS)
    assert result.exit_code == 0, result.output
    assert "Would import clients from standard input" in result.stdout
    assert "2 added" in result.stdout
    assert table_snapshot(engine) == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "standard input: the file is empty"),
        ("id,name\nP-1,Pipe One\n" * 20, "standard input: the file is more than the limit of"),
        ("id,name\nP-1,Pipe \xe7\n", None),
    ],
    ids=["empty", "over the byte limit", "bad row"],
)
def test_standard_input_that_cannot_be_imported_is_refused_and_changes_nothing(
    content: str,
    reason: str | None,
    cli,
    engine: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEEPWARM_IMPORT_MAX_BYTES", "200")
    before = table_snapshot(engine)
    result = cli("import", "clients", "-", input=content.replace("\xe7", "\x00"))
    assert result.exit_code == 1, result.output
    if reason:
        assert reason in result.stderr
    assert "Nothing imported" in result.stderr
    assert "Imported" not in result.stdout
    assert table_snapshot(engine) == before


def test_a_pipe_to_dev_stdin_is_imported_by_a_real_process(db_url: str, engine: sa.Engine) -> None:
    first = _keepwarm(db_url, "import", "clients", "/dev/stdin", stdin=CLIENTS)
    assert first.returncode == 0, first.stderr
    assert "2 added" in first.stdout
    assert _clients(engine) == [("P-1", "Pipe One"), ("P-2", "Pipe Two")]

    again = _keepwarm(db_url, "import", "clients", "/dev/stdin", stdin=CLIENTS)
    assert again.returncode == 0, again.stderr
    assert "2 unchanged" in again.stdout and "Nothing changed" in again.stdout

    dash = _keepwarm(db_url, "import", "clients", "-", stdin=CLIENTS)
    assert dash.returncode == 0, dash.stderr
    assert "2 unchanged" in dash.stdout


def _write_fifo(path: Path, content: str) -> threading.Thread:
    def write() -> None:
        with path.open("w", encoding="utf-8") as fh:  # blocks until the reader opens it
            fh.write(content)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_read_once_and_imported_without_hanging(
    db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    fifo = tmp_path / "clients.fifo"
    os.mkfifo(fifo)
    for expected in ("2 added", "2 unchanged"):
        writer = _write_fifo(fifo, CLIENTS)
        result = _keepwarm(db_url, "import", "clients", str(fifo), timeout=60)
        writer.join(timeout=10)
        assert not writer.is_alive()
        assert result.returncode == 0, result.stderr
        assert f"from {fifo}" in result.stdout
        assert expected in result.stdout
    assert _clients(engine) == [("P-1", "Pipe One"), ("P-2", "Pipe Two")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_the_service_reads_a_named_pipe_and_a_stream_once_and_leaves_no_copy(
    engine: sa.Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    fifo = tmp_path / "clients.fifo"
    os.mkfifo(fifo)
    writer = _write_fifo(fifo, CLIENTS)
    preview = preview_file(engine, settings, ImportKind.CLIENTS, fifo, today=TODAY, now=NOW)
    writer.join(timeout=10)
    assert preview.report.ok and preview.report.added == 2, preview.report.problems
    assert preview.header == ("id", "name")
    assert [row for _, row in preview.sample] == [("P-1", "Pipe One"), ("P-2", "Pipe Two")]
    assert _clients(engine) == []

    stream = io.BytesIO(CLIENTS.encode())
    report = import_file(engine, settings, ImportKind.CLIENTS, stream, today=TODAY, now=NOW)
    assert report.ok and report.added == 2 and report.filename == "standard input"
    assert _clients(engine) == [("P-1", "Pipe One"), ("P-2", "Pipe Two")]
    assert list(spool.iterdir()) == []
