"""`keepwarm print`: the day's cards and letters as a PDF (and address labels), then confirm
the batch printed (the touches are recorded then), list or cancel batches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from keepwarm.cli.common import DbOption, console, engine_for, now, user_errors
from keepwarm.domain.errors import InvalidInput
from keepwarm.messaging.print_pdf import LABEL_FORMATS
from keepwarm.services import printing as svc
from keepwarm.services.daily_job import local_today
from keepwarm.services.policy import get_policy

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


def print_command(
    what: Annotated[
        str | None,
        typer.Argument(
            help="Nothing to print the letters waiting; confirm BATCH, list, pdf BATCH, or "
            "cancel BATCH.",
            show_default=False,
        ),
    ] = None,
    batch_id: Annotated[
        int | None,
        typer.Argument(help="The batch's number (see `keepwarm print list`).", show_default=False),
    ] = None,
    sheet: Annotated[
        list[int] | None,
        typer.Option("--sheet", help="confirm: only this sheet (repeat for more; default: all)."),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="list: confirmed and cancelled batches too.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="list: print JSON.")] = False,
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
        typer.Option(
            "--out",
            help="Where to write the letters (default: letters-BATCH.pdf; more than one batch: "
            "the first here, the others in FILE-BATCH.pdf). pdf BATCH: where to write it.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Print the cards and letters waiting: make the batch of the open card and letter actions
    on the list, write its PDF, and the PDF of every other open batch with letters waiting (a
    letter queued by `keepwarm send --channel letter` or "Add to print batch" waits in its
    member's batch); with --labels, address labels too. Lists who is in each batch and who
    was left out (do not contact, post refused, no usable address). The actions are done now;
    their touches are recorded when you confirm a batch printed: `keepwarm print confirm
    BATCH` (all, or --sheet N). `keepwarm print list` shows the open batches, `keepwarm print
    pdf BATCH --out FILE` writes one batch's PDF again, `keepwarm print cancel BATCH` puts
    what was not printed back on the list.

    Example: keepwarm print --labels l7160 --staff "Dana Reyes" --out today.pdf
    """
    if what is not None:
        if what == "list":
            return _list(all_, as_json, db)
        if what not in ("confirm", "cancel", "pdf"):
            raise typer.BadParameter(
                f"{what!r}: confirm BATCH, list, pdf BATCH or cancel BATCH", param_hint="WHAT"
            )
        if batch_id is None:
            raise typer.BadParameter(f"print {what} needs the batch's number", param_hint="BATCH")
        if what == "confirm":
            return _confirm(batch_id, sheet, db)
        if what == "pdf":
            return _pdf(batch_id, out, db)
        return _cancel(batch_id, db)
    _make(labels, staff, out, db)


def _target(out: Path | None, batch_id: int, first: bool) -> Path:
    """Where a batch's letters go: letters-BATCH.pdf, or --out (the first batch) and
    FILE-BATCH.pdf beside it (the others)."""
    if out is None:
        return Path(f"letters-{batch_id}.pdf")
    return out if first else out.with_name(f"{out.stem}-{batch_id}{out.suffix or '.pdf'}")


def _make(labels: str | None, staff: str | None, out: Path | None, db: str | None) -> None:
    if labels is not None and labels not in LABEL_FORMATS:
        raise typer.BadParameter(f"{labels!r} is not one of {FORMATS}", param_hint="--labels")
    with user_errors(), engine_for(db) as (settings, engine):
        day = local_today(get_policy(engine), now())
        made: svc.Batch | None = None
        nothing = InvalidInput("nothing to print")
        try:
            made = svc.make_batch(engine, kind="letters", staff=staff, by=None, day=day, now=now())
        except InvalidInput as exc:  # nothing on the list: letters may still wait in a batch
            nothing = exc
        made_id = made.id if made is not None else None
        waiting = [b for b in svc.waiting_letters(engine, staff=staff) if b.id != made_id]
        if made is None and not waiting:
            raise nothing
        practice = svc.practice_name(settings)
        printed: list[tuple[svc.Batch, Path]] = []
        for letters in [*([made] if made is not None else []), *waiting]:
            if letters.to_print:
                target = _target(out, letters.id, first=not printed)
                target.write_bytes(svc.render_pdf(engine, letters.id, practice=practice))
                printed.append((letters, target))
            _show(letters)
            if letters.to_print:
                console.print(f"Letters written to {target}.", markup=False)
        if labels is not None and printed:
            made_labels = svc.make_batch(
                engine, kind="labels", staff=staff, label_format=labels, by=None, day=day, now=now()
            )
            first = printed[0][1]
            label_file = first.with_name(f"{first.stem}-labels.pdf")
            label_file.write_bytes(svc.render_pdf(engine, made_labels.id))
            _show(made_labels)
            console.print(f"Labels written to {label_file}.", markup=False)
    for letters, _ in printed:
        console.print(
            f"When batch {letters.id} is printed: keepwarm print confirm {letters.id} "
            "(or --sheet N for some sheets).",
            markup=False,
        )


def _pdf(batch_id: int, out: Path | None, db: str | None) -> None:
    with user_errors(), engine_for(db) as (settings, engine):
        found = svc.batch(engine, batch_id)
        target = out or Path(f"{found.kind}-{batch_id}.pdf")
        practice = svc.practice_name(settings)
        target.write_bytes(svc.render_pdf(engine, batch_id, practice=practice))
    _show(found)
    console.print(f"Written to {target}.", markup=False)


def _confirm(batch_id: int, sheet: list[int] | None, db: str | None) -> None:
    with user_errors(), engine_for(db) as (_, engine):
        done = svc.confirm(engine, batch_id, sheets=sheet or None, by=None, now=now())
        state = svc.batch(engine, batch_id).state
    console.print(f"Batch {batch_id}: {done} confirmed printed; the batch is {state}.")


def _list(all_: bool, as_json: bool, db: str | None) -> None:
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


def _cancel(batch_id: int, db: str | None) -> None:
    with user_errors(), engine_for(db) as (_, engine):
        back = svc.cancel_batch(engine, batch_id, by=None, now=now())
    console.print(f"Batch {batch_id} cancelled: {back} back on the list.")
