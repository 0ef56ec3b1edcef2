"""The `keepwarm` command as a practice owner meets it: help with examples, the version, a
clear way out when there is no database yet, and the everyday people commands."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from keepwarm import __version__
from keepwarm.cli import app


def _leaf_commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every runnable command under `group`, walking sub-groups (import, export, staff, db)."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _leaf_commands(command, (*path, name))
        else:
            yield (*path, name)


COMMANDS = sorted(_leaf_commands(typer.main.get_command(app)))


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_command_tree_has_every_documented_command() -> None:
    assert {
        ("init",),
        ("db", "migrate"),
        ("import", "clients"),
        ("import", "activities"),
        ("import", "touches"),
        ("export", "clients"),
        ("export", "activities"),
        ("export", "touches"),
        ("staff", "add"),
        ("staff", "list"),
        ("clients",),
        ("client",),
        ("touch",),
    } <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_help_with_an_example_of_itself(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Example: keepwarm " + " ".join(command) in text, text


GROUPS = sorted(
    name for name, cmd in typer.main.get_command(app).commands.items() if hasattr(cmd, "commands")
)


@pytest.mark.parametrize("group", GROUPS)
def test_every_command_group_has_help_with_an_example(group: str) -> None:
    result = CliRunner().invoke(app, [group, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"Example: keepwarm {group} " in flat(result.output)


def test_the_version_is_shown() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"keepwarm {__version__}\n"


def _has_tables(db_url: str) -> bool:
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        return bool(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "args",
    [
        ("import", "clients", "{csv}"),
        ("export", "clients", "{out}"),
        ("clients",),
        ("staff", "list"),
    ],
    ids=["import", "export", "clients", "staff list"],
)
def test_without_a_database_a_command_says_to_run_init_and_creates_nothing(
    bare_cli, db_url: str, write_csv: Callable[..., Path], tmp_path: Path, args: tuple[str, ...]
) -> None:
    files = {"{csv}": str(write_csv("c.csv", "id,name\n1,Al\n")), "{out}": str(tmp_path / "o.csv")}
    result = bare_cli(*(files.get(a, a) for a in args))
    assert result.exit_code == 1
    assert "keepwarm init" in flat(result.stderr)
    assert "Traceback" not in result.output
    assert not (tmp_path / "o.csv").exists()
    if db_url.startswith("sqlite"):
        assert not (tmp_path / "keepwarm.db").exists()
    else:
        assert not _has_tables(db_url)


def test_init_then_import_works_and_init_again_changes_nothing(
    bare_cli, write_csv: Callable[..., Path]
) -> None:
    first = bare_cli("init")
    assert first.exit_code == 0, first.output
    assert "Created a keepwarm database" in flat(first.output)
    again = bare_cli("init")
    assert "already up to date" in flat(again.output)
    result = bare_cli("import", "clients", str(write_csv("c.csv", "id,name\n1,Al\n")))
    assert result.exit_code == 0, result.output
    migrate = bare_cli("db", "migrate", "--json")
    assert migrate.exit_code == 0
    state = json.loads(migrate.output)
    assert state["before"] == state["after"]


def test_a_file_that_does_not_exist_is_named_in_the_error(cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = cli("import", "clients", str(missing))
    assert result.exit_code == 1
    assert f"{missing}: no such file" in result.stderr


def test_staff_are_added_listed_and_not_added_twice(cli) -> None:
    assert "No staff yet" in cli("staff", "list").output
    added = cli("staff", "add", "Dana Reyes", "--email", "dana@example.com", "--weekly-quota", "3")
    assert added.exit_code == 0, added.output
    assert "Added Dana Reyes: quota 3 a week (own); capacity 5 a day (practice default)." in (
        flat(added.output)
    )
    (dana,) = json.loads(cli("staff", "list", "--format", "json").output)["staff"]
    assert dana["name"] == "Dana Reyes" and dana["email"] == "dana@example.com"
    assert (dana["weekly_quota"], dana["quota_source"]) == (3, "own")
    assert (dana["daily_capacity"], dana["capacity_source"]) == (5, "practice default")
    twice = cli("staff", "add", "Dana Reyes")
    assert twice.exit_code == 1
    assert "already a staff member called 'Dana Reyes'" in flat(twice.stderr)
    bad = cli("staff", "add", "Eli", "--email", "eli(at)example")
    assert bad.exit_code == 1 and "is not an email address" in flat(bad.stderr)


def test_a_member_without_their_own_quota_follows_the_policys_and_changes_are_dated(
    cli, engine
) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.store.queries import quota_history

    assert cli("staff", "add", "Bo", "--joined", "2026-01-05").exit_code == 0
    assert "quota 2 a week (practice default)" in flat(cli("staff", "set", "Bo").output)
    assert cli("policy", "set", "weekly_quota", "4").exit_code == 0
    (bo,) = json.loads(cli("staff", "list", "--format", "json").output)["staff"]
    assert (bo["weekly_quota"], bo["quota_source"]) == (4, "practice default")
    assert bo["joined_on"] == "2026-01-05"
    changed = cli("staff", "set", "Bo", "--weekly-quota", "1", "--daily-capacity", "3")
    assert "quota 1 a week (own); capacity 3 a day (own)" in flat(changed.output)
    back = cli("staff", "set", "Bo", "--weekly-quota", "default")
    assert "quota 4 a week (practice default)" in flat(back.output)
    with engine.connect() as conn:
        (history,) = quota_history(conn).values()
    assert history[0] == (dt.date(2026, 1, 5), 2)  # from the day Bo joined
    assert history[-1][1] == 4  # today: back on the default, which is 4 now


def test_a_touch_is_recorded_and_shown_on_the_client_card(
    cli, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("c.csv", "id,name,email\nC-1042,Zoë Müller,zoe@example.com\n")
    assert cli("import", "clients", str(path)).exit_code == 0
    assert cli("staff", "add", "Dana").exit_code == 0
    result = cli(
        "touch", "C-1042", "--channel", "Phone call", "--staff", "Dana",
        "--note", "Asked about her knee", "--date", "2024-06-05",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Recorded a call with client C-1042 on 2024-06-05." in result.output
    card = cli("client", "C-1042", "--format", "json")
    assert card.exit_code == 0, card.output
    data = json.loads(card.output)
    assert data["client"]["name"] == "Zoë Müller"
    assert data["touches"] == [
        {
            "client_id": "C-1042",
            "date": "2024-06-05",
            "channel": "call",
            "staff": "Dana",
            "note": "Asked about her knee",
            "outcome": None,
        }
    ]
    text = cli("client", "C-1042")
    assert "Zoë Müller" in text.output and "Asked about her knee" in text.output
    found = cli("clients", "müller")
    assert "C-1042" in found.output


def test_clients_are_found_as_the_clients_page_finds_them(
    cli, engine: sa.Engine, write_csv: Callable[..., Path]
) -> None:
    from keepwarm.services.clients import find_clients

    people = (
        "id,name,email,phone\n"
        "C-1042,Anna Smith,anna@example.com,(415) 555-0123\n"
        "C-1043,Bo Berg,bo@shop.example,\n"
    )
    assert cli("import", "clients", str(write_csv("c.csv", people))).exit_code == 0
    visits = "client_id,date\nC-1042,2025-01-05\nC-1042,2025-02-07\n"
    assert cli("import", "activities", str(write_csv("a.csv", visits))).exit_code == 0

    def found(text: str) -> list[str]:
        result = cli("clients", text)
        assert result.exit_code == 0, result.output
        return [cid for cid in ("C-1042", "C-1043") if cid in result.output]

    assert found("smith") == found("SMI") == ["C-1042"]  # part of a name, any case
    assert found("shop.example") == ["C-1043"]  # part of an email
    assert found("c-1043") == ["C-1043"]  # a whole id
    assert found("C-104") == ["C-1042", "C-1043"]  # part of one finds both
    assert found("415 555 0123") == found("5550123") == ["C-1042"]  # a phone, however written
    assert "No clients match." in cli("clients", "nobody").output
    items, total = find_clients(engine)  # what the command lists: by name, with the visits
    assert total == 2
    assert [(i.client.id, i.last_activity, i.activity_count) for i in items] == [
        ("C-1042", dt.date(2025, 2, 7), 2),
        ("C-1043", None, 0),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("touch", "C-404"), "no client with id 'C-404'"),
        (("touch", "C-1", "--staff", "Nobody"), "no staff member called 'Nobody'"),
        (("touch", "C-1", "--channel", "pigeon"), "'pigeon' is not a channel"),
        (("client", "C-404"), "no client with id 'C-404'"),
    ],
)
def test_a_mistyped_touch_or_client_is_one_clear_error(
    cli, write_csv: Callable[..., Path], args: tuple[str, ...], message: str
) -> None:
    assert cli("import", "clients", str(write_csv("c.csv", "id,name\nC-1,Al\n"))).exit_code == 0
    result = cli(*args)
    assert result.exit_code == 1
    assert message in flat(result.stderr)


def test_a_touch_date_that_is_not_a_date_is_refused(cli) -> None:
    result = cli("touch", "C-1", "--date", "yesterday")
    assert result.exit_code == 2
    assert "'yesterday' is not a date like 2024-03-05" in flat(result.output)


@pytest.mark.parametrize(
    ("kind", "own", "not_own"),
    [
        ("clients", ["--region"], ["--allow-future", "--create-missing"]),
        ("activities", ["--allow-future", "--create-missing"], ["--region"]),
        ("touches", ["--allow-future", "--create-missing"], ["--region"]),
    ],
)
def test_each_import_command_has_the_common_options_and_only_its_own(
    kind: str, own: list[str], not_own: list[str]
) -> None:
    from typer.testing import CliRunner

    from keepwarm.cli.app import app

    shown = CliRunner().invoke(app, ["import", kind, "--help"], terminal_width=200).output
    for option in ["--db", "--dry-run", "--encoding", "--dayfirst", "--monthfirst", *own]:
        assert option in shown, option
    for option in not_own:
        assert option not in shown, option
