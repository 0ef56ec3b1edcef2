"""Commands that move data in and out: import, export, demo."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from keepwarm.cli.common import (
    DbOption,
    console,
    engine_for,
    err_console,
    fail,
    now,
    today,
    user_errors,
)
from keepwarm.cli.privacy import export_client
from keepwarm.domain.model import ImportKind, ImportReport
from keepwarm.ingest.values import DateOrder
from keepwarm.services.exporting import export_csv, export_parquet_activities
from keepwarm.services.importing import ImportOptions, import_file

import_app = typer.Typer(
    help="Load your own exports (clients, activities, touches) from CSV files.\n\n"
    "Example: keepwarm import clients clients.csv --dry-run",
    no_args_is_help=True,
)
export_app = typer.Typer(
    help="Write clients, activities or touches to a CSV file that re-imports unchanged.\n\n"
    "Example: keepwarm export clients clients-backup.csv",
    no_args_is_help=True,
)
SHOWN_PROBLEMS = 50
PROGRESS_FROM_BYTES = 256 * 1024  # roughly a few thousand rows

FileArg = Annotated[
    Path,
    typer.Argument(
        help="The CSV file to import; - reads standard input (e.g. from a pipe).",
        show_default=False,
        dir_okay=False,
    ),
]
STDIN = "-"
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Check the file and report; change nothing.")
]
Encoding = Annotated[
    str | None,
    typer.Option(help="The file's encoding if not detected (utf-8, cp1252, latin-1, utf-16)."),
]
DayFirst = Annotated[
    bool, typer.Option("--dayfirst", help="Dates like 03/04/2024 are day/month/year.")
]
MonthFirst = Annotated[
    bool, typer.Option("--monthfirst", help="Dates like 03/04/2024 are month/day/year.")
]
Region = Annotated[
    str | None,
    typer.Option(help="Country for phone numbers without a + prefix (default KEEPWARM_REGION)."),
]
AllowFuture = Annotated[
    bool,
    typer.Option("--allow-future", help="Accept dates after today (e.g. booked appointments)."),
]
CreateMissing = Annotated[
    bool,
    typer.Option(
        "--create-missing",
        help="Create a bare client for each unknown client id instead of failing.",
    ),
]


def _run_import(
    kind: ImportKind,
    file: Path,
    db: str | None = None,
    dry_run: bool = False,
    encoding: str | None = None,
    dayfirst: bool = False,
    monthfirst: bool = False,
    region: str | None = None,
    allow_future: bool = False,
    create_missing: bool = False,
) -> None:
    if dayfirst and monthfirst:
        raise fail("choose one of --dayfirst and --monthfirst")
    order = DateOrder.DAY_FIRST if dayfirst else DateOrder.MONTH_FIRST if monthfirst else None
    options = ImportOptions(
        encoding=encoding,
        date_order=order,
        allow_future=allow_future,
        create_missing=create_missing,
        dry_run=dry_run,
        max_problems=SHOWN_PROBLEMS,
    )
    with user_errors(), engine_for(db) as (settings, engine):
        if region:
            settings = settings.replace(region=region.strip().upper())
        from_stdin = str(file) == STDIN
        size = file.stat().st_size if not from_stdin and file.is_file() else 0
        with Progress(
            TextColumn("Importing {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
            disable=size < PROGRESS_FROM_BYTES,
        ) as progress:
            task = progress.add_task("standard input" if from_stdin else file.name, total=size)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = import_file(
                engine,
                settings,
                kind,
                sys.stdin.buffer if from_stdin else file,
                today=today(),
                now=now(),
                options=options,
                on_progress=advance,
                filename="standard input" if from_stdin else str(file),
            )
    _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: ImportReport) -> None:
    for problem in report.problems:
        # One problem per line, never wrapped, so editors and grep can follow FILE:LINE.
        err_console.print(problem.format(report.filename), markup=False, soft_wrap=True)
    hidden = report.problem_count - len(report.problems)
    if hidden > 0:
        err_console.print(f"... and {hidden:,} more problems.")
    if report.ignored_columns:
        console.print(
            "Columns not used: " + ", ".join(repr(c) for c in report.ignored_columns),
            markup=False,
        )
    for note in report.notes:
        console.print(f"Note: {note}", markup=False)
    if not report.ok:
        rows = (
            f"; {report.rejected:,} of the {report.rows:,} rows read have problems"
            if report.rows
            else ""
        )
        err_console.print(
            f"[bold red]Nothing imported:[/] {report.problem_count:,} problem(s) in "
            f"{report.filename}{rows}. Fix them and import the file again.",
            markup=True,
        )
        return
    verb = "Would import" if report.dry_run else "Imported"
    summary = (
        f"{verb} {report.kind.value} from {report.filename} ({report.encoding}): "
        f"{report.rows:,} rows — {report.added:,} added, {report.updated:,} updated, "
        f"{report.unchanged:,} unchanged, {report.rejected:,} rejected."
    )
    console.print(summary, markup=False)
    kept = as_written_summary(report)
    if kept:
        console.print(f"{kept}, see `keepwarm clients --flagged`.", markup=False)
    if report.exact_repeats:
        console.print(
            f"{report.exact_repeats:,} exact repeats skipped (the same id and the same content "
            "as an earlier line: the same activity, counted once).",
            markup=False,
        )
    for name in report.new_staff:
        console.print(
            f"New staff member created: {name} (named in the file; if they should get no "
            f'lists: keepwarm staff deactivate "{name}")',
            markup=False,
        )
    if report.new_clients:
        console.print(f"New clients created for unknown ids: {report.new_clients:,}")
    if report.rows == 0:
        console.print(
            f"Nothing to import: {report.filename} has a header line but no rows.", markup=False
        )
    elif report.changed == 0 and not report.dry_run and report.erased:
        console.print("Nothing changed: the rest of the file was already here.")
    elif report.changed == 0 and not report.dry_run:
        console.print("Nothing changed: everything in the file was already here.")


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def as_written_summary(report: ImportReport) -> str:
    """The import's words for the values it kept as written: "3 phones and 1 email kept as
    written" ("" when none were)."""
    parts = [
        _count(n, word)
        for n, word in ((report.phones_as_written, "phone"), (report.emails_as_written, "email"))
        if n
    ]
    return " and ".join(parts) + " kept as written" if parts else ""


