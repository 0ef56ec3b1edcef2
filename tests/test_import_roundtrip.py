"""Export -> import changes nothing; importing a file twice changes nothing. Driven through the
CLI as a practice owner would, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import table_snapshot

CLIENTS = (
    "id,name,first_name,last_name,email,phone,address,birthday,since,owner,tags,status,"
    "cancelled_on,next_due,do_not_contact,notes\n"
    'C-1,Zoë Müller 🎉,Zoë,Müller,zoe@example.com,415 555 0123,"1 Main St, Springfield",'
    '1980-05-06,2019-01-02,Dana Reyes,vip;knee,active,,2027-01-15,no,"Line one\n'
    'line two, with ""quotes"" and a comma"\n'
    'C-2,"=HYPERLINK(""http://evil.example"")",,,,,,,,=Bob,,prospect,,,yes,@SUM(1+1)\n'
    "-3,François Côté,,,,+44 20 7946 0958,,,,-Minus,+plus;-minus,cancelled,2024-06-01,,no,"
    "+1 for the new chair\n"
    "C-4,Ñúñez 🦷,,,,,,,,,,,,,,\n"
)
ACTIVITIES = (
    "client_id,date,id,amount,quantity,kind,note\n"
    "C-1,2024-01-05,,0,,check-up,free check-up\n"
    "C-1,2024-01-05,,0,,check-up,free check-up\n"
    "C-1,2024-01-05,,0,,check-up,free check-up\n"
    'C-1,2024-02-01,INV-9,"$1,234.50",2,treatment,"note, with comma"\n'
    "C-1,2024-02-02,INV-10,-45.00,,refund,=refund of INV-9\n"
    '-3,2024-03-01,,(12.00),1.5,=kind,"multi\r\nline ""note"""\n'
    "C-2,2024-03-02,-INV,7,0.25,,@x\n"
)
TOUCHES = (
    "client_id,date,channel,staff,note,outcome\n"
    "C-1,2024-01-06,Phone call,Dana Reyes,Asked about her knee,reached\n"
    "C-1,2024-01-06,Phone call,Dana Reyes,Asked about her knee,reached\n"
    "-3,2024-06-03,newsletter,,,\n"
    "C-2,2024-06-04,card,=Bob,-sent-,+1\n"
)
KINDS = ("clients", "activities", "touches")


def flat(text: str) -> str:
    """The output with line wrapping undone, for checking sentences."""
    return " ".join(text.split())


def build_practice(cli, write_csv: Callable[..., Path]) -> None:  # type: ignore[no-untyped-def]
    for kind, text in zip(KINDS, (CLIENTS, ACTIVITIES, TOUCHES), strict=True):
        result = cli("import", kind, str(write_csv(f"{kind}.csv", text)))
        assert result.exit_code == 0, result.output
    assert cli("staff", "add", "Ava Stone", "--email", "ava@example.com").exit_code == 0
    by_hand = [
        # Recorded twice on purpose: two identical cards on one day are two touches.
        ("--channel", "card", "--staff", "Dana Reyes", "--note", "Thank-you card\n"),
        ("--channel", "card", "--staff", "Dana Reyes", "--note", "Thank-you card\n"),
        ("--channel", "sms", "--staff", "Ava Stone", "--note", "  =spaced  ", "--outcome", "x "),
        ("--channel", "visit", "--note", 'Dropped by,\n"with" flowers'),
    ]
    for client, options in zip(("C-1", "C-1", "-3", "C-4"), by_hand, strict=True):
        result = cli("touch", *options, "--date", "2024-06-05", "--", client)
        assert result.exit_code == 0, result.output


def export_all(cli, folder: Path) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    paths = {}
    for kind in KINDS:
        paths[kind] = folder / f"export-{kind}.csv"
        result = cli("export", kind, str(paths[kind]))
        assert result.exit_code == 0, result.output
    return paths


