"""Importing a CSV export: all or nothing, idempotent, streamed.

Rows are parsed and checked one by one and staged in a temporary table; set-based SQL then
checks them against the store (unknown clients, repeated ids) and merges them. Any problem, or
a dry run, rolls the one transaction back, so a bad file changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine

from keepwarm.config import Settings
from keepwarm.domain.fields import CLIENT_FIELDS, FieldKind
from keepwarm.domain.model import (
    ImportKind,
    ImportProblem,
    ImportReport,
    ProblemCode,
    ProblemLog,
    User,
)
from keepwarm.ingest.columns import ColumnMap, match_columns, wrong_kind_problem
from keepwarm.ingest.records import (
    AS_WRITTEN,
    ParseOptions,
    Record,
    RowParser,
    detect_date_order,
)
from keepwarm.ingest.source import CsvSource, Limits, UnreadableFile, open_csv, regular_file
from keepwarm.ingest.values import DateOrder, DateOrderNeeded, is_phone_region
from keepwarm.logs import printable
from keepwarm.services import audit, rhythms
from keepwarm.store import consent_import, require_current, writing
from keepwarm.store import contact_flags as flags
from keepwarm.store import erasure as erasure_store
from keepwarm.store import households as household_store
from keepwarm.store import merging as m
from keepwarm.store.actions import close_touched_actions
from keepwarm.store.client_merge import resolve_aliases
from keepwarm.store.staging import (
    STAGE_ACTIVITIES,
    STAGE_CLIENTS,
    STAGE_TOUCHES,
    create_stage,
    drop_exact_repeats,
    drop_stage,
    stage_rows,
    wants_dates_as_text,
)
from keepwarm.store.statistics import analyse_if_changed

BATCH = 5_000
_STAGES = {
    ImportKind.CLIENTS: STAGE_CLIENTS,
    ImportKind.ACTIVITIES: STAGE_ACTIVITIES,
    ImportKind.TOUCHES: STAGE_TOUCHES,
}
Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportOptions:
    encoding: str | None = None
    date_order: DateOrder | None = None
    allow_future: bool = False
    create_missing: bool = False
    dry_run: bool = False
    max_problems: int = 50
    # A staff user importing: touches may name only this member ("" for a user who is not a
    # member of staff), and a touch without one is theirs; None for the owner (no limit).
    as_staff: str | None = None
    actor: str = "command line"  # who imports, for the audit log (a user's email)


class _Abandon(Exception):
    """Roll the transaction back and report instead (problems found, or a dry run)."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report


def importing_as(user: User) -> str | None:
    """`ImportOptions.as_staff` for a signed-in user: None for the owner (any member may be
    named), else the member of staff they are ("" when they are none): the same rule as
    recording a touch directly."""
    return None if user.is_owner else (user.staff or "")


def _limits(settings: Settings) -> Limits:
    return Limits(settings.import_max_bytes, settings.import_max_rows, settings.import_max_field)


def _shown(path: Path | BinaryIO, filename: str | None) -> str:
    return filename or (str(path) if isinstance(path, Path) else "standard input")


def _unreadable(kind: ImportKind, shown: str, dry_run: bool, exc: UnreadableFile) -> ImportReport:
    return ImportReport(
        kind=kind,
        filename=shown,
        dry_run=dry_run,
        encoding="",
        delimiter="",
        rows=0,
        problems=tuple(exc.problems),
        problem_count=len(exc.problems),
    )


def _log_import(report: ImportReport, started: float) -> None:
    """One line per import: file, kind, rows, outcome (with the problem count) and duration."""
    seconds = round(time.perf_counter() - started, 3)
    if not report.ok:
        outcome = f"refused: {report.problem_count} problem(s)"
    elif report.dry_run:
        outcome = "checked (dry run, nothing written)"
    else:
        outcome = f"imported: {report.added} added, {report.updated} updated"
    log.info(
        "import of %s %s: %d rows, %s, in %.2f s",
        report.kind.value,
        printable(report.filename),
        report.rows,
        outcome,
        seconds,
        extra={
            "kind": report.kind.value,
            "file": printable(report.filename),
            "rows": report.rows,
            "outcome": "refused" if not report.ok else "dry run" if report.dry_run else "imported",
            "problems": report.problem_count,
            "added": report.added,
            "updated": report.updated,
            "seconds": seconds,
        },
    )


