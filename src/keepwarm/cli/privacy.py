"""`keepwarm erase`: erase one client (or, with --inactive-years, those the retention policy
names); `keepwarm export client`: everything about one client as a ZIP."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

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
from keepwarm.services import client_export
from keepwarm.services import erasure as svc


def _actor() -> str:
    return f"{getpass.getuser()} (command line)"


def export_client(
    client_id: Annotated[str, typer.Argument(help="The client's id (the business's own).")],
    file: Annotated[Path, typer.Argument(help="The ZIP file to write.", dir_okay=False)],
    db: DbOption = None,
) -> None:
    """Write everything keepwarm holds about one client to a ZIP of JSON and CSV files.

    Example: keepwarm export client C-1042 c-1042.zip

    The ZIP has the record, activities, touches, to-dos, reminders, messages, printed letters,
    feedback, consent history, campaigns, household name, merges and audit entries, with a
    README.txt saying what each file is. The export is recorded in the audit log.
    """
    with user_errors(), engine_for(db) as (_, engine):
        size = client_export.export_client(engine, client_id, file, actor=_actor(), now=now())
    console.print(f"Wrote everything about client {client_id} to {file} ({size:,} bytes).")


def erase_command(
    client_id: Annotated[
        str | None,
        typer.Argument(help="The client's id (the business's own).", show_default=False),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask to type the id again (for scripts).")
    ] = False,
    inactive_years: Annotated[
        int | None,
        typer.Option(
            "--inactive-years",
            help="Instead of one client: every client with no activity or touch for this many "
            "years (the retention policy).",
            min=1,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --inactive-years: list who; erase nobody.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Erase a client for good: every row about them, in every table; what remains is a keyed
    hash of their identifiers, so re-importing an old file that holds them is flagged.

    Example: keepwarm erase C-1042

    Asks you to type the client's id to confirm (--yes skips it). With --inactive-years N,
    erases every client with no activity for N years (--dry-run lists them). Cannot be undone
    (a backup made before still holds the client).
    """
    if (client_id is None) == (inactive_years is None):
        raise fail("name one client id, or give --inactive-years N")
    if dry_run and inactive_years is None:
        raise fail("--dry-run goes with --inactive-years")
    with user_errors(), engine_for(db) as (_, engine):
        if inactive_years is not None:
            if not (dry_run or yes):
                found = svc.apply_retention(
                    engine, inactive_years, today=today(), now=now(), dry_run=True
                )
                if not found.erased:
                    console.print(f"No client has been inactive for {inactive_years} years.")
                    return
                typer.confirm(f"Erase {len(found.erased):,} clients for good?", abort=True)
            result = svc.apply_retention(
                engine, inactive_years, today=today(), now=now(), dry_run=dry_run
            )
            verb = "Would erase" if dry_run else "Erased"
            console.print(
                f"{verb} {len(result.erased):,} clients with no activity for "
                f"{inactive_years} years.",
                markup=False,
            )
            for ref in result.erased:
                console.print(f"  {ref}", markup=False)
            if result.cleanup:
                console.print(result.cleanup[0].upper() + result.cleanup[1:] + ".", markup=False)
            return
        assert client_id is not None
        if not yes:
            typed = typer.prompt(f"This erases client {client_id} for good. Type their id")
            if typed.strip() != client_id:
                err_console.print("The id did not match: nothing was erased.")
                raise typer.Exit(1)
        erased = svc.erase_client(engine, client_id, actor=_actor(), now=now())
    console.print(
        f"Erased client {client_id}: {sum(erased.rows.values()):,} rows. "
        f"{erased.cleanup[0].upper() + erased.cleanup[1:]}.",
        markup=False,
    )
