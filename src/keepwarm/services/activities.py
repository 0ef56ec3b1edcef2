"""Adding activities sent as data (the JSON API) through the import's one validation path.

The items are written to a temporary CSV file and imported like any export: every value is
checked by the same parser, the whole batch is staged and merged in one transaction (all or
nothing), and re-sending the same items adds nothing (the import's ids and fingerprints).
Problems are mapped back from the file's lines to the items' positions.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.importing import ImportOptions, import_file

FIELDS = ("client_id", "date", "id", "amount", "quantity", "kind", "note")
_LINE_END = re.compile(r"\r\n|\r|\n")  # what ends a line for the CSV reader


@dataclass(frozen=True)
class ItemProblem:
    """Why one item (its position in the list, from 0) cannot be added; `index` is None for
    a problem with the batch as a whole."""

    index: int | None
    field: str | None
    reason: str


@dataclass(frozen=True)
class BulkResult:
    items: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: tuple[ItemProblem, ...] = ()
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def add_activities(
    engine: Engine,
    settings: Settings,
    items: Sequence[Mapping[str, object]],
    *,
    today: dt.date,
    now: dt.datetime,
    dry_run: bool = False,
    actor: str = "api",
) -> BulkResult:
    """Add `items` (mappings of FIELDS) all or nothing. With problems nothing is written and
    the result names each bad item's index and field."""
    if not items:
        return BulkResult(0)
    with tempfile.TemporaryDirectory(prefix="keepwarm-api-") as folder:
        path = Path(folder) / "activities.csv"
        spans = _write(path, items)
        report = import_file(
            engine,
            settings,
            ImportKind.ACTIVITIES,
            path,
            today=today,
            now=now,
            options=ImportOptions(encoding="utf-8", dry_run=dry_run, actor=actor),
            filename="api",
        )
    problems = tuple(
        ItemProblem(_item_at(spans, p.line), p.field, p.reason) for p in report.problems
    )
    return BulkResult(
        len(items),
        report.added,
        report.updated,
        report.unchanged,
        problems,
        report.problem_count,
    )


def _write(path: Path, items: Sequence[Mapping[str, object]]) -> list[tuple[int, int]]:
    """Write the CSV; each item's first and last physical line (notes may hold newlines)."""
    spans: list[tuple[int, int]] = []
    line = 2  # the header is line 1
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerow(FIELDS)
        for item in items:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow([_cell(item.get(f)) for f in FIELDS])
            text = buffer.getvalue()
            lines = len(_LINE_END.findall(text)) or 1
            spans.append((line, line + lines - 1))
            line += lines
            out.write(text)
    return spans


def _item_at(spans: list[tuple[int, int]], line: int | None) -> int | None:
    if line is None or line < 2:
        return None
    for index, (first, last) in enumerate(spans):
        if first <= line <= last:
            return index
    return None