def import_file(
    engine: Engine,
    settings: Settings,
    kind: ImportKind,
    path: Path | BinaryIO,
    *,
    today: dt.date,
    now: dt.datetime,
    options: ImportOptions | None = None,
    on_progress: Progress | None = None,
    filename: str | None = None,
) -> ImportReport:
    """Import one file of `kind`. The report's `problems` are empty when it was applied.

    `path` may be a pipe, a FIFO or /dev/stdin, or an open binary stream (standard input):
    such a source is read once into a temporary file first (`regular_file`)."""
    options = options or ImportOptions()
    shown = _shown(path, filename)
    started = time.perf_counter()
    log.debug("import of %s %s started", kind.value, printable(shown))
    mark = rhythms.activity_mark(engine)
    try:
        with regular_file(path, settings.import_max_bytes) as readable:
            report = _import_file(
                engine, settings, kind, readable, today, now, options, on_progress, shown
            )
    except UnreadableFile as exc:
        report = _unreadable(kind, shown, options.dry_run, exc)
    _log_import(report, started)
    if report.ok and report.changed and not options.dry_run:
        # a large import: PostgreSQL plans the next queries knowing what it holds now
        analyse_if_changed(engine, kind.value, report.added + report.updated)
    if report.ok and report.changed and not options.dry_run and kind is not ImportKind.TOUCHES:
        # new clients and new activities: their rhythm today, not after the next daily run
        rhythms.learn_new_clients(engine, after_activity=mark, as_of=today)
    return report


def _import_file(
    engine: Engine,
    settings: Settings,
    kind: ImportKind,
    path: Path,
    today: dt.date,
    now: dt.datetime,
    options: ImportOptions,
    on_progress: Progress | None,
    shown: str,
) -> ImportReport:
    limits = _limits(settings)
    base: dict[str, Any] = {"kind": kind, "filename": shown, "dry_run": options.dry_run}
    try:
        source = open_csv(path, encoding=options.encoding, limits=limits)
    except UnreadableFile as exc:
        return ImportReport(
            **base,
            encoding="",
            delimiter="",
            rows=0,
            problems=tuple(exc.problems),
            problem_count=len(exc.problems),
        )
    columns, header_problems = match_columns(kind, source.header)
    if kind is ImportKind.CLIENTS:  # email_consent, sms_consent...: read apart (consent_import)
        consent = {w for _, w in consent_import.consent_columns(source.header).values()}
        columns = dataclasses.replace(
            columns, ignored=tuple(c for c in columns.ignored if c not in consent)
        )
    if "phone" in columns.fields and not is_phone_region(settings.region):
        # Otherwise every phone number would be refused, row by row, for no visible reason.
        header_problems.append(
            ImportProblem(
                None,
                columns.header("phone"),
                f"cannot read phone numbers in region {settings.region!r}: name the country "
                "with --region or KEEPWARM_REGION as two letters (US, GB, DE...)",
                ProblemCode.PHONE_REGION,
            )
        )
    base |= {
        "encoding": source.encoding,
        "delimiter": source.delimiter,
        "columns": {field: written for field, (_, written) in columns.fields.items()},
        "ignored_columns": columns.ignored,
    }
    sure = wrong_kind_problem(kind, source.header, only_if_sure=True)
    if sure is not None and not header_problems:
        header_problems = [sure]  # read as `kind`, the file would lose what it is about
    elif header_problems:
        header_problems = _with_kind_hint(kind, source.header, header_problems)
    if header_problems:
        return ImportReport(
            **base, rows=0, problems=tuple(header_problems), problem_count=len(header_problems)
        )
    date_order = options.date_order
    notes: list[str] = []
    require_current(engine)
    while True:
        parse = ParseOptions(
            today, settings.region, date_order, options.allow_future, keep_as_written=True
        )
        try:
            return _run(
                engine, source, kind, columns, parse, options, now, base, notes, on_progress
            )
        except DateOrderNeeded:
            problems = ProblemLog(options.max_problems)
            date_order, order_problems = detect_date_order(source.rows(problems), columns)
            if date_order is None:
                return ImportReport(
                    **base,
                    rows=0,
                    problems=tuple(order_problems),
                    problem_count=len(order_problems),
                )
            notes.append(
                "dates read as "
                + ("day/month/year" if date_order is DateOrder.DAY_FIRST else "month/day/year")
                + " (the file has dates only that order fits)"
            )


