"""Re-importing updates: clients by their id, only in the columns the file has; owners and
touch staff become staff; activities with an id update in place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from conftest import NOW, TODAY, table_snapshot
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind, ImportReport
from keepwarm.services.importing import ImportOptions, import_file

FULL = (
    "id,first_name,last_name,email,phone,owner,tags,status,do_not_contact,notes,next_due\n"
    "1,Zoë,Müller,zoe@example.com,415 555 0123,Dana,vip,active,no,likes mornings,2027-01-10\n"
    "2,Bo,Berg,bo@example.com,415 555 0124,Eli,,prospect,yes,,\n"
)


def run(
    engine: sa.Engine, settings: Settings, kind: ImportKind, path: Path, **options: Any
) -> ImportReport:
    report = import_file(
        engine, settings, kind, path, today=TODAY, now=NOW, options=ImportOptions(**options)
    )
    assert report.ok, report.problems
    return report


def client_rows(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT c.external_id, c.name, c.first_name, c.last_name, c.email, c.phone, s.name,"
            " c.tags, c.status, c.do_not_contact, c.notes, c.next_due"
            " FROM clients c LEFT JOIN staff s ON s.id = c.owner_id ORDER BY c.external_id"
        ).all()
    return [tuple(map(str, r)) for r in rows]


def test_a_client_is_updated_by_id_not_added_again(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    run(engine, settings, ImportKind.CLIENTS, write_csv("a.csv", FULL))
    changed = FULL.replace("zoe@example.com", "zoe.m@example.com")
    report = run(engine, settings, ImportKind.CLIENTS, write_csv("b.csv", changed))
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    emails = [r[4] for r in client_rows(engine)]
    assert emails == ["zoe.m@example.com", "bo@example.com"]


def test_a_file_with_only_id_and_phone_updates_phones_and_keeps_everything_else(
    cli, engine: sa.Engine, write_csv: Callable[..., Path]
) -> None:
    assert cli("import", "clients", str(write_csv("a.csv", FULL))).exit_code == 0
    before = client_rows(engine)
    update = write_csv("b.csv", "Customer ID,Mobile\n1,415 555 0199\n")
    result = cli("import", "clients", str(update))
    assert result.exit_code == 0, result.output
    assert "0 added, 1 updated" in " ".join(result.output.split())
    after = client_rows(engine)
    assert after[0] == (*before[0][:5], "+14155550199", *before[0][6:])
    assert after[1] == before[1]


def test_a_file_with_only_some_columns_leaves_the_others_alone(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    run(engine, settings, ImportKind.CLIENTS, write_csv("a.csv", FULL))
    before = client_rows(engine)
    run(engine, settings, ImportKind.CLIENTS, write_csv("b.csv", "id,name\n1,Zoë Müller-Smith\n"))
    after = client_rows(engine)
    assert after[0][1] == "Zoë Müller-Smith"
    assert after[0][2:] == before[0][2:]
    assert after[1] == before[1]


def test_an_empty_cell_in_a_present_column_clears_that_value(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    run(engine, settings, ImportKind.CLIENTS, write_csv("a.csv", FULL))
    run(engine, settings, ImportKind.CLIENTS, write_csv("b.csv", "id,email,notes\n1,,\n"))
    zoe = client_rows(engine)[0]
    assert (zoe[1], zoe[4], zoe[10]) == ("Zoë Müller", "None", "None")


def test_owners_named_in_a_clients_file_become_staff_once(
    cli, engine: sa.Engine, write_csv: Callable[..., Path]
) -> None:
    result = cli("import", "clients", str(write_csv("a.csv", FULL)))
    assert result.exit_code == 0, result.output
    assert "New staff member created: Dana" in result.output
    assert "New staff member created: Eli" in result.output
    listing = cli("staff", "list")
    assert "Dana" in listing.output and "Eli" in listing.output
    again = cli("import", "clients", str(write_csv("a.csv", FULL)))
    assert "New staff member" not in again.output
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM staff").scalar() == 2


def test_reassigning_owners_moves_each_client_to_its_own_new_owner(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    first = "id,name,owner\n1,A,Ann\n2,B,Bob\n3,C,Cy\n4,D,\n"
    run(engine, settings, ImportKind.CLIENTS, write_csv("a.csv", first))
    second = "id,name,owner\n1,A,Bob\n2,B,Cy\n3,C,\n4,D,Ann\n"
    report = run(engine, settings, ImportKind.CLIENTS, write_csv("b.csv", second))
    assert report.updated == 4
    assert [r[6] for r in client_rows(engine)] == ["Bob", "Cy", "None", "Ann"]


def test_staff_named_in_a_touches_file_become_staff(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    run(engine, settings, ImportKind.CLIENTS, write_csv("a.csv", FULL))
    text = "client_id,date,channel,staff\n1,2024-01-02,call,Dana\n2,2024-01-03,card,Fay\n"
    report = run(engine, settings, ImportKind.TOUCHES, write_csv("t.csv", text))
    assert report.new_staff == ("Fay",)
    with engine.connect() as conn:
        rows = (
            conn.exec_driver_sql(
                "SELECT s.name FROM touches t JOIN staff s ON s.id = t.staff_id ORDER BY t.date"
            )
            .scalars()
            .all()
        )
    assert rows == ["Dana", "Fay"]


def test_an_activity_with_an_id_is_updated_in_place_on_reimport(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    run(engine, settings, ImportKind.CLIENTS, write_csv("a.csv", FULL))
    text = "client_id,date,id,amount\n1,2024-01-02,INV-1,100\n1,2024-01-03,INV-2,50\n"
    run(engine, settings, ImportKind.ACTIVITIES, write_csv("v.csv", text))
    fixed = text.replace("INV-1,100", "INV-1,90").replace("1,2024-01-03", "2,2024-01-03")
    report = run(engine, settings, ImportKind.ACTIVITIES, write_csv("w.csv", fixed))
    assert (report.added, report.updated, report.unchanged) == (0, 2, 0)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT c.external_id, a.external_id, a.amount_cents FROM activities a"
            " JOIN clients c ON c.id = a.client_id ORDER BY a.external_id"
        ).all()
    assert [tuple(r) for r in rows] == [("1", "INV-1", 9000), ("2", "INV-2", 5000)]


def test_touch_channels_are_normalised_and_bulk_ones_are_not_personal(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    run(engine, settings, ImportKind.CLIENTS, write_csv("a.csv", FULL))
    text = (
        "client_id,date,channel\n1,2024-01-02,Phone Call\n1,2024-01-03,Text message\n"
        "1,2024-01-04,Newsletter\n1,2024-01-05,E-mail\n"
    )
    run(engine, settings, ImportKind.TOUCHES, write_csv("t.csv", text))
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT channel, personal FROM touches ORDER BY date").all()
    assert [(c, bool(p)) for c, p in rows] == [
        ("call", True),
        ("sms", True),
        ("newsletter", False),
        ("email", True),
    ]


def test_a_dry_run_of_an_update_changes_nothing(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    run(engine, settings, ImportKind.CLIENTS, write_csv("a.csv", FULL))
    before = table_snapshot(engine)
    changed = FULL.replace("Dana", "Gus")
    report = run(engine, settings, ImportKind.CLIENTS, write_csv("b.csv", changed), dry_run=True)
    assert (report.updated, report.new_staff, report.dry_run) == (1, ("Gus",), True)
    assert table_snapshot(engine) == before
