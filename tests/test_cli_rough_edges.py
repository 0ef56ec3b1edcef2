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


def test_a_refused_import_counts_the_rows_with_problems(one_client, write_csv, engine) -> None:  # type: ignore[no-untyped-def]
    before = table_snapshot(engine)
    visits = write_csv("t1.csv", "client_id,date\nC-404,2024-01-02\n")
    result = one_client("import", "activities", str(visits))
    assert result.exit_code != 0
    assert "1 problem(s) in" in flat(result.output)
    assert "1 of the 1 rows read have problems" in flat(result.output)
    assert table_snapshot(engine) == before


def test_three_repeated_ids_are_three_rows_with_problems(one_client, write_csv) -> None:  # type: ignore[no-untyped-def]
    lines = [f"C-1,2024-01-{d:02d},V{d},10" for d in range(1, 21)]
    lines += ["C-1,2024-02-01,V1,11", "C-1,2024-02-02,V2,12", "C-1,2024-02-03,V3,13"]
    visits = write_csv("v.csv", "client_id,date,id,amount\n" + "\n".join(lines) + "\n")
    result = one_client("import", "activities", str(visits))
    assert result.exit_code != 0
    out = flat(result.output)
    assert "3 problem(s)" in out and "3 of the 23 rows read have problems" in out
    assert "'V1' already appears at line 2" in out  # both lines named: 22 and 2


def test_an_activities_file_imported_as_clients_says_so_first(one_client, write_csv) -> None:  # type: ignore[no-untyped-def]
    visits = write_csv(
        "visits.csv",
        "client_id,date,amount\n" + "".join(f"C-1,2024-01-{d:02d},10\n" for d in range(1, 29)),
    )
    result = one_client("import", "clients", str(visits))
    assert result.exit_code != 0
    first = result.output.strip().splitlines()[0]
    assert "this looks like an activities file" in first
    assert "use `keepwarm import activities FILE`" in first


def test_a_touches_file_imported_as_activities_is_refused_naming_the_kind(
    one_client, write_csv, engine
) -> None:  # type: ignore[no-untyped-def]
    before = table_snapshot(engine)
    calls = write_csv("calls.csv", "client_id,date,channel,note\nC-1,2024-01-02,call,hi\n")
    result = one_client("import", "activities", str(calls))
    assert result.exit_code != 0
    assert "this looks like a touches file" in flat(result.output)
    assert "use `keepwarm import touches FILE`" in flat(result.output)
    assert table_snapshot(engine) == before


def test_an_activities_file_with_a_sales_channel_column_imports(one_client, write_csv) -> None:  # type: ignore[no-untyped-def]
    sales = write_csv("s.csv", "client_id,date,amount,channel\nC-1,2024-01-02,10,online\n")
    result = one_client("import", "activities", str(sales))
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output


def test_a_clients_file_with_a_bad_row_gets_no_kind_hint(one_client, write_csv) -> None:  # type: ignore[no-untyped-def]
    people = write_csv("c2.csv", "id,name,email,birthday\nC-2,Bo,bo@example.com,2099-01-01\n")
    result = one_client("import", "clients", str(people))
    assert result.exit_code != 0
    assert "looks like" not in result.output


def test_invoice_hash_is_the_activity_id_and_exact_repeats_are_one_activity(
    one_client, write_csv, engine
) -> None:  # type: ignore[no-untyped-def]
    visits = write_csv(
        "inv.csv",
        "Customer ID,Invoice #,Date,Amount\n"
        "C-1,INV-7,2024-03-01,40.00\n"
        "C-1,INV-7,2024-03-01,40.00\n"
        "C-1,INV-8,2024-03-02,15.00\n",
    )
    result = one_client("import", "activities", str(visits))
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    assert "1 exact repeats skipped" in flat(result.output)
    with engine.connect() as conn:
        ids = conn.exec_driver_sql("SELECT external_id FROM activities ORDER BY 1").scalars()
        assert list(ids) == ["INV-7", "INV-8"]
    again = one_client("import", "activities", str(visits))
    assert again.exit_code == 0 and "Nothing changed" in again.output


@pytest.mark.parametrize("header", ["Invoice No", "Invoice number", "invoice_no"])
def test_invoice_numbers_are_read_as_the_activity_id(one_client, write_csv, header) -> None:  # type: ignore[no-untyped-def]
    visits = write_csv("i.csv", f"client_id,date,{header}\nC-1,2024-03-01,7\n")
    result = one_client("import", "activities", str(visits), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Columns not used" not in result.output


def test_one_invoice_number_with_two_contents_is_an_error_naming_both_lines(
    one_client, write_csv, engine
) -> None:  # type: ignore[no-untyped-def]
    before = table_snapshot(engine)
    visits = write_csv(
        "inv2.csv", "client_id,invoice #,date,amount\nC-1,9,2024-03-01,40\nC-1,9,2024-03-01,41\n"
    )
    result = one_client("import", "activities", str(visits))
    assert result.exit_code != 0
    assert "inv2.csv:3: invoice #: '9' already appears at line 2" in flat(result.output)
    assert table_snapshot(engine) == before


def test_waiting_for_an_unknown_member_of_staff_is_an_error(practice) -> None:  # noqa: F811
    result = practice("waiting", "--staff", "Nobody")
    assert result.exit_code != 0
    assert "no staff member called 'Nobody' (staff: Dana, Sam)" in flat(result.output)
    assert "Nothing is waiting" not in result.output


def test_a_touch_by_an_unknown_member_of_staff_names_the_staff(one_client, engine) -> None:  # type: ignore[no-untyped-def]
    one_client("staff", "add", "Dana Reyes")
    before = table_snapshot(engine)
    result = one_client("touch", "C-1", "--staff", "Dana")
    assert result.exit_code != 0
    assert "no staff member called 'Dana' (staff: Dana Reyes)" in flat(result.output)
    assert table_snapshot(engine) == before
