"""The rough edges a newcomer met running the README (issue 12, "The command line"): each
command either does what it says or stops with one clear line and a non-zero exit, changing
nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import socket
import subprocess
import sys

import pytest

from conftest import table_snapshot
from test_today import DAY, practice  # noqa: F401  (the fixture)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_today_for_an_unknown_member_of_staff_is_an_error_naming_the_staff(practice) -> None:  # noqa: F811
    result = practice("today", "--as-of", DAY, "--staff", "Nobody")
    assert result.exit_code != 0
    assert "no staff member called 'Nobody'" in flat(result.output)
    assert "Dana, Sam" in flat(result.output)
    assert "to contact" not in result.output


def test_today_for_a_known_member_of_staff_still_lists_theirs(practice) -> None:  # noqa: F811
    practice("run-daily", "--as-of", DAY)
    result = practice("today", "--as-of", DAY, "--staff", "Dana", "--format", "json")
    assert result.exit_code == 0, result.output
    assert {a["staff"] for a in json.loads(result.output)["actions"]} == {"Dana"}


def test_the_touch_help_example_runs_as_written(cli, write_csv) -> None:  # type: ignore[no-untyped-def]
    help_lines = cli("touch", "--help").output.splitlines()
    example = next(line for line in help_lines if "Example: keepwarm touch" in line)
    args = shlex.split(example.split("Example: keepwarm ", 1)[1])
    client_id = args[1]
    staff = args[args.index("--staff") + 1]
    assert cli("staff", "add", staff).exit_code == 0
    clients = write_csv("ex.csv", f"id,name\n{client_id},Maria Lopez\n")
    assert cli("import", "clients", str(clients)).exit_code == 0
    result = cli(*args)
    assert result.exit_code == 0, result.output
    card = json.loads(cli("client", client_id, "--format", "json").output)
    assert card["touches"][0]["staff"] == staff


@pytest.fixture
def one_client(cli, write_csv):  # type: ignore[no-untyped-def]
    assert cli("import", "clients", str(write_csv("c.csv", "id,name\nC-1,Ann\n"))).exit_code == 0
    return cli


def test_a_touch_in_the_future_is_refused_as_an_import_refuses_it(one_client, engine) -> None:  # type: ignore[no-untyped-def]
    before = table_snapshot(engine)
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    result = one_client("touch", "C-1", "--date", tomorrow)
    assert result.exit_code != 0
    assert f"date: {tomorrow} is in the future" in flat(result.output)
    assert table_snapshot(engine) == before


def test_a_touch_today_is_recorded(one_client) -> None:  # type: ignore[no-untyped-def]
    result = one_client("touch", "C-1", "--date", dt.date.today().isoformat())
    assert result.exit_code == 0, result.output


def test_a_newsletter_touch_is_recorded_as_an_import_would_but_not_as_personal(
    one_client, engine
) -> None:  # type: ignore[no-untyped-def]
    result = one_client("touch", "C-1", "--channel", "Newsletter")
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT channel, personal FROM touches").all()
    assert [(r[0], bool(r[1])) for r in rows] == [("newsletter", False)]


def _first_action(cli) -> dict:  # type: ignore[no-untyped-def]
    cli("run-daily", "--as-of", DAY)
    listed = json.loads(cli("today", "--as-of", DAY, "--format", "json").output)
    return listed["actions"][0]


def test_done_with_a_newsletter_is_refused_and_keeps_the_action_open(practice, engine) -> None:  # noqa: F811
    action = _first_action(practice)
    before = table_snapshot(engine)
    result = practice("done", str(action["id"]), "--channel", "newsletter")
    assert result.exit_code != 0
    assert "'newsletter' is not a personal contact" in flat(result.output)
    assert table_snapshot(engine) == before
    with engine.connect() as conn:
        status = conn.exec_driver_sql(
            f"SELECT status FROM actions WHERE id = {int(action['id'])}"
        ).scalar()
    assert status == "open"


def test_done_on_a_future_day_is_refused(practice, engine) -> None:  # noqa: F811
    action = _first_action(practice)
    later = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    result = practice("done", str(action["id"]), "--on", later)
    assert result.exit_code != 0
    assert "is in the future" in flat(result.output)


def test_done_with_a_personal_channel_by_its_alias_closes_the_action(practice, engine) -> None:  # noqa: F811
    action = _first_action(practice)
    result = practice("done", str(action["id"]), "--channel", "Phone call")
    assert result.exit_code == 0, result.output
    assert "Done: call" in result.output


def test_an_export_into_a_missing_folder_is_one_clear_error(one_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "missing" / "dir" / "x.csv"
    result = one_client("export", "clients", str(target))
    assert result.exit_code != 0
    assert f"there is no folder {target.parent}" in flat(result.output)
    assert "Traceback" not in result.output
    assert not (tmp_path / "missing").exists()


def test_an_export_into_an_existing_folder_writes_the_file(one_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "x.csv"
    result = one_client("export", "clients", str(target))
    assert result.exit_code == 0, result.output
    assert "C-1,Ann" in target.read_text(encoding="utf-8-sig")


def test_serve_on_a_busy_port_fails_before_printing_anything_else(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "practice.db"
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    keepwarm = [sys.executable, "-m", "keepwarm.cli"]
    assert subprocess.run([*keepwarm, "init", "--db", str(db)], env=env).returncode == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = subprocess.run(
            [*keepwarm, "serve", "--port", str(port), "--db", str(db)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode != 0
    assert run.stdout == ""  # no "running at", no one-time code
    assert flat(run.stderr) == (
        f"Error: port {port} is in use: stop the other program or use --port"
    )
