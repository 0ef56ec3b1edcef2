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