@dataclass(frozen=True)
class ImportPreview:
    """What a file holds and what importing it would do, with nothing written: the dry run's
    report, how each column is read, and the first rows as the CSV reader splits them."""

    report: ImportReport
    header: tuple[str, ...]
    mapping: tuple[tuple[str, str | None], ...]  # (column as written, field it fills or None)
    sample: tuple[tuple[int, tuple[str, ...]], ...]  # (line number, fields)
    size: int

    @property
    def needs_date_order(self) -> bool:
        """The file's numeric dates fit both day/month and month/day: the user must choose."""
        return any(p.code is ProblemCode.DATE_ORDER_UNKNOWN for p in self.report.problems)


def preview_file(
    engine: Engine,
    settings: Settings,
    kind: ImportKind,
    path: Path | BinaryIO,
    *,
    today: dt.date,
    now: dt.datetime,
    options: ImportOptions | None = None,
    on_progress: Progress | None = None,
    filename: str | None = None,
    sample_rows: int = 10,
) -> ImportPreview:
    """A dry run of `import_file` (rolled back: nothing changes) plus the file's header, how
    each column maps to a field and its first `sample_rows` rows."""
    options = dataclasses.replace(options or ImportOptions(), dry_run=True)
    shown = _shown(path, filename)
    try:
        with regular_file(path, settings.import_max_bytes) as readable:
            return _preview_file(
                engine,
                settings,
                kind,
                readable,
                today,
                now,
                options,
                on_progress,
                shown,
                sample_rows,
            )
    except UnreadableFile as exc:
        return ImportPreview(_unreadable(kind, shown, True, exc), (), (), (), 0)


def _preview_file(
    engine: Engine,
    settings: Settings,
    kind: ImportKind,
    path: Path,
    today: dt.date,
    now: dt.datetime,
    options: ImportOptions,
    on_progress: Progress | None,
    filename: str,
    sample_rows: int,
) -> ImportPreview:
    limits = _limits(settings)
    header: tuple[str, ...] = ()
    mapping: tuple[tuple[str, str | None], ...] = ()
    sample: list[tuple[int, tuple[str, ...]]] = []
    size = 0
    try:
        source = open_csv(path, encoding=options.encoding, limits=limits)
    except UnreadableFile:
        source = None
    if source is not None:
        header, size = source.header, source.size
        columns, _ = match_columns(kind, source.header)
        field_of = {index: field for field, (index, _) in columns.fields.items()}
        mapping = tuple((written, field_of.get(i)) for i, written in enumerate(header))
        for line, row in source.rows(ProblemLog(0)):
            sample.append((line, tuple(row)))
            if len(sample) >= sample_rows:
                break
    report = import_file(
        engine,
        settings,
        kind,
        path,
        today=today,
        now=now,
        options=options,
        on_progress=on_progress,
        filename=filename,
    )
    return ImportPreview(report, header, mapping, tuple(sample), size)


