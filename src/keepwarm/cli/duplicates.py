"""`keepwarm duplicates`: likely duplicate clients, scored and explained; `keepwarm merge`:
merge two clients into one (and `keepwarm merge undo MERGE_ID`); `keepwarm merges`: past
merges."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from keepwarm.cli.common import DbOption, console, engine_for, fail, now, user_errors
from keepwarm.services import client_merge as merge_svc
from keepwarm.services import duplicates as svc


def _actor() -> str:
    return f"{getpass.getuser()} (command line)"


def duplicates(
    min_score: Annotated[
        float,
        typer.Option(
            "--min-score", help="Show pairs scoring at least this (0 to 1).", min=0, max=1
        ),
    ] = svc.DEFAULT_MIN_SCORE,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    db: DbOption = None,
) -> None:
    """Likely duplicate clients: same email or phone, or similar names (nicknames, initials,
    accents, typos) with the same birthday or address; each pair scored 0 to 1 and explained.

    Example: keepwarm duplicates --min-score 0.8 --format json

    Pairs you said are two people (on the Duplicates page) are not shown again. Merge a pair
    with `keepwarm merge KEEP_ID OTHER_ID`.
    """
    if output not in ("text", "json"):
        raise typer.BadParameter("choose text or json", param_hint="--format")
    with user_errors(), engine_for(db) as (_, engine):
        found = svc.find(engine, min_score=min_score)
    if output == "json":
        console.print_json(json.dumps([svc.pair_json(p) for p in found.pairs]))
        return
    if not found.pairs:
        console.print(f"No likely duplicates among {found.clients:,} clients.")
        return
    pairs = "pair" if len(found.pairs) == 1 else "pairs"
    console.print(f"{len(found.pairs):,} likely duplicate {pairs} among {found.clients:,} clients:")
    for p in found.pairs:
        console.print(
            f"  {p.score:.2f}  {p.a.external_id} {p.a.name}  /  {p.b.external_id} {p.b.name}"
            f"\n        {p.explanation}",
            markup=False,
        )


def merge(
    keep_id: Annotated[
        str, typer.Argument(help="The client to keep (business id), or `undo`.", show_default=False)
    ],
    other_id: Annotated[
        str,
        typer.Argument(
            help="The client merged into it (business id); after `undo`, the merge's number.",
            show_default=False,
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm (for scripts).")] = (
        False
    ),
    db: DbOption = None,
) -> None:
    """Merge two clients into one: the other's activities, touches, to-dos, consent, messages
    and the rest move to the kept client, whose empty fields are filled from the other's; the
    other's id stays an alias, so re-importing either export updates the merged client.

    Example: keepwarm merge C-1042 C-2077

    `keepwarm merge undo 12` undoes merge 12 (see `keepwarm merges`), putting both clients
    back as they were. Asks to confirm unless --yes.
    """
    if keep_id == "undo":
        try:
            merge_id = int(other_id)
        except ValueError:
            raise fail(f"merge undo: a merge number, not {other_id!r}") from None
        if not yes:
            typer.confirm(f"Undo merge {merge_id}?", abort=True)
        with user_errors(), engine_for(db) as (_, engine):
            undone = merge_svc.undo_merge(engine, merge_id, by=_actor(), now=now())
        console.print(
            f"Undid merge {merge_id}: {undone.merged} is a client of its own again, "
            f"apart from {undone.kept}.",
            markup=False,
        )
        return
    with user_errors(), engine_for(db) as (_, engine):
        if not yes:
            pair = svc.compare_clients(engine, keep_id, other_id)
            keep, other = (pair.a, pair.b) if pair.a.external_id == keep_id else (pair.b, pair.a)
            for label, p in (("Keep", keep), ("Merge into it", other)):
                console.print(
                    f"{label}: {p.external_id} {p.name} — email {p.email or '-'}, phone "
                    f"{p.phone or '-'}, birthday {p.birthday or '-'}, address {p.address or '-'}",
                    markup=False,
                )
            console.print(f"Score {pair.score:.2f}: {pair.explanation}", markup=False)
            typer.confirm(f"Merge {other_id} into {keep_id}?", abort=True)
        done = merge_svc.merge_clients(engine, keep_id, other_id, by=_actor(), now=now())
    moved = sum(done.moved.values())
    filled = f"; filled {', '.join(done.filled)}" if done.filled else ""
    console.print(
        f"Merged {other_id} into {keep_id} (merge {done.merge_id}): moved {moved:,} rows"
        f"{filled}. Undo with: keepwarm merge undo {done.merge_id}",
        markup=False,
    )


def merges(
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    db: DbOption = None,
) -> None:
    """Past merges, newest first, and whether each was undone.

    Example: keepwarm merges --format json
    """
    if output not in ("text", "json"):
        raise typer.BadParameter("choose text or json", param_hint="--format")
    with user_errors(), engine_for(db) as (_, engine):
        found = merge_svc.merge_history(engine)
    if output == "json":
        rows = [
            {
                "id": m.id,
                "kept": m.kept,
                "merged": m.merged,
                "score": m.score,
                "explanation": m.explanation,
                "merged_by": m.merged_by,
                "merged_at": m.merged_at.isoformat(),
                "undone_at": m.undone_at.isoformat() if m.undone_at else None,
            }
            for m in found
        ]
        console.print_json(json.dumps(rows))
        return
    if not found:
        console.print("No merges yet.")
    for m in found:
        undone = f" — undone by {m.undone_by}" if m.undone_by else ""
        console.print(
            f"  {m.id}  {m.merged} into {m.kept} ({m.kept_name}) by {m.merged_by} "
            f"on {m.merged_at:%Y-%m-%d}{undone}",
            markup=False,
        )
