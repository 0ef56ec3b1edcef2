"""`keepwarm export`: files a spreadsheet opens safely, written whole or not at all."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.exporting import HEADERS, export_csv
from keepwarm.services.importing import import_file
from keepwarm.store import queries


def load(engine: sa.Engine, settings: Settings, kind: ImportKind, path: Path) -> None:
    report = import_file(engine, settings, kind, path, today=TODAY, now=NOW)
    assert report.ok, report.problems


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_an_export_is_utf8_with_a_bom_and_a_header_keepwarm_reads_back(
    cli, engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    load(engine, settings, ImportKind.CLIENTS, write_csv("c.csv", "id,name\n1,Zoë 🦷\n2,Bo\n"))
    out = tmp_path / "out.csv"
    result = cli("export", "clients", str(out))
    assert result.exit_code == 0, result.output
    assert f"Wrote 2 clients to {out}." in " ".join(result.output.split())
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf" + ",".join(HEADERS[ImportKind.CLIENTS]).encode())
    assert [r["name"] for r in read(out)] == ["Zoë 🦷", "Bo"]


def test_an_empty_database_exports_a_header_that_imports_as_nothing(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    for kind in ImportKind:
        path = tmp_path / f"{kind.value}.csv"
        assert export_csv(engine, kind, path) == 0
        report = import_file(engine, settings, kind, path, today=TODAY, now=NOW)
        assert report.ok and report.rows == 0, report.problems


def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    text = 'id,name,notes,owner\n=1,"=cmd|\' /C calc\'!A0",@SUM(A1),+Bo\n-2,-Al,"-x, y",\n'
    load(engine, settings, ImportKind.CLIENTS, write_csv("c.csv", text))
    visits = "client_id,date,amount,quantity,kind,note\n=1,2024-01-02,-12.5,-1,=k,+n\n"
    load(engine, settings, ImportKind.ACTIVITIES, write_csv("v.csv", visits))
    clients_out, visits_out = tmp_path / "c-out.csv", tmp_path / "v-out.csv"
    export_csv(engine, ImportKind.CLIENTS, clients_out)
    export_csv(engine, ImportKind.ACTIVITIES, visits_out)
    rows = sorted(read(clients_out), key=lambda r: r["id"])  # whatever the collation
    assert [(r["id"], r["name"], r["notes"], r["owner"]) for r in rows] == [
        ("'-2", "'-Al", "'-x, y", ""),
        ("'=1", "'=cmd|' /C calc'!A0", "'@SUM(A1)", "'+Bo"),
    ]
    (visit,) = read(visits_out)
    # Numbers stay numbers; text is neutralised.
    assert (visit["client_id"], visit["amount"], visit["quantity"], visit["kind"]) == (
        "'=1",
        "-12.50",
        "-1",
        "'=k",
    )
    assert visit["note"] == "'+n"


def test_amounts_and_quantities_are_written_exactly(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    load(engine, settings, ImportKind.CLIENTS, write_csv("c.csv", "id,name\n1,Al\n"))
    text = (
        "client_id,date,id,amount,quantity\n1,2024-01-01,a,0,3\n1,2024-01-02,b,-0.05,0.25\n"
        '1,2024-01-03,c,"1.234.567,89",\n1,2024-01-04,d,,1e-05\n'
    )
    load(engine, settings, ImportKind.ACTIVITIES, write_csv("v.csv", text))
    out = tmp_path / "v-out.csv"
    export_csv(engine, ImportKind.ACTIVITIES, out)
    assert [(r["amount"], r["quantity"]) for r in read(out)] == [
        ("0.00", "3"),
        ("-0.05", "0.25"),
        ("1234567.89", ""),
        ("", "1e-05"),
    ]


def test_an_interrupted_export_leaves_the_previous_file_untouched(
    engine: sa.Engine,
    settings: Settings,
    write_csv: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load(engine, settings, ImportKind.CLIENTS, write_csv("c.csv", "id,name\n1,Al\n2,Bo\n"))
    out = tmp_path / "backup.csv"
    out.write_text("yesterday's backup\n")
    real = queries.iter_clients

    def failing(conn):  # type: ignore[no-untyped-def]
        iterator = real(conn)
        yield next(iterator)
        raise OSError("disk full")

    monkeypatch.setattr(queries, "iter_clients", failing)
    with pytest.raises(OSError, match="disk full"):
        export_csv(engine, ImportKind.CLIENTS, out)
    assert out.read_text() == "yesterday's backup\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_export_replaces_an_older_file_and_leaves_no_temporary_file(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    load(engine, settings, ImportKind.CLIENTS, write_csv("c.csv", "id,name\n1,Al\n"))
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "clients.csv"
    out.write_text("old\n")
    assert export_csv(engine, ImportKind.CLIENTS, out) == 1
    assert [r["id"] for r in read(out)] == ["1"]
    assert [p.name for p in folder.iterdir()] == ["clients.csv"]