def _run(
    engine: Engine,
    source: CsvSource,
    kind: ImportKind,
    columns: ColumnMap,
    parse: ParseOptions,
    options: ImportOptions,
    now: dt.datetime,
    base: dict[str, Any],
    notes: list[str],
    on_progress: Progress | None,
) -> ImportReport:
    stage = _STAGES[kind]
    problems = ProblemLog(options.max_problems)
    try:
        with writing(engine) as conn:
            parse = dataclasses.replace(parse, dates_as_text=wants_dates_as_text(conn))
            parser = RowParser(kind, columns, parse)
            create_stage(conn, stage)
            consent_columns: dict[str, tuple[int, str]] = {}
            if kind is ImportKind.CLIENTS:
                consent_columns = consent_import.consent_columns(source.header)
                consent_import.create_stage(conn)
            consents: list[dict[str, Any]] = []
            rows = rejected = field_problems = 0
            batch: list[Record] = []
            for line, row in source.rows(problems, on_progress):
                rows += 1
                before = problems.count
                record = parser.parse(line, row, problems)
                if record is None:
                    rejected += 1
                    field_problems += problems.count - before
                    continue
                batch.append(record)
                if consent_columns:
                    staged, bad = consent_import.read_row(line, row, consent_columns)
                    consents.extend(staged)
                    problems.extend(bad, len(bad))
                    rejected += 1 if bad else 0
                    if len(consents) >= BATCH:
                        consent_import.stage(conn, consents)
                        consents.clear()
                if len(batch) >= BATCH:
                    stage_rows(conn, stage, batch)
                    batch.clear()
            stage_rows(conn, stage, batch)
            # Rows the CSV reader could not split (ragged, bad quoting) are rejected rows too.
            structural = problems.count - field_problems
            rows += structural
            rejected += structural
            repeats = drop_exact_repeats(conn) if kind is ImportKind.ACTIVITIES else 0
            # A merged client's business id (an alias) names the client it was merged into.
            resolve_aliases(conn, stage, "id" if kind is ImportKind.CLIENTS else "client_ext")
            # Rows of erased clients are skipped and named, never brought back.
            client_column = "id" if kind is ImportKind.CLIENTS else "client_ext"
            skipped, erased = erasure_store.skip_erased(conn, stage, client_column)
            if erased:
                notes.append(_not_restored(kind, erased))
            notes.extend(skipped)
            rejected += _check_against_store(conn, kind, columns, options, problems)
            report = {**base, "rows": rows, "notes": tuple(notes)}
            if problems.count:
                hint = wrong_kind_problem(kind, source.header)
                if hint is not None:
                    problems.items.insert(0, hint)
                    problems.count += 1
                raise _Abandon(
                    ImportReport(
                        **report,
                        rejected=rejected,
                        problems=problems.sorted(),
                        problem_count=problems.count,
                        exact_repeats=repeats,
                        erased=erased,
                    )
                )
            kept = {}
            if kind is ImportKind.CLIENTS:
                kept = flags.staged_counts(conn, [f for f in AS_WRITTEN if f in columns.fields])
            result = _merge(conn, kind, columns, options, now)
            if consent_columns:  # only where the file differs from the client's current state
                consent_import.stage(conn, consents)
                consent_import.apply(conn, stage, actor="import", now=now)
                consent_import.drop_stage(conn)
            # A row skipped (a repeat, an erased client's) is not a row already here.
            unchanged = rows - result.added - result.updated - repeats - erased
            m.record_import(
                conn,
                kind=kind.value,
                filename=base["filename"],
                sha256=source.sha256,
                rows=rows,
                added=result.added,
                updated=result.updated,
                unchanged=unchanged,
                now=now,
            )
            audit.record(  # one entry per import, in its transaction (none for a dry run)
                conn,
                actor=options.actor,
                action="import",
                now=now,
                subject=base["filename"],
                details={
                    "kind": kind.value,
                    "rows": rows,
                    "added": result.added,
                    "updated": result.updated,
                    "unchanged": unchanged,
                },
            )
            drop_stage(conn, stage)
            final = ImportReport(
                **report,
                added=result.added,
                updated=result.updated,
                unchanged=unchanged,
                new_clients=result.new_clients,
                new_staff=result.new_staff,
                exact_repeats=repeats,
                erased=erased,
                phones_as_written=kept.get("phone", 0),
                emails_as_written=kept.get("email", 0),
            )
            if options.dry_run:
                raise _Abandon(final)
            return final
    except _Abandon as abandoned:
        return abandoned.report


