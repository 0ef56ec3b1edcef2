"""Writing the store back out as CSV that re-imports to the same data.

Files are written to a temporary name and moved into place, so an interrupted export never
leaves a half-written file; text cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.fields import CLIENT_FIELDS, DATE_KINDS, ClientField, FieldKind
from keepwarm.domain.model import Activity, Client, ImportKind, Touch
from keepwarm.ingest.values import format_amount, neutralise
from keepwarm.store import queries as q
from keepwarm.store import reading
from keepwarm.store.contact_flags import standing_as_written

# The register's exported fields (keepwarm.domain.fields), in its order.
_CLIENT_COLUMNS = tuple(f for f in CLIENT_FIELDS if f.exported)
HEADERS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.CLIENTS: tuple(f.name for f in _CLIENT_COLUMNS),
    ImportKind.ACTIVITIES: ("client_id", "date", "id", "amount", "quantity", "kind", "note"),
    ImportKind.TOUCHES: ("client_id", "date", "channel", "staff", "note", "outcome"),
}


def _text(value: str | None) -> str:
    return neutralise(value) if value else ""


def _date(value: object) -> str:
    return value.isoformat() if value is not None else ""  # type: ignore[attr-defined]


def _quantity(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value.is_integer() else repr(value)


def _writer(f: ClientField) -> Callable[[Any], str]:
    """How a field is written so that the import reads it back to the same value."""
    if f.kind in DATE_KINDS:
        return _date
    if f.kind is FieldKind.TAGS:
        return lambda tags: _text(";".join(tags))
    if f.kind is FieldKind.STATUS:
        return lambda status: str(status.value)
    if f.kind is FieldKind.FLAG:
        return lambda flag: "yes" if flag else "no"
    return _text


_CLIENT_WRITERS = tuple((f.name, _writer(f)) for f in _CLIENT_COLUMNS)


def _client_row(c: Client, kept: dict[str, str] | None = None) -> list[str]:
    """A client's line; a phone or email kept as written (`kept`: field -> value) is written
    in its empty column, so re-importing the export keeps it as written, flagged, again."""
    row = [write(getattr(c, name)) for name, write in _CLIENT_WRITERS]
    if kept:
        for i, (name, _) in enumerate(_CLIENT_WRITERS):
            if name in kept and not row[i]:
                row[i] = _text(kept[name])
    return row


def _activity_row(a: Activity) -> list[str]:
    amount = format_amount(a.amount_cents) if a.amount_cents is not None else ""
    return [
        _text(a.client_id),
        _date(a.date),
        _text(a.id),
        amount,
        _quantity(a.quantity),
        _text(a.kind),
        _text(a.note),
    ]


def _touch_row(t: Touch) -> list[str]:
    return [
        _text(t.client_id),
        _date(t.date),
        t.channel,
        _text(t.staff),
        _text(t.note),
        _text(t.outcome),
    ]


def export_csv(engine: Engine, kind: ImportKind, path: Path) -> int:
    """Write every record of `kind` to `path` (UTF-8 with BOM, so spreadsheets open it right);
    returns the number of rows written. A folder that does not exist or cannot be written is
    InvalidInput naming it, and nothing is written."""
    rows: Callable[..., Iterable[list[str]]]
    if kind is ImportKind.CLIENTS:

        def rows(conn: Connection) -> Iterable[list[str]]:
            kept = standing_as_written(conn)
            return (_client_row(c, kept.get(c.id)) for c in q.iter_clients(conn))

    elif kind is ImportKind.ACTIVITIES:
        rows = lambda conn: map(_activity_row, q.iter_activities(conn))  # noqa: E731
    else:
        rows = lambda conn: map(_touch_row, q.iter_touches(conn))  # noqa: E731
    folder = path.resolve().parent
    if not folder.is_dir():
        raise InvalidInput(f"there is no folder {folder}: create it first, or write elsewhere")
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder: name the file to write, e.g. {path / 'x.csv'}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InvalidInput(f"cannot write in the folder {folder}: {exc.strerror}") from None
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh, reading(engine) as conn:
            writer = csv.writer(fh)
            writer.writerow(HEADERS[kind])
            for row in rows(conn):
                writer.writerow(row)
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


PARQUET_NEEDS = 'Parquet needs pyarrow: pip install "keepwarm[spark]"'


def export_parquet_activities(engine: Engine, folder: Path, rows_per_file: int = 1_000_000) -> int:
    """Write every activity to `folder` as Parquet files (`part-00000.parquet`, ...): the
    columns of the CSV export, typed (`date` a date, `amount_cents` whole cents), which the
    Spark engine and other tools read. The files are written in a temporary folder beside it
    and moved into place at the end, so an interrupted export leaves nothing. `folder` must
    not exist yet (or be empty). Returns the number of rows."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - the test extra installs it
        raise InvalidInput(PARQUET_NEEDS) from None
    from keepwarm.store.rhythms import activity_batches

    target = folder.resolve()
    if not target.parent.is_dir():
        raise InvalidInput(
            f"there is no folder {target.parent}: create it first, or write elsewhere"
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(f"{folder} already exists: name a new folder for the Parquet files")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise InvalidInput(f"cannot write in the folder {target.parent}: {exc.strerror}") from None
    schema = pa.schema(
        [
            ("client_id", pa.string()),
            ("date", pa.date32()),
            ("id", pa.string()),
            ("amount_cents", pa.int64()),
            ("quantity", pa.float64()),
            ("kind", pa.string()),
            ("note", pa.string()),
        ]
    )
    count = 0
    try:
        with reading(engine) as conn:
            writer = None
            part = 0
            in_file = 0
            for batch in activity_batches(conn):
                columns = list(zip(*batch, strict=True))
                dates = pa.array([str(d) for d in columns[1]], pa.string()).cast(pa.date32())
                table = pa.Table.from_arrays(
                    [
                        pa.array(columns[0], pa.string()),
                        dates,
                        pa.array(columns[2], pa.string()),
                        pa.array(columns[3], pa.int64()),
                        pa.array(columns[4], pa.float64()),
                        pa.array(columns[5], pa.string()),
                        pa.array(columns[6], pa.string()),
                    ],
                    schema=schema,
                )
                if writer is None:
                    writer = pq.ParquetWriter(tmp / f"part-{part:05d}.parquet", schema)
                writer.write_table(table)
                count += table.num_rows
                in_file += table.num_rows
                if in_file >= rows_per_file:
                    writer.close()
                    writer, part, in_file = None, part + 1, 0
            if writer is not None:
                writer.close()
            elif count == 0:
                pq.write_table(schema.empty_table(), tmp / "part-00000.parquet")
        for written in tmp.iterdir():
            with open(written, "rb") as fh:
                os.fsync(fh.fileno())
        if target.exists():
            target.rmdir()
        os.replace(tmp, target)
    except BaseException:
        for written in tmp.glob("*"):
            written.unlink(missing_ok=True)
        tmp.rmdir()
        raise
    return count
