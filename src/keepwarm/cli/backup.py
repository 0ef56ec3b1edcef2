"""Commands for backups: `keepwarm backup FILE`, `keepwarm restore FILE`, `keepwarm db check`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from keepwarm.cli.common import DbOption, console, err_console, fail, now, settings_for, user_errors
from keepwarm.services import backup as svc
from keepwarm.store import connect, require_current


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


def backup_command(
    file: Annotated[
        Path, typer.Argument(help="Where to write the backup (replaced if it exists).")
    ],
    step: Annotated[
        int,
        typer.Option(
            "--step",
            help="Pages copied per step (others may write between steps; the copy stays one "
            "consistent snapshot). -1: all at once.",
        ),
    ] = 1024,
    db: DbOption = None,
) -> None:
    """Back up a SQLite database while keepwarm runs, with SQLite's online backup API, then
    check the copy (integrity, schema revision, every table's rows) before keeping it. A
    folder in FILE's path that does not exist yet is made.

    Example: keepwarm backup backups/keepwarm-2026-12-04.db

    PostgreSQL databases are backed up with pg_dump: the command prints how.
    """
    settings = settings_for(db)
    if svc.sqlite_path(settings.database_url) is None:
        err_console.print(
            "[bold red]Error:[/] keepwarm backs up SQLite databases only. Back up PostgreSQL "
            "with pg_dump, restore with pg_restore, then check the schema with keepwarm:"
        )
        for line in svc.pg_dump_commands(settings.database_url):
            err_console.print(f"  {line}", markup=False)
        raise typer.Exit(2)
    shown = [0]

    def progress(done: int, total: int) -> None:
        if total >= 10_000 and (done == total or done - shown[0] >= total // 10):
            shown[0] = done
            err_console.print(f"  {done * 100 // total}% ({done} of {total} pages)")

    with user_errors():
        engine = connect(settings.database_url)
        try:
            require_current(engine)
            report = svc.backup(
                engine,
                file,
                actor="command line",
                now=now(),
                pages_per_step=step,
                progress=progress,
            )
        finally:
            engine.dispose()
    if report.made_folder is not None:
        console.print(f"(made the folder {report.made_folder})", markup=False)
    console.print(
        f"Backed up to {report.path} ({_size(report.size)}, schema {report.revision}): "
        "integrity ok, every table's rows match.",
        markup=False,
    )
    console.print(
        ", ".join(f"{report.counts.get(t, 0)} {t.replace('_', ' ')}" for t in svc.MAIN_TABLES),
        markup=False,
    )


def restore_command(
    file: Annotated[Path, typer.Argument(help="A backup made by `keepwarm backup`.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask for confirmation (for scripts).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Replace the SQLite database's content with a backup, after checking the backup (a
    keepwarm database, integrity ok, a schema this keepwarm knows; an older one is migrated).
    The content it replaces is saved beside the database first (….before-restore-TIME).
    Erasures hold: a client in the backup who was erased since it was made is erased again.

    Example: keepwarm restore backups/keepwarm-2026-12-04.db --yes

    For PostgreSQL, restore with pg_restore and check with `keepwarm db check`.
    """
    settings = settings_for(db)
    with user_errors():
        database = svc.sqlite_path(settings.database_url)
        if database is None:
            raise fail(
                "keepwarm restores SQLite backups only: restore PostgreSQL with pg_restore, "
                "then run `keepwarm db check`"
            )
        revision, counts = svc.check_backup(file)
    if not yes:
        typer.confirm(
            f"Replace everything in {database} with {file} (schema {revision}, "
            f"{counts.get('clients', 0)} clients)?",
            abort=True,
        )
    with user_errors():
        report = svc.restore(settings.database_url, file, actor="command line", now=now())
    migrated = (
        f", migrated from {report.revision_before} to {report.revision_after}"
        if report.revision_before != report.revision_after
        else ""
    )
    console.print(
        f"Restored {report.database} from {report.source}{migrated}: "
        f"{report.counts.get('clients', 0)} clients, {report.counts.get('activities', 0)} "
        f"activities. The content before is saved as {report.saved_as}.",
        markup=False,
    )
    if report.erased_again:
        n = report.erased_again
        console.print(
            f"{n} client{'' if n == 1 else 's'} erased since this backup was made "
            f"{'was' if n == 1 else 'were'} erased again.",
            markup=False,
        )


def db_check(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check that a database (for instance one restored with pg_restore) has exactly the
    schema this keepwarm declares: the newest revision, and every table, column, index and
    constraint. Lists each difference; exit code 1 if there is any. Also notes server settings
    keepwarm relies on that are off (PostgreSQL's autovacuum), without failing.

    Example: keepwarm db check --db postgresql://localhost/keepwarm_restored
    """
    settings = settings_for(db)
    with user_errors():
        engine = connect(settings.database_url)
        try:
            problems = svc.schema_differences(engine)
            notes = svc.server_notes(engine)
        finally:
            engine.dispose()
    if as_json:
        console.print_json(
            json.dumps({"ok": not problems, "differences": problems, "notes": notes})
        )
    elif problems:
        err_console.print(f"The schema differs from this keepwarm's in {len(problems)} place(s):")
        for problem in problems:
            err_console.print(f"  - {problem}", markup=False)
    else:
        console.print("The schema is exactly this keepwarm's (newest revision).")
    if notes and not as_json:
        for note in notes:
            err_console.print(f"Note: {note}", markup=False)
    if problems:
        raise typer.Exit(1)
