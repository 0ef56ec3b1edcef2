"""Every kind of bad input is refused with `FILE:LINE: field: reason`, exit status 1, and the
database exactly as it was: all or nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY, table_snapshot
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind, ImportReport, ProblemCode
from keepwarm.ingest.values import DateOrder
from keepwarm.services.importing import ImportOptions, import_file, preview_file

PRACTICE = {
    ImportKind.CLIENTS: "id,name,owner\n1,Ann Archer,Dana\n2,Bo Berg,Dana\n3,Cy Cole,\n",
    ImportKind.ACTIVITIES: "client_id,date,id,amount\n1,2024-01-02,A1,10\n2,2024-01-03,,0\n",
    ImportKind.TOUCHES: "client_id,date,channel,staff\n1,2024-01-04,call,Dana\n",
}


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]) -> sa.Engine:
    """A small practice already in the database, so 'unchanged' means something."""
    for kind, text in PRACTICE.items():
        path = write_csv(f"practice-{kind.value}.csv", text)
        report = import_file(engine, settings, kind, path, today=TODAY, now=NOW)
        assert report.ok, report.problems
    return engine


@dataclass(frozen=True)
class Bad:
    """A file that must be refused, and the problems it must be refused with:
    (line or None, column as written or None, part of the reason)."""

    kind: str
    content: str | bytes
    expected: list[tuple[int | None, str | None, str]]
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


V = "client_id,date,note\n1,2024-01-02,fine\n"  # a valid first row for activity files
CASES: dict[str, Bad] = {
    "unterminated quote": Bad(
        "activities",
        V + '2,2024-01-03,"never closed\n3,2024-01-04,fine\n1,2024-01-05,fine\n',
        [(3, None, 'a quoted field that starts in this row is never closed (unbalanced " quotes)')],
    ),
    "stray quote inside a quoted field": Bad(
        "activities", V + '2,2024-01-03,"half"way"\n', [(3, None, "malformed CSV")]
    ),
    "too many fields": Bad(
        "activities", V + "2,2024-01-03,x,extra\n", [(3, None, "expected 3 fields, found 4")]
    ),
    "too few fields": Bad("activities", V + "2\n", [(3, None, "expected 3 fields, found 1")]),
    "NUL byte in a plain file": Bad(
        "activities", (V + "2,2024-\x0001-03,x\n").encode(), [(3, None, "contains a NUL byte")]
    ),
    "huge field": Bad(
        "activities",
        V + "2,2024-01-03," + "x" * 100 + "\n",
        [(3, None, "a field is longer than the limit (KEEPWARM_IMPORT_MAX_FIELD)")],
        env={"KEEPWARM_IMPORT_MAX_FIELD": "40"},
    ),
    "random bytes": Bad(
        "clients",
        random.Random(7).randbytes(3000),
        [(1, None, "cannot be read as utf-8; name the file's encoding with --encoding")],
    ),
    "an Excel workbook": Bad(
        "clients", _xlsx(), [(None, None, "this is an Excel workbook (.xlsx) or another zip")]
    ),
    "spam where a date should be": Bad(
        "activities",
        V + "2,CHEAP MEDS http://spam.example BUY NOW,x\n",
        [(3, "date", "'CHEAP MEDS http://spam.example BUY NOW' is not a date")],
    ),
    "impossible date": Bad(
        "activities", V + "2,2024-02-30,x\n", [(3, "date", "'2024-02-30' is not a real date")]
    ),
    "future activity date": Bad(
        "activities", V + "2,2099-01-01,x\n", [(3, "date", "2099-01-01 is in the future")]
    ),
    "empty date": Bad("activities", V + "2,,x\n", [(3, "date", "is empty")]),
    "unknown client id": Bad(
        "activities", V + "99,2024-01-03,x\n", [(3, "client_id", "no client with id '99'")]
    ),
    "unknown client id in touches": Bad(
        "touches",
        "client_id,date,channel\n1,2024-01-02,call\n98,2024-01-03,sms\n",
        [(3, "client_id", "no client with id '98' (import clients first, or use --create")],
    ),
    "a line counted after a note spanning two lines": Bad(
        "activities",
        'client_id,date,note\r\n1,2024-01-02,"two\r\nlines"\r\n2,2024-02-30,x\r\n',
        [(4, "date", "'2024-02-30' is not a real date")],
    ),
    "duplicate client ids": Bad(
        "clients",
        "id,name\n7,Al\n8,Bea\n7,Cal\n",
        [(4, "id", "'7' already appears at line 2")],
    ),
    "duplicate activity ids": Bad(
        "activities",
        "client_id,date,Invoice Number\n1,2024-01-02,N1\n2,2024-01-03,N1\n",
        [(3, "Invoice Number", "'N1' already appears at line 2")],
    ),
    # An unusable phone or email is kept as written and flagged (tests/test_import_flags.py);
    # one too long to be anything but junk still refuses the file.
    "a phone cell of junk": Bad(
        "clients",
        "id,name,phone\n4,Di,\n5,Ed," + "9" * 400 + "\n",
        [(3, "phone", "longer than 320 characters")],
    ),
    "a region phone numbers cannot be read in": Bad(
        "clients",
        "id,name,Mobile\n4,Di,020 7946 0958\n",
        [(None, "Mobile", "cannot read phone numbers in region 'UK'")],
        args=("--region", "uk"),
    ),
    "unknown status": Bad(
        "clients", "id,name,status\n4,Di,active\n5,Ed,vip\n", [(3, "status", "is not a status")]
    ),
    "birthday in the future": Bad(
        "clients", "id,name,DOB\n4,Di,\n5,Ed,2099-01-01\n", [(3, "DOB", "is in the future")]
    ),
    "empty id": Bad("clients", "id,name\n4,Di\n,Ed\n", [(3, "id", "is empty")]),
    "empty name": Bad("clients", "id,name\n4,Di\n5,\n", [(3, "name", "no name given")]),
    "id too long": Bad(
        "clients", "id,name\n4,Di\n" + "9" * 201 + ",Ed\n", [(3, "id", "longer than 200")]
    ),
    "first and last name too long together": Bad(
        "clients",
        "id,First Name,Last Name\n4,Di,\n5," + "a" * 200 + "," + "b" * 200 + "\n",
        [(3, "First Name", "the name is longer than 400 characters")],
    ),
    "a new client in a file without names": Bad(
        "clients",
        "id,phone\n1,415 555 0123\n99,415 555 0124\n",
        [(3, "id", "'99' is not a client yet, and the file has no name column")],
    ),
    "unknown channel": Bad(
        "touches",
        "client_id,date,channel\n1,2024-01-02,call\n2,2024-01-03,carrier pigeon\n",
        [(3, "channel", "'carrier pigeon' is not a channel")],
    ),
    "amount that is not money": Bad(
        "activities",
        "client_id,date,amount\n1,2024-01-02,10\n2,2024-01-03,ten dollars\n",
        [(3, "amount", "'ten dollars' is not an amount of money")],
    ),
    "amount too large to store": Bad(
        "activities",
        "client_id,date,amount\n1,2024-01-02,10\n2,2024-01-03,99999999999999999999\n",
        [(3, "amount", "is too large an amount of money")],
    ),
    "missing required column": Bad(
        "activities", "client_id,amount\n1,10\n", [(1, None, "no date column")]
    ),
    "no id column": Bad("clients", "name,email\nAl,al@example.com\n", [(1, None, "no id column")]),
    "two columns meaning the same field": Bad(
        "clients",
        "id,Customer ID,name\n1,1,Al\n",
        [(1, "Customer ID", "means id, like column 'id': keep only one")],
    ),
    "empty file": Bad("clients", b"", [(None, None, "the file is empty")]),
    "byte limit": Bad(
        "clients",
        "id,name\n4,Di\n5,Ed\n6,Flo\n",
        [(None, None, "the file is 24 bytes, more than the limit of 20")],
        env={"KEEPWARM_IMPORT_MAX_BYTES": "20"},
    ),
    "row limit": Bad(
        "clients",
        "id,name\n4,Di\n5,Ed\n6,Flo\n",
        [(4, None, "more than 2 rows: split the file or raise KEEPWARM_IMPORT_MAX_ROWS")],
        env={"KEEPWARM_IMPORT_MAX_ROWS": "2"},
    ),
    "undecodable byte in a UTF-8 file": Bad(
        "clients",
        "id,name\n4,Zoë\n".encode() + b"5,Fran\xe7ois\n",
        [(3, None, "byte 0xE7 cannot be read as utf-8")],
    ),
    "undecodable byte with the encoding named": Bad(
        "clients",
        "id,name\n4,Zoë\n".encode() + b"5,Fran\xe7ois\n",
        [(3, None, "byte 0xE7 cannot be read as utf-8")],
        args=("--encoding", "UTF-8"),
    ),
    "unknown encoding name": Bad(
        "clients",
        "id,name\n4,Di\n",
        [(None, None, "unknown encoding 'klingon'")],
        ("--encoding", "klingon"),
    ),
    "a header line longer than 1 MiB": Bad(
        "clients",
        "id,name," + ",".join(f"column_{i:0250d}" for i in range(4201)) + "\n"
        "X-1,Wide" + "," * 4201 + "\n",
        [(1, None, "header too long")],
    ),
    "ambiguous dates without a flag": Bad(
        "activities",
        "client_id,date\n1,03/04/2024\n2,05/06/2024\n",
        [(2, "date", "'03/04/2024' could be day/month or month/day")],
    ),
    "dates in both orders": Bad(
        "activities",
        "client_id,date\n1,13/04/2024\n2,04/14/2024\n",
        [(2, "date", "'13/04/2024' puts the day first"), (3, "date", "mixes date orders")],
    ),
    "a month-first date in a day-first file": Bad(
        "activities",
        "client_id,date\n1,01/02/2024\n2,02/13/2024\n",
        [(3, "date", "'02/13/2024' is not a real date")],
        args=("--dayfirst",),
    ),
}


P = ProblemCode
# What kind of problem each case is: the code a program acts on, whatever the reason's words.
CODES: dict[str, ProblemCode] = {
    "unterminated quote": P.MALFORMED_ROW,
    "stray quote inside a quoted field": P.MALFORMED_ROW,
    "too many fields": P.WRONG_FIELD_COUNT,
    "too few fields": P.WRONG_FIELD_COUNT,
    "NUL byte in a plain file": P.NUL_BYTE,
    "huge field": P.MALFORMED_ROW,
    "random bytes": P.UNDECODABLE,
    "an Excel workbook": P.NOT_CSV,
    "spam where a date should be": P.INVALID_VALUE,
    "impossible date": P.INVALID_VALUE,
    "future activity date": P.FUTURE_DATE,
    "empty date": P.EMPTY_VALUE,
    "unknown client id": P.UNKNOWN_CLIENT,
    "unknown client id in touches": P.UNKNOWN_CLIENT,
    "a line counted after a note spanning two lines": P.INVALID_VALUE,
    "duplicate client ids": P.DUPLICATE_ID,
    "duplicate activity ids": P.DUPLICATE_ID,
    "a phone cell of junk": P.TOO_LONG,
    "a region phone numbers cannot be read in": P.PHONE_REGION,
    "unknown status": P.INVALID_VALUE,
    "birthday in the future": P.FUTURE_DATE,
    "empty id": P.EMPTY_VALUE,
    "empty name": P.NO_NAME,
    "id too long": P.TOO_LONG,
    "first and last name too long together": P.TOO_LONG,
    "a new client in a file without names": P.NEW_CLIENT_WITHOUT_NAME,
    "unknown channel": P.INVALID_VALUE,
    "amount that is not money": P.INVALID_VALUE,
    "amount too large to store": P.INVALID_VALUE,
    "missing required column": P.MISSING_COLUMN,
    "no id column": P.MISSING_COLUMN,
    "two columns meaning the same field": P.DUPLICATE_COLUMN,
    "empty file": P.EMPTY_FILE,
    "byte limit": P.TOO_LARGE,
    "row limit": P.TOO_MANY_ROWS,
    "undecodable byte in a UTF-8 file": P.UNDECODABLE,
    "undecodable byte with the encoding named": P.UNDECODABLE,
    "unknown encoding name": P.UNKNOWN_ENCODING,
    "a header line longer than 1 MiB": P.HEADER_TOO_LONG,
    "ambiguous dates without a flag": P.DATE_ORDER_UNKNOWN,
    "dates in both orders": P.DATE_ORDERS_MIXED,
    "a month-first date in a day-first file": P.INVALID_VALUE,
}


def _problem_lines(stderr: str, path: Path) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{path}:")]


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_file_is_refused_by_line_and_changes_nothing(
    name: str,
    practice: sa.Engine,
    cli,
    write_csv: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASES[name]
    for variable, value in case.env.items():
        monkeypatch.setenv(variable, value)
    reports: list[ImportReport] = []  # what the command's import reported, codes and all

    def import_and_keep(*args: Any, **kwargs: Any) -> ImportReport:
        reports.append(import_file(*args, **kwargs))
        return reports[-1]

    monkeypatch.setattr("keepwarm.cli.data.import_file", import_and_keep)
    path = write_csv(f"bad-{case.kind}.csv", case.content)
    before = table_snapshot(practice)
    with practice.connect() as conn:
        imports_before = conn.exec_driver_sql("SELECT count(*) FROM imports").scalar()

    result = cli("import", case.kind, str(path), *case.args)

    assert result.exit_code == 1, result.output
    lines = _problem_lines(result.stderr, path)
    assert len(lines) == len(case.expected), result.stderr
    for line, (number, column, reason) in zip(lines, case.expected, strict=True):
        where = f"{path}:{number}" if number is not None else str(path)
        prefix = f"{where}: {column}: " if column else f"{where}: "
        assert line.startswith(prefix), (line, prefix)
        assert reason in line[len(prefix) :], (line, reason)
    assert "Nothing imported" in result.stderr
    assert {p.code for p in reports[0].problems} == {CODES[name]}
    assert table_snapshot(practice) == before
    with practice.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM imports").scalar() == imports_before


def test_an_ambiguous_date_is_a_coded_problem_naming_its_column_and_value(
    practice: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("visits.csv", "client_id,Visit Date\n1,03/04/2024\n2,05/06/2024\n")
    preview = preview_file(practice, settings, ImportKind.ACTIVITIES, path, today=TODAY, now=NOW)
    (problem,) = preview.report.problems
    assert problem.code is ProblemCode.DATE_ORDER_UNKNOWN
    assert (problem.line, problem.field, problem.value) == (2, "Visit Date", "03/04/2024")
    assert preview.needs_date_order
    told = ImportOptions(date_order=DateOrder.DAY_FIRST)
    again = preview_file(
        practice, settings, ImportKind.ACTIVITIES, path, today=TODAY, now=NOW, options=told
    )
    assert again.report.ok and not again.needs_date_order


def test_one_bad_row_among_many_good_ones_changes_nothing(
    practice: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    good = "".join(f"{i % 3 + 1},2024-01-{i % 28 + 1:02d},{i}.00\n" for i in range(500))
    path = write_csv("a.csv", "client_id,date,amount\n" + good + "2,2024-13-01,1\n" + good)
    before = table_snapshot(practice)
    report = import_file(practice, settings, ImportKind.ACTIVITIES, path, today=TODAY, now=NOW)
    assert [(p.line, p.field) for p in report.problems] == [(502, "date")]
    assert (report.rows, report.rejected, report.added) == (1001, 1, 0)
    assert table_snapshot(practice) == before


def test_only_the_first_50_problems_are_shown_then_how_many_more(
    practice: sa.Engine, cli, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("a.csv", "client_id,date\n" + "1,someday\n" * 63)
    before = table_snapshot(practice)
    result = cli("import", "activities", str(path))
    assert result.exit_code == 1
    lines = _problem_lines(result.stderr, path)
    assert len(lines) == 50
    assert lines[0].startswith(f"{path}:2: date: ") and lines[-1].startswith(f"{path}:51: date: ")
    assert "... and 13 more problems." in result.stderr
    assert "63 problem(s)" in result.stderr
    assert table_snapshot(practice) == before


def test_a_problem_line_is_never_wrapped_however_long_the_path(
    practice: sa.Engine, cli, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("an-export-with-a-very-long-name-" * 5 + ".csv", V + "2,2024-02-30,x\n")
    result = cli("import", "activities", str(path))
    assert result.exit_code == 1
    expected = f"{path}:3: date: '2024-02-30' is not a real date"
    assert len(expected) > 220
    assert expected in result.stderr.splitlines()


def test_undecodable_bytes_never_reach_the_database_as_replacement_characters(
    practice: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    content = "id,name\n4,Zoë\n".encode() + b"5,Fran\xe7ois \xff\xfe\n"
    for encoding in (None, "utf-8"):
        path = write_csv("mixed.csv", content)
        report = import_file(
            practice,
            settings,
            ImportKind.CLIENTS,
            path,
            today=TODAY,
            now=NOW,
            options=ImportOptions(encoding=encoding),
        )
        assert [p.line for p in report.problems] == [3]
    with practice.connect() as conn:
        names = conn.exec_driver_sql("SELECT name FROM clients").scalars().all()
    assert not any("\ufffd" in n for n in names)
    assert len(names) == 3


def test_a_dry_run_reports_what_would_change_and_changes_nothing(
    practice: sa.Engine, cli, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("c.csv", "id,name,owner\n1,Ann Archer,Dana\n9,New Client,Newcomer\n")
    before = table_snapshot(practice)
    result = cli("import", "clients", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would import clients" in result.output
    assert "1 added" in " ".join(result.output.split())
    assert table_snapshot(practice) == before


def test_a_header_only_file_is_accepted_and_imports_nothing(
    practice: sa.Engine, cli, write_csv: Callable[..., Path]
) -> None:
    before = table_snapshot(practice)
    for kind, header in (
        ("clients", "id,name"),
        ("activities", "client_id,date"),
        ("touches", "client_id,date,channel"),
    ):
        result = cli("import", kind, str(write_csv(f"{kind}.csv", header + "\r\n")))
        assert result.exit_code == 0, result.output
        said = " ".join(result.output.split())
        assert "0 rows" in said and "has a header line but no rows" in said
        assert "Nothing changed" not in said
    assert table_snapshot(practice) == before


def test_a_future_date_is_accepted_with_allow_future(
    practice: sa.Engine, cli, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("booked.csv", "client_id,date,kind\n1,2099-01-01,booked check-up\n")
    assert cli("import", "activities", str(path)).exit_code == 1
    result = cli("import", "activities", str(path), "--allow-future")
    assert result.exit_code == 0, result.output
    with practice.connect() as conn:
        dates = conn.exec_driver_sql("SELECT date FROM activities WHERE kind IS NOT NULL").all()
    assert [str(d[0]) for d in dates] == ["2099-01-01"]


def test_unknown_clients_are_created_with_create_missing(
    practice: sa.Engine, cli, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("v.csv", "client_id,date\n1,2024-02-01\nW-7,2024-02-02\nW-7,2024-02-03\n")
    result = cli("import", "activities", str(path), "--create-missing")
    assert result.exit_code == 0, result.output
    assert "New clients created for unknown ids: 1" in result.output
    with practice.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT name, status, (SELECT count(*) FROM activities a WHERE a.client_id = c.id)"
            " FROM clients c WHERE external_id = 'W-7'"
        ).one()
    assert tuple(row) == ("W-7", "active", 2)
