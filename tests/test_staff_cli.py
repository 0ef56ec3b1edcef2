"""`keepwarm staff` beyond add and list: edit (email, quota, capacity, rename), deactivate and
activate; and a touches file naming someone who is not a member of staff yet (added, and the
report says so)."""

from __future__ import annotations

import datetime as dt
import json

from conftest import table_snapshot
from test_today import DAY, practice  # noqa: F401  (the fixture)


def flat(text: str) -> str:
    return " ".join(text.split())


def _members(cli) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    listed = json.loads(cli("staff", "list", "--format", "json").output)["staff"]
    return {m["name"]: m for m in listed}


def test_edit_changes_only_what_is_given(cli) -> None:  # type: ignore[no-untyped-def]
    cli("staff", "add", "Dana Reyes", "--email", "dana@example.com", "--weekly-quota", "2")
    result = cli("staff", "edit", "Dana Reyes", "--weekly-quota", "5")
    assert result.exit_code == 0, result.output
    dana = _members(cli)["Dana Reyes"]
    assert (dana["email"], dana["weekly_quota"]) == ("dana@example.com", 5)
    assert cli("staff", "edit", "Dana Reyes", "--email", "d@example.org").exit_code == 0
    assert _members(cli)["Dana Reyes"]["email"] == "d@example.org"


def test_a_rename_keeps_the_members_clients_and_touches(cli, write_csv) -> None:  # type: ignore[no-untyped-def]
    cli("staff", "add", "Dana")
    cli("import", "clients", str(write_csv("c.csv", "id,name,owner\nC-1,Ann,Dana\n")))
    cli("touch", "C-1", "--staff", "Dana")
    result = cli("staff", "edit", "Dana", "--rename", "Dana Reyes")
    assert result.exit_code == 0, result.output
    assert "Dana Reyes (was Dana)" in result.output
    card = json.loads(cli("client", "C-1", "--format", "json").output)
    assert card["client"]["owner"] == "Dana Reyes"
    assert card["touches"][0]["staff"] == "Dana Reyes"
    assert set(_members(cli)) == {"Dana Reyes"}


def test_a_rename_onto_another_member_or_an_unknown_name_changes_nothing(cli, engine) -> None:  # type: ignore[no-untyped-def]
    cli("staff", "add", "Dana")
    cli("staff", "add", "Sam")
    before = table_snapshot(engine)
    taken = cli("staff", "edit", "Dana", "--rename", "Sam")
    assert taken.exit_code != 0
    assert "already a staff member called 'Sam'" in flat(taken.output)
    unknown = cli("staff", "edit", "Nobody", "--weekly-quota", "3")
    assert unknown.exit_code != 0
    assert "no staff member called 'Nobody' (staff: Dana, Sam)" in flat(unknown.output)
    bad = cli("staff", "edit", "Dana", "--email", "not-an-email")
    assert bad.exit_code != 0 and "email:" in bad.output
    assert table_snapshot(engine) == before


def test_a_deactivated_member_gets_no_actions_from_the_next_plan(practice) -> None:  # noqa: F811
    practice("run-daily", "--as-of", DAY)
    first = json.loads(practice("today", "--as-of", DAY, "--format", "json").output)
    assert "Dana" in {a["staff"] for a in first["actions"]}
    dana_clients = {a["client"]["id"] for a in first["actions"] if a["staff"] == "Dana"}
    result = practice("staff", "deactivate", "Dana")
    assert result.exit_code == 0, result.output
    assert "inactive" in result.output
    assert _members(practice)["Dana"]["active"] is False
    nxt = (dt.date.fromisoformat(DAY) + dt.timedelta(days=1)).isoformat()
    assert practice("run-daily", "--as-of", nxt).exit_code == 0
    second = json.loads(practice("today", "--as-of", nxt, "--format", "json").output)
    assert second["actions"]
    assert {a["staff"] for a in second["actions"]} == {"Sam"}
    # Dana's open actions were planned again for the active members (or wait for a place).
    waiting = json.loads(practice("waiting", "--format", "json").output)["waiting"]
    replanned = {a["client"]["id"] for a in second["actions"]} | {
        a["client"]["id"] for a in waiting
    }
    assert dana_clients & replanned
    assert all(a["staff"] != "Dana" for a in waiting)


def test_an_activated_member_is_planned_for_again(practice) -> None:  # noqa: F811
    practice("staff", "deactivate", "Dana")
    assert practice("staff", "activate", "Dana").exit_code == 0
    assert _members(practice)["Dana"]["active"] is True
    practice("run-daily", "--as-of", DAY)
    listed = json.loads(practice("today", "--as-of", DAY, "--format", "json").output)
    assert "Dana" in {a["staff"] for a in listed["actions"]}


TOUCHES = "client_id,date,channel,staff\nC-1,2024-05-01,call,Dana\nC-1,2024-05-02,call,Dnaa\n"


def test_a_touches_file_naming_someone_new_says_it_created_them(cli, write_csv) -> None:  # type: ignore[no-untyped-def]
    cli("staff", "add", "Dana")
    cli("import", "clients", str(write_csv("c.csv", "id,name\nC-1,Ann\n")))
    result = cli("import", "touches", str(write_csv("t.csv", TOUCHES)))
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "New staff member created: Dnaa" in out
    assert 'keepwarm staff deactivate "Dnaa"' in out
    assert "Dana" not in out.replace("Dnaa", "")  # an existing member is not "created"
    assert set(_members(cli)) == {"Dana", "Dnaa"}
    again = cli("import", "touches", str(write_csv("t.csv", TOUCHES)))
    assert "created" not in again.output
