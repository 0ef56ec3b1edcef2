"""The shapes real exports come in: encodings, delimiters, header aliases, date orders,
money and phone formats. The same logical file must give the same database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY, table_snapshot
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind, ImportReport
from keepwarm.ingest.values import DateOrder
from keepwarm.services.importing import ImportOptions, import_file

NAMES = ("Zoë Müller", "François Côté", "Ñúñez Peña", "Åsa Øberg")
LOGICAL = "id;name;notes\r\n" + "".join(
    f'{i};{name};"Präferenz: Kaffee, schwarz; ½ Zucker"\r\n' for i, name in enumerate(NAMES, 1)
)


def run(
    engine: sa.Engine, settings: Settings, kind: ImportKind, path: Path, **options: Any
) -> ImportReport:
    return import_file(
        engine, settings, kind, path, today=TODAY, now=NOW, options=ImportOptions(**options)
    )


def names(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT name FROM clients ORDER BY external_id").scalars().all()


def flat(text: str) -> str:
    return " ".join(text.split())


def test_one_file_in_five_encodings_gives_one_database(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    saved = {
        "utf-8": LOGICAL.encode("utf-8"),
        "utf-8 with BOM": LOGICAL.encode("utf-8-sig"),
        "utf-16 with BOM": LOGICAL.encode("utf-16"),
        "cp1252": LOGICAL.encode("cp1252"),
        "latin-1": LOGICAL.encode("latin-1"),
    }
    # Latin-1 and Windows-1252 agree on every letter here: only the detection path differs.
    assert len(set(saved.values())) == 4
    snapshots = []
    for label, content in saved.items():
        report = run(engine, settings, ImportKind.CLIENTS, write_csv("c.csv", content))
        assert report.ok, (label, report.problems)
        assert report.rows == 4
        snapshots.append(table_snapshot(engine))
        if len(snapshots) > 1:
            assert (report.added, report.updated) == (0, 0), label
            assert snapshots[-1] == snapshots[0], label
    assert names(engine) == list(NAMES)
    with engine.connect() as conn:
        notes = set(conn.exec_driver_sql("SELECT notes FROM clients").scalars())
    assert notes == {"Präferenz: Kaffee, schwarz; ½ Zucker"}


def test_a_windows_file_with_curly_quotes_and_a_euro_sign_is_read_as_windows_1252(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    text = "id,name,notes\r\n1,Seán O’Brien,“Owes €5 – pays Friday”\r\n"
    report = run(engine, settings, ImportKind.CLIENTS, write_csv("c.csv", text.encode("cp1252")))
    assert report.ok and report.encoding == "cp1252", report
    with engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT name, notes FROM clients").one()
    assert tuple(row) == ("Seán O’Brien", "“Owes €5 – pays Friday”")


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "ISO-8859-1", "utf-16-le", "utf-8"])
def test_a_named_encoding_is_used_as_named(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path], encoding: str
) -> None:
    path = write_csv("c.csv", LOGICAL.encode(encoding))
    report = run(engine, settings, ImportKind.CLIENTS, path, encoding=encoding)
    assert report.ok, report.problems
    assert names(engine) == list(NAMES)


def test_the_encoding_option_works_from_the_command_line(
    cli, engine: sa.Engine, write_csv: Callable[..., Path]
) -> None:
    # Without a byte order mark, UTF-16 cannot be guessed; naming it works.
    path = write_csv("c.csv", LOGICAL.encode("utf-16-le"))
    assert cli("import", "clients", str(path)).exit_code == 1
    result = cli("import", "clients", str(path), "--encoding", "utf-16-le")
    assert result.exit_code == 0, result.output
    assert names(engine) == list(NAMES)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_comma_semicolon_tab_and_pipe_files_give_the_same_clients(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path], delimiter: str
) -> None:
    rows = [
        ["id", "name", "email", "notes"],
        ["1", "Zoë Müller", "zoe@example.com", '"a, b; c\td | e"'],
        ["2", "Bo", "", ""],
    ]
    text = "\n".join(delimiter.join(row) for row in rows) + "\n"
    report = run(engine, settings, ImportKind.CLIENTS, write_csv("c.csv", text))
    assert report.ok, report.problems
    assert report.delimiter == delimiter
    with engine.connect() as conn:
        got = conn.exec_driver_sql(
            "SELECT external_id, name, email, notes FROM clients ORDER BY external_id"
        ).all()
    assert [tuple(r) for r in got] == [
        ("1", "Zoë Müller", "zoe@example.com", "a, b; c\td | e"),
        ("2", "Bo", None, None),
    ]


@pytest.mark.parametrize(
    "header",
    [
        "id,name,email,phone,birthday",
        "Customer ID,Full Name,E-mail,Telephone,DOB",
        "client_id,Client Name,Email Address,Mobile,Date of Birth",
        "PATIENT-NUMBER,Name,MAIL,Cell Phone,Birth Date",
    ],
)
def test_common_header_spellings_mean_the_same_fields(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path], header: str
) -> None:
    path = write_csv("c.csv", header + "\nC1,Zoë Müller,zoe@example.com,415 555 0123,1980-05-06\n")
    report = run(engine, settings, ImportKind.CLIENTS, path)
    assert report.ok, report.problems
    assert report.ignored_columns == ()
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT external_id, name, email, phone, birthday FROM clients"
        ).one()
    assert tuple(map(str, row)) == (
        "C1",
        "Zoë Müller",
        "zoe@example.com",
        "+14155550123",
        "1980-05-06",
    )


def test_first_and_last_name_columns_make_the_name(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("c.csv", "Customer ID,First Name,Last Name\n1,Zoë,Müller\n2,Cher,\n")
    assert run(engine, settings, ImportKind.CLIENTS, path).ok
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, first_name, last_name FROM clients ORDER BY external_id"
        ).all()
    assert [tuple(r) for r in rows] == [("Zoë Müller", "Zoë", "Müller"), ("Cher", "Cher", None)]


def test_activity_and_touch_headers_have_their_aliases_too(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    assert run(engine, settings, ImportKind.CLIENTS, write_csv("c.csv", "id,name\nP1,Al\n")).ok
    visits = (
        "Patient ID,Visit Date,Invoice Number,Total,Qty,Service,Memo\n"
        "P1,2024-01-02,I-1,$80,1,Cleaning,ok\n"
    )
    report = run(engine, settings, ImportKind.ACTIVITIES, write_csv("v.csv", visits))
    assert report.ok and report.ignored_columns == (), report
    calls = (
        "Customer,Contact Date,Method,Contacted By,Summary,Result\n"
        "P1,2024-01-03,Phone call,Dana,hi,reached\n"
    )
    report = run(engine, settings, ImportKind.TOUCHES, write_csv("t.csv", calls))
    assert report.ok and report.ignored_columns == (), report
    with engine.connect() as conn:
        visit = conn.exec_driver_sql(
            "SELECT external_id, amount_cents, quantity, kind, note FROM activities"
        ).one()
        touch = conn.exec_driver_sql("SELECT channel, note, outcome, personal FROM touches").one()
    assert tuple(visit) == ("I-1", 8000, 1.0, "Cleaning", "ok")
    assert tuple(touch) == ("call", "hi", "reached", True)


def test_columns_keepwarm_does_not_use_are_named_in_the_report(
    cli, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("c.csv", "id,name,Favourite Colour,Shoe size\n1,Al,blue,44\n")
    result = cli("import", "clients", str(path))
    assert result.exit_code == 0, result.output
    assert "Columns not used: 'Favourite Colour', 'Shoe size'" in result.output


def test_a_header_line_ends_only_at_a_line_break(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    # A form feed or U+2028 inside the header is not the end of the line.
    path = write_csv("c.csv", "id,name\x0c,notes\u2028x\n1,Al,hello\n")
    report = run(engine, settings, ImportKind.CLIENTS, path)
    assert report.ok, report.problems
    assert names(engine) == ["Al"]


def test_one_imports_field_limit_does_not_carry_over_to_the_next(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    long_name = write_csv("a.csv", "id,name\n1," + "x" * 60 + "\n")
    small = settings.replace(import_max_field=50)
    assert not run(engine, small, ImportKind.CLIENTS, long_name).ok
    wide_header = "Customer ID," + "Full Name" + " " * 60 + "\n1,Al\n"
    report = run(engine, settings, ImportKind.CLIENTS, write_csv("b.csv", wide_header))
    assert report.ok, report.problems
    assert names(engine) == ["Al"]


def _visit_dates(engine: sa.Engine) -> list[dt.date]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT date FROM activities ORDER BY id").scalars().all()
    return [d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in rows]


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("--dayfirst", dt.date(2024, 4, 3)), ("--monthfirst", dt.date(2024, 3, 4))],
)
def test_the_date_order_flags_decide_ambiguous_dates(
    cli, engine: sa.Engine, write_csv: Callable[..., Path], flag: str, expected: dt.date
) -> None:
    assert cli("import", "clients", str(write_csv("c.csv", "id,name\n1,Al\n"))).exit_code == 0
    path = write_csv("v.csv", "client_id,date\n1,03/04/2024\n1,2024-01-01\n")
    result = cli("import", "activities", str(path), flag)
    assert result.exit_code == 0, result.output
    assert _visit_dates(engine) == [expected, dt.date(2024, 1, 1)]


def test_choosing_both_date_orders_is_refused(cli, write_csv: Callable[..., Path]) -> None:
    path = write_csv("v.csv", "client_id,date\n1,03/04/2024\n")
    result = cli("import", "activities", str(path), "--dayfirst", "--monthfirst")
    assert result.exit_code == 1
    assert "choose one of --dayfirst and --monthfirst" in result.stderr


@pytest.mark.parametrize(
    ("rows", "order", "expected"),
    [
        ("1,03/04/2024\n1,25/12/2023\n", "day/month/year", [(2024, 4, 3), (2023, 12, 25)]),
        ("1,03/04/2024\n1,12/25/2023\n", "month/day/year", [(2024, 3, 4), (2023, 12, 25)]),
    ],
)
def test_a_day_above_12_anywhere_in_the_file_proves_the_order(
    cli,
    engine: sa.Engine,
    write_csv: Callable[..., Path],
    rows: str,
    order: str,
    expected: list[tuple[int, int, int]],
) -> None:
    assert cli("import", "clients", str(write_csv("c.csv", "id,name\n1,Al\n"))).exit_code == 0
    result = cli("import", "activities", str(write_csv("v.csv", "client_id,date\n" + rows)))
    assert result.exit_code == 0, result.output
    assert f"Note: dates read as {order}" in result.output
    assert _visit_dates(engine) == [dt.date(*d) for d in expected]


def test_an_order_given_in_the_options_is_used_without_guessing(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    run(engine, settings, ImportKind.CLIENTS, write_csv("c.csv", "id,name\n1,Al\n"))
    path = write_csv("v.csv", "client_id,date\n1,01/02/2024\n")
    report = run(engine, settings, ImportKind.ACTIVITIES, path, date_order=DateOrder.DAY_FIRST)
    assert report.ok and report.notes == ()
    assert _visit_dates(engine) == [dt.date(2024, 2, 1)]


def test_amounts_are_stored_as_exact_cents_whatever_their_format(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    run(engine, settings, ImportKind.CLIENTS, write_csv("c.csv", "id,name\n1,Al\n"))
    amounts = ["$1,234.50", "1.234,50", "(12.00)", "-0.01", "0", "€ 19,99", "1 000,10", ""]
    text = "client_id,date,id,amount\n" + "".join(
        f'1,2024-01-0{i + 1},A{i},"{a}"\n' for i, a in enumerate(amounts)
    )
    report = run(engine, settings, ImportKind.ACTIVITIES, write_csv("v.csv", text))
    assert report.ok, report.problems
    with engine.connect() as conn:
        cents = conn.exec_driver_sql("SELECT amount_cents FROM activities ORDER BY date").all()
    assert [c[0] for c in cents] == [123450, 123450, -1200, -1, 0, 1999, 100010, None]


@pytest.mark.parametrize(
    ("region", "phone", "stored"),
    [
        (None, "(415) 555-0123", "+14155550123"),
        ("GB", "020 7946 0958", "+442079460958"),
        ("de", "030 123456", "+4930123456"),
        ("GB", "+1 415 555 0123", "+14155550123"),
    ],
)
def test_phone_numbers_are_stored_in_e164_read_in_the_region_given(
    cli,
    engine: sa.Engine,
    write_csv: Callable[..., Path],
    region: str | None,
    phone: str,
    stored: str,
) -> None:
    path = write_csv("c.csv", f"id,name,phone\n1,Al,{phone}\n")
    result = cli("import", "clients", str(path), *(("--region", region) if region else ()))
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT phone FROM clients").scalar() == stored


def test_a_uk_number_without_prefix_is_not_a_us_number(cli, write_csv: Callable[..., Path]) -> None:
    path = write_csv("c.csv", "id,name,phone\n1,Al,020 7946 0958\n")
    result = cli("import", "clients", str(path))
    assert result.exit_code == 0  # kept as written and flagged, never read as a US number
    assert "1 phone kept as written" in result.output
    card = cli("client", "1").output
    assert "phone as written: 020 7946 0958 — too long for a phone number" in card
    assert cli("import", "clients", str(path), "--region", "GB").exit_code == 0
    assert "+442079460958" in cli("client", "1").output
    assert "as written" not in cli("client", "1").output


def test_emails_are_stored_normalised(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("c.csv", "id,name,email\n1,Al, Al.Smith@Example.COM \n")
    assert run(engine, settings, ImportKind.CLIENTS, path).ok
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT email FROM clients").scalar() == "Al.Smith@example.com"
