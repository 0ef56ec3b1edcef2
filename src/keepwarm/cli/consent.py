"""`keepwarm consent`: see and record who may be contacted by which channel; `keepwarm
bounces check`: read the sending mailbox's bounces."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from keepwarm.cli.common import DbOption, console, engine_for, now, user_errors
from keepwarm.services import bounces as bounces_svc
from keepwarm.services import consent as svc
from keepwarm.store.tables import CONSENT_CHANNELS

bounces_app = typer.Typer(
    help="Bounced email: read the sending mailbox (KEEPWARM_IMAP_URL).\n\n"
    "Example: keepwarm bounces check",
    no_args_is_help=True,
)


def consent(
    client_id: Annotated[str, typer.Argument(help="The client's id (the business's own).")],
    channel: Annotated[
        str | None, typer.Option("--channel", help="email, sms, post or phone.")
    ] = None,
    allow: Annotated[bool, typer.Option("--allow", help="The client agreed to this channel.")] = (
        False
    ),
    refuse: Annotated[
        bool, typer.Option("--refuse", help="The client asked not to be contacted this way.")
    ] = False,
    source: Annotated[
        str,
        typer.Option("--source", help="staff (noted by staff) or request (the client asked)."),
    ] = "staff",
    note: Annotated[str | None, typer.Option("--note", help="Why, in a few words.")] = None,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    db: DbOption = None,
) -> None:
    """Show a client's contact preferences, or record one.

    Example: keepwarm consent C0042 --channel sms --allow --source request --note "asked at
    the desk"

    Without --channel: each channel, allowed or not and why, and the history (newest first).
    """
    if output not in ("text", "json"):
        raise typer.BadParameter("choose text or json", param_hint="--format")
    if channel is not None or allow or refuse:
        _record(client_id, channel, allow, refuse, source, note, db)
        return
    with user_errors(), engine_for(db) as (_, engine):
        found = svc.client_consent(engine, client_id)
    if output == "json":
        console.print_json(json.dumps(found.as_json()))
        return
    if found.bounced:
        console.print(found.bounced, markup=False)
    for state in found.states:
        said = "allowed" if state.allowed else f"not allowed: {state.why}"
        console.print(f"{state.channel:<6} {said}", markup=False)
    if found.history:
        console.print("History (newest first):")
    for e in found.history:
        what = "allowed" if e.allowed else "refused"
        where = f" {e.address}" if e.address else ""
        extra = f" — {e.note}" if e.note else ""
        line = f"  {e.at:%Y-%m-%d %H:%M} {e.channel}{where} {what} by {e.actor} ({e.source}){extra}"
        console.print(line, markup=False)


def _record(
    client_id: str,
    channel: str | None,
    allow: bool,
    refuse: bool,
    source: str,
    note: str | None,
    db: str | None,
) -> None:
    if channel not in CONSENT_CHANNELS:
        raise typer.BadParameter(
            f"choose one of {', '.join(CONSENT_CHANNELS)}", param_hint="--channel"
        )
    if allow == refuse:
        raise typer.BadParameter("say --allow or --refuse (one of them)", param_hint="--allow")
    if source not in ("staff", "request"):
        raise typer.BadParameter("choose staff or request", param_hint="--source")
    actor = f"{getpass.getuser()} (command line)"
    with user_errors(), engine_for(db) as (_, engine):
        svc.set_consent(
            engine, client_id, channel, allow, actor=actor, now=now(), source=source, note=note
        )
    said = "allowed" if allow else "refused"
    console.print(f"Recorded: {channel} {said} for client {client_id}.", markup=False)


@bounces_app.command("check")
def check(db: DbOption = None) -> None:
    """Read the sending mailbox's new messages once: hard bounces refuse their address, soft
    ones are noted, other mail is left alone (marked read).

    Example: keepwarm bounces check
    """
    with user_errors(), engine_for(db) as (settings, engine):
        report = bounces_svc.check_bounces(engine, settings, now=now())
    console.print(report.summary(), markup=False)
