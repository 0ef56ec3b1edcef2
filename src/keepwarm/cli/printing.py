"""`keepwarm print`: the day's cards and letters as a PDF (and address labels), then confirm
the batch printed (the touches are recorded then), list or cancel batches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from keepwarm.cli.common import DbOption, console, engine_for, now, user_errors
from keepwarm.messaging.print_pdf import LABEL_FORMATS
from keepwarm.services import printing as svc
from keepwarm.services.daily_job import local_today
from keepwarm.services.policy import get_policy

print_app = typer.Typer(
    help="Print the day's cards and letters (PDF) and their address labels; confirm a batch "
    "printed to record the touches.\n\n"
    "Example: keepwarm print --labels avery5160 --out today.pdf",
    invoke_without_command=True,
)

BatchId = Annotated[int, typer.Argument(help="The batch's number (see `keepwarm print list`).")]
FORMATS = ", ".join(LABEL_FORMATS)


def _show(batch: svc.Batch) -> None:
    what = "letters" if batch.kind == "letters" else f"labels ({batch.label_format})"
    whose = batch.staff or "the practice"
    console.print(
        f"Batch {batch.id}: {what} for {whose}, {batch.state}, "
        f"{len(batch.to_print)} to print on {len(batch.sheets)} sheet(s).",
        markup=False,
    )
    for item in batch.to_print:
        place = item.address.replace("\n", ", ")
        console.print(f"  sheet {item.sheet}  [{item.state}]  {place}", markup=False)
    out = [(i.client, i.client_name, svc.NO_ADDRESS) for i in batch.no_address]
    out += [(x.client, x.client_name, x.why) for x in batch.left_out]
    if out:
        console.print("Left out:", markup=False)
        for client, name, why in out:
            console.print(f"  {client} {name}: {why}", markup=False)


@print_app.callback()
def print_command(
    ctx: typer.Context,
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            help=f"Also print address labels, one per address, on this sheet: {FORMATS}. "
            "They go to FILE-labels.pdf.",
        ),
    ] = None,
    staff: Annotated[
        str | None,
        typer.Option(help="Only this member of staff's cards and letters (default: everyone's)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the letters (default: letters-BATCH.pdf)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Make the batch of the open card and letter actions on the list, write its PDF, and list
    who is in it and who was left out (do not contact, post refused, no usable address). The
    actions are done now; their touches are recorded when you confirm the batch printed.

    Example: keepwarm print --labels l7160 --staff "Dana Reyes" --out today.pdf
    """
    if ctx.invoked_subcommand is not None:
        return
    if labels is not None and labels not in LABEL_FORMATS:
        raise typer.BadParameter(f"{labels!r} is not one of {FORMATS}", param_hint="--labels")
    with user_errors(), engine_for(db) as (settings, engine):
        day = local_today(get_policy(engine), now())
        batch = svc.make_batch(engine, kind="letters", staff=staff, by=None, day=day, now=now())
        target = out or Path(f"letters-{batch.id}.pdf")
        practice = svc.practice_name(settings)
        if batch.to_print:
            target.write_bytes(svc.render_pdf(engine, batch.id, practice=practice))
        _show(batch)
        if batch.to_print:
            console.print(f"Letters written to {target}.", markup=False)
        if labels is not None and batch.to_print:
            made = svc.make_batch(
                engine,
                kind="labels",
                label_format=labels,
                letters=batch.id,
                by=None,
                day=day,
                now=now(),
            )
            label_file = target.with_name(f"{target.stem}-labels.pdf")
            label_file.write_bytes(svc.render_pdf(engine, made.id))
            _show(made)
            console.print(f"Labels written to {label_file}.", markup=False)
    console.print(
        f"When printed: keepwarm print confirm {batch.id} (or --sheet N for some sheets).",
        markup=False,
    )


@print_app.command("confirm")
def confirm_command(
    batch_id: BatchId,
    sheet: Annotated[
        list[int] | None,
        typer.Option("--sheet", help="Only this sheet (repeat for more; default: all)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Confirm a batch printed (all of it, or some sheets): each letter's touch is recorded
    (a card, by the action's member of staff, today), once.

    Example: keepwarm print confirm 3 --sheet 1 --sheet 2
    """
    with user_errors(), engine_for(db) as (_, engine):
        done = svc.confirm(engine, batch_id, sheets=sheet or None, by=None, now=now())
        state = svc.batch(engine, batch_id).state
    console.print(f"Batch {batch_id}: {done} confirmed printed; the batch is {state}.")


@print_app.command("list")
def list_command(
    all_: Annotated[
        bool, typer.Option("--all", help="Confirmed and cancelled batches too.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """The open print batches and who is in them (with --all, every batch).

    Example: keepwarm print list --json
    """
    states = () if all_ else ("open",)
    with user_errors(), engine_for(db) as (_, engine):
        found = svc.batches(engine, states=states)
    if as_json:
        console.print_json(json.dumps([b.as_json() for b in found]))
        return
    if not found:
        console.print("No print batch is open. Make one with: keepwarm print")
    for batch in found:
        _show(batch)


@print_app.command("cancel")
def cancel_command(batch_id: BatchId, db: DbOption = None) -> None:
    """Cancel a batch: what was not confirmed printed goes back on the list.

    Example: keepwarm print cancel 3
    """
    with user_errors(), engine_for(db) as (_, engine):
        back = svc.cancel_batch(engine, batch_id, by=None, now=now())
    console.print(f"Batch {batch_id} cancelled: {back} back on the list.")