def test_exporting_then_importing_changes_nothing(
    cli, engine: sa.Engine, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    build_practice(cli, write_csv)
    before = table_snapshot(engine)
    assert [len(before[t]) for t in ("staff", "clients", "activities", "touches")] == [4, 4, 7, 8]
    for kind, path in export_all(cli, tmp_path).items():
        result = cli("import", kind, str(path))
        assert result.exit_code == 0, result.output
        assert "0 added, 0 updated" in flat(result.output)
        assert "Nothing changed" in result.output
    assert table_snapshot(engine) == before


def test_an_export_rebuilds_the_same_practice_in_an_emptied_database(
    cli, engine: sa.Engine, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    build_practice(cli, write_csv)
    (tmp_path / "first").mkdir()
    first = export_all(cli, tmp_path / "first")
    with engine.begin() as conn:
        for table in ("touches", "activities", "clients", "staff"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    for kind in KINDS:
        result = cli("import", kind, str(first[kind]))
        assert result.exit_code == 0, result.output
    (tmp_path / "second").mkdir()
    second = export_all(cli, tmp_path / "second")
    for kind in KINDS:
        assert second[kind].read_bytes() == first[kind].read_bytes(), kind


def test_the_export_neutralises_formulas_and_the_import_restores_them(
    cli, engine: sa.Engine, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    build_practice(cli, write_csv)
    paths = export_all(cli, tmp_path)
    cells = []
    for path in paths.values():
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                # Amounts and quantities are numbers: "-45.00" is what a spreadsheet should see.
                cells += [v for k, v in row.items() if k not in ("amount", "quantity")]
    assert '\'=HYPERLINK("http://evil.example")' in cells
    assert {"'-3", "'@SUM(1+1)", "'+plus;-minus", "'=Bob", "'=spaced"} <= set(cells)
    assert "'+442079460958" in cells  # a phone number in E.164 starts with +
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    with engine.connect() as conn:
        names = set(conn.exec_driver_sql("SELECT name FROM clients").scalars())
        notes = set(conn.exec_driver_sql("SELECT note FROM activities").scalars())
    assert '=HYPERLINK("http://evil.example")' in names
    assert {"=refund of INV-9", "@x", 'multi\r\nline "note"'} <= notes


def test_importing_the_same_files_twice_changes_nothing_the_second_time(
    cli, engine: sa.Engine, write_csv: Callable[..., Path]
) -> None:
    paths = [
        write_csv(f"{k}.csv", t) for k, t in zip(KINDS, (CLIENTS, ACTIVITIES, TOUCHES), strict=True)
    ]
    for kind, path in zip(KINDS, paths, strict=True):
        first = cli("import", kind, str(path))
        assert first.exit_code == 0, first.output
        assert "Nothing changed" not in first.output
    before = table_snapshot(engine)
    for kind, path in zip(KINDS, paths, strict=True):
        again = cli("import", kind, str(path))
        assert again.exit_code == 0, again.output
        assert "0 added, 0 updated" in flat(again.output)
        assert "Nothing changed: everything in the file was already here." in flat(again.output)
    assert table_snapshot(engine) == before


def test_identical_activities_on_one_day_are_all_kept_and_never_doubled(
    cli, engine: sa.Engine, write_csv: Callable[..., Path]
) -> None:
    assert cli("import", "clients", str(write_csv("c.csv", "id,name\n1,Ann\n"))).exit_code == 0
    visits = write_csv("v.csv", "client_id,date,amount\n" + "1,2024-05-01,0\n" * 3)
    assert "3 added" in flat(cli("import", "activities", str(visits)).output)
    assert "0 added" in flat(cli("import", "activities", str(visits)).output)
    more = write_csv("v2.csv", "client_id,date,amount\n" + "1,2024-05-01,0\n" * 4)
    assert "1 added" in flat(cli("import", "activities", str(more)).output)
    with engine.connect() as conn:
        amounts = conn.exec_driver_sql("SELECT amount_cents FROM activities").scalars().all()
    assert amounts == [0, 0, 0, 0]


@pytest.mark.parametrize("note", ["Asked about her knee\n", "  padded  ", " "])
def test_a_touch_recorded_by_hand_is_not_duplicated_by_reimporting_its_export(
    cli, engine: sa.Engine, write_csv: Callable[..., Path], tmp_path: Path, note: str
) -> None:
    assert cli("import", "clients", str(write_csv("c.csv", "id,name\n1,Ann\n"))).exit_code == 0
    result = cli("touch", "1", "--note", note, "--outcome", "reached ", "--date", "2024-06-05")
    assert result.exit_code == 0, result.output
    before = table_snapshot(engine)
    path = tmp_path / "touches.csv"
    assert cli("export", "touches", str(path)).exit_code == 0
    again = cli("import", "touches", str(path))
    assert "0 added" in flat(again.output), again.output
    assert table_snapshot(engine) == before


def test_a_header_only_file_says_it_has_no_rows(cli, write_csv: Callable[..., Path]) -> None:
    empty = write_csv("clients.csv", "id,name,email\n")
    result = cli("import", "clients", str(empty))
    assert result.exit_code == 0, result.output
    assert "has a header line but no rows" in flat(result.output)
    assert "already here" not in flat(result.output)