# Each import command's options: the ones every file has, then its own. The commands are made
# from this table, so an option is declared once and means the same for every kind of file.
_COMMON_OPTIONS: dict[str, tuple[object, object]] = {
    "file": (FileArg, inspect.Parameter.empty),
    "db": (DbOption, None),
    "dry_run": (DryRun, False),
    "encoding": (Encoding, None),
    "dayfirst": (DayFirst, False),
    "monthfirst": (MonthFirst, False),
}
_OWN_OPTIONS: dict[str, tuple[object, object]] = {
    "region": (Region, None),
    "allow_future": (AllowFuture, False),
    "create_missing": (CreateMissing, False),
}
IMPORT_COMMANDS: dict[ImportKind, tuple[tuple[str, ...], str]] = {
    ImportKind.CLIENTS: (
        ("region",),
        """Import or update clients: id, name (or first_name + last_name), email, phone, address,
    birthday, since, owner, tags, status, cancelled_on, next_due, do_not_contact, notes.

    Example: keepwarm import clients clients.csv --dry-run
    """,
    ),
    ImportKind.ACTIVITIES: (
        ("allow_future", "create_missing"),
        """Import visits, purchases or usage: client_id, date, and optionally id, amount,
    quantity, kind, note.

    Example: keepwarm import activities visits.csv --dayfirst
    """,
    ),
    ImportKind.TOUCHES: (
        ("allow_future", "create_missing"),
        """Import past personal contacts: client_id, date, channel, and optionally staff, note,
    outcome. A name in the staff column who is not a member of staff yet is added, and the
    report says so ("New staff member created: NAME").

    Example: keepwarm import touches calls.csv
    """,
    ),
}


def _import_command(kind: ImportKind, own: tuple[str, ...], doc: str) -> Callable[..., None]:
    """The `keepwarm import KIND` command: the common options plus the kind's own."""
    options = {**_COMMON_OPTIONS, **{name: _OWN_OPTIONS[name] for name in own}}

    def command(**chosen: Any) -> None:
        _run_import(kind, **chosen)

    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint
            )
            for name, (hint, default) in options.items()
        ]
    )
    command.__annotations__ = {name: hint for name, (hint, _) in options.items()}
    command.__doc__ = doc
    command.__name__ = f"import_{kind.value}"
    return command


for _kind, (_own, _doc) in IMPORT_COMMANDS.items():
    import_app.command(_kind.value)(_import_command(_kind, _own, _doc))


def _export(kind: ImportKind, file: Path, db: str | None) -> None:
    with user_errors(), engine_for(db) as (_, engine):
        count = export_csv(engine, kind, file)
    console.print(f"Wrote {count:,} {kind.value} to {file}.", markup=False)


OutArg = Annotated[Path, typer.Argument(help="The CSV file to write.", dir_okay=False)]


@export_app.command("clients")
def export_clients(file: OutArg, db: DbOption = None) -> None:
    """Write every client to a CSV file.

    Example: keepwarm export clients clients-backup.csv
    """
    _export(ImportKind.CLIENTS, file, db)


@export_app.command("activities")
def export_activities(
    file: Annotated[
        Path, typer.Argument(help="The CSV file to write (with --format parquet: a new folder).")
    ],
    output: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv, or parquet: a folder of Parquet files (the Spark engine's input).",
        ),
    ] = "csv",
    db: DbOption = None,
) -> None:
    """Write every activity to a CSV file, or to a folder of Parquet files.

    Example: keepwarm export activities activities-backup.csv
    """
    if output not in ("csv", "parquet"):
        raise typer.BadParameter("choose csv or parquet", param_hint="--format")
    if output == "csv":
        _export(ImportKind.ACTIVITIES, file, db)
        return
    with user_errors(), engine_for(db) as (_, engine):
        count = export_parquet_activities(engine, file)
    console.print(f"Wrote {count:,} activities to {file}/ as Parquet.", markup=False)


export_app.command("client")(export_client)


@export_app.command("touches")
def export_touches(file: OutArg, db: DbOption = None) -> None:
    """Write every touch to a CSV file.

    Example: keepwarm export touches touches-backup.csv
    """
    _export(ImportKind.TOUCHES, file, db)


def demo(
    db: Annotated[
        str,
        typer.Option("--db", help="Where to build the demo practice (a new SQLite file)."),
    ] = "keepwarm-demo.db",
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same practice.")
    ] = 7,
) -> None:
    """Build a believable sample practice (3 staff, ~300 clients, 3 years of history) through
    the real import path, and show what it holds.

    Example: keepwarm demo --db demo.db --seed 42
    """
    from keepwarm.cli.demo_view import run_demo

    run_demo(db, seed)