def _not_restored(kind: ImportKind, erased: int) -> str:
    """The count of an import's rows of erased clients, skipped (each is named after it)."""
    if kind is ImportKind.CLIENTS:
        return f"{erased:,} erased client{'' if erased == 1 else 's'} not restored"
    return f"{erased:,} row{'' if erased == 1 else 's'} of erased clients not restored"


def _check_against_store(
    conn: Connection,
    kind: ImportKind,
    columns: ColumnMap,
    options: ImportOptions,
    problems: ProblemLog,
) -> int:
    """Check the staged rows against each other and the store; returns how many rows have a
    problem (each check names a row at most once)."""
    stage = _STAGES[kind]
    found: list[tuple[list[ImportProblem], int]] = []
    if kind is ImportKind.CLIENTS:
        found.append(m.duplicate_id_problems(conn, stage, "id", columns.header("id")))
        found.append(m.nameless_new_client_problems(conn, columns.header("id")))
    else:
        if kind is ImportKind.ACTIVITIES:
            header = columns.header("id")
            found.append(m.duplicate_id_problems(conn, stage, "external_id", header))
        mine = options.as_staff
        if kind is ImportKind.TOUCHES and mine is not None and "staff" in columns.fields:
            found.append(m.foreign_staff_problems(conn, columns.header("staff"), mine))
        if not options.create_missing:
            found.append(m.unknown_client_problems(conn, stage, columns.header("client_id")))
    for items, total in found:
        problems.extend(items, total)
    return _rows_with_problems(found)


def _rows_with_problems(found: list[tuple[list[ImportProblem], int]]) -> int:
    """How many rows the checks found problems in. Exact when every check's list is complete
    (a row failing two checks counts once); past the lists' limit, a row is assumed to fail
    one check only."""
    if all(len(items) == total for items, total in found):
        return len({p.line for items, _ in found for p in items})
    return sum(total for _, total in found)


def _with_kind_hint(
    kind: ImportKind, header: tuple[str, ...], problems: list[ImportProblem]
) -> list[ImportProblem]:
    """`problems`, led by "this looks like an activities file" when the header reads better
    as another kind of file (the likeliest cause of all the rest)."""
    hint = wrong_kind_problem(kind, header)
    return [hint, *problems] if hint is not None else problems


def _merge(
    conn: Connection,
    kind: ImportKind,
    columns: ColumnMap,
    options: ImportOptions,
    now: dt.datetime,
) -> m.MergeResult:
    stage = _STAGES[kind]
    if kind is ImportKind.CLIENTS:
        new_staff = [
            name
            for f in CLIENT_FIELDS
            if f.kind is FieldKind.STAFF and f.name in columns.fields
            for name in m.create_missing_staff(conn, stage, f.name, now)
        ]
        for f in CLIENT_FIELDS:
            if f.kind is FieldKind.HOUSEHOLD and f.name in columns.fields:
                household_store.resolve_staged(conn, stage, f.name, now)
        result = m.merge_clients(conn, _client_fields_present(columns), now)
        flags.replace_flags(conn, [f for f in AS_WRITTEN if f in columns.fields], now)
        return m.MergeResult(result.added, result.updated, 0, tuple(new_staff))
    new_clients = m.create_missing_clients(conn, stage, now) if options.create_missing else 0
    if kind is ImportKind.ACTIVITIES:
        m.number_repeated_rows(conn, stage)
        result = m.merge_activities(conn)
        return m.MergeResult(result.added, result.updated, new_clients)
    if options.as_staff is not None:
        m.claim_unsigned_touches(conn, options.as_staff)
    new_staff = (
        m.create_missing_staff(conn, stage, "staff", now) if "staff" in columns.fields else []
    )
    m.number_repeated_rows(conn, stage)
    result = m.merge_touches(conn, now)
    close_touched_actions(conn, now)
    return m.MergeResult(result.added, 0, new_clients, tuple(new_staff))


def _client_fields_present(columns: ColumnMap) -> set[str]:
    """The client fields a file sets: its columns, and the name when it has a part of one."""
    present = {"id", *columns.fields}
    if present & {"first_name", "last_name"}:
        present.add("name")
    return present


__all__ = ["ImportOptions", "ImportPreview", "ImportProblem", "import_file", "preview_file"]
