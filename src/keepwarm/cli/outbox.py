"""`keepwarm send` and `keepwarm outbox ...`: queue an action's message, deliver what is due,
and look after messages that need a person (unknown, failed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from keepwarm.cli.common import DbOption, console, engine_for, err_console, now, user_errors
from keepwarm.domain.errors import InvalidInput
from keepwarm.services import outbox as svc
from keepwarm.services.daily_job import local_today
from keepwarm.services.delivery import deliver_due
from keepwarm.services.policy import get_policy
from keepwarm.services.printing import queue_letter
from keepwarm.services.todays_list import printable

outbox_app = typer.Typer(
    help="The messages to clients waiting to leave, sent, or needing you.\n\n"
    "Example: keepwarm outbox list --state unknown",
    no_args_is_help=True,
)

STATES = ("queued", "sending", "sent", "failed", "retry", "unknown", "cancelled")


def _channel_for(suggested: str) -> str:
    """The default channel: a letter when the list suggests a card or letter, a text when it
    suggests one, otherwise email (a suggested call or visit sent as an email instead)."""
    if suggested in ("card", "letter"):
        return "letter"
    return "sms" if suggested == "sms" else "email"


def send(
    action_id: Annotated[int, typer.Argument(help="The action's number (see `keepwarm today`).")],
    channel: Annotated[
        str | None,
        typer.Option(
            help="email, sms or letter (printed by `keepwarm print`). Default: a letter when "
            "the list suggests a card or letter, a text when it suggests one, else email."
        ),
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="The email's subject line; default the draft's.")
    ] = None,
    body_file: Annotated[
        Path | None,
        typer.Option(
            "--body-file", help="A text file with the message; default the action's draft."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Queue the action's message to its client and mark the action done; the outbox delivers
    it (at most once, never to someone who said no).

    Example: keepwarm send 12 --subject "How is the knee?" --body-file note.txt
    """
    with user_errors(), engine_for(db) as (settings, engine):
        day = local_today(get_policy(engine), now())
        if channel is None:
            action, _ = printable(engine, action_id, by=None, day=day, channel="email")
            channel = _channel_for(action.channel)
        if channel not in (*svc.CHANNELS, "letter"):
            raise InvalidInput(f"--channel: email, sms or letter, not {channel!r}")
        body = None
        if body_file is not None:
            try:
                body = body_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidInput(f"--body-file: cannot read {body_file}: {exc}") from None
        if channel == "letter":
            item = queue_letter(engine, action_id, body=body, by=None, day=day, now=now())
            console.print(
                f"Queued as letter {item} in the letters to print; `keepwarm print` makes the "
                "batch's PDF.",
                markup=False,
            )
            return
        written = svc.Written(subject=subject, body=body)
        outbox_id = svc.queue_action(
            engine, settings, action_id, channel, written=written, by=None, day=day, now=now()
        )
    console.print(
        f"Queued as message {outbox_id} ({channel}); `keepwarm outbox send` delivers it; "
        "`keepwarm serve` does by itself.",
        markup=False,
    )


@outbox_app.command("send")
def send_due(
    limit: Annotated[int | None, typer.Option(help="Send at most this many.")] = None,
    db: DbOption = None,
) -> None:
    """Deliver the messages due now, within the policy's budget (per minute, per day).

    Example: keepwarm outbox send
    """
    with user_errors(), engine_for(db) as (settings, engine):
        if settings.mail_missing and not settings.sms_url:
            svc.require_setup(settings, "email")

        def progress(done: int, total: int) -> None:
            err_console.print(f"sending {done}/{total}", end="\r", markup=False)

        report = deliver_due(engine, settings, now_fn=now, limit=limit, progress=progress)
    err_console.print(" " * 30, end="\r", markup=False)
    console.print(f"Outbox: {report.summary()}.", markup=False)
    if report.not_configured:
        console.print(f"{report.not_configured} left queued: their channel is not set up.")
    if report.deferred:
        console.print(f"{report.deferred} texts wait for the end of quiet hours.")
    if report.wait_until is not None:
        console.print(
            f"The sending budget is used until {report.wait_until:%H:%M} UTC; the rest wait.",
            markup=False,
        )
    if report.unknown or report.stale:
        console.print(
            "Some messages may or may not have arrived: see `keepwarm outbox list --state "
            "unknown`, then `keepwarm outbox mark-sent ID` or `keepwarm outbox send-again ID`.",
            markup=False,
        )


@outbox_app.command("list")
def list_messages(
    state: Annotated[
        list[str] | None, typer.Option(help="Only this state (repeatable): " + ", ".join(STATES))
    ] = None,
    staff: Annotated[str | None, typer.Option(help="Only this member of staff's.")] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """The outbox, newest first.

    Example: keepwarm outbox list --state unknown --state failed --format json
    """
    if output not in ("table", "json"):
        raise typer.BadParameter("choose table or json", param_hint="--format")
    for s in state or ():
        if s not in STATES:
            raise typer.BadParameter(f"one of {', '.join(STATES)}", param_hint="--state")
    with user_errors(), engine_for(db) as (_, engine):
        shown = svc.messages(engine, staff=staff, states=tuple(state or ()))
    if output == "json":
        console.print_json(json.dumps([m.as_json() for m in shown]))
        return
    if not shown:
        console.print("The outbox is empty.")
        return
    table = Table("ID", "Client", "Staff", "Channel", "State", "Queued", "Sent", "Note")
    for m in shown:
        table.add_row(
            str(m.id),
            m.client or "",
            m.staff or "",
            m.channel,
            m.state,
            f"{m.created_at:%Y-%m-%d %H:%M}",
            f"{m.sent_at:%Y-%m-%d %H:%M}" if m.sent_at else "",
            m.last_error or "",
        )
    console.print(table)


def _person_move(verb: str, outbox_id: int, db: str | None) -> None:
    with user_errors(), engine_for(db) as (_, engine):
        move = {"mark-sent": svc.mark_sent, "send-again": svc.send_again, "cancel": svc.cancel}
        move[verb](engine, outbox_id, by=None, now=now())


@outbox_app.command("mark-sent")
def mark_sent(outbox_id: Annotated[int, typer.Argument(metavar="ID")], db: DbOption = None) -> None:
    """You know an unknown message arrived (the client replied): it counts as sent.

    Example: keepwarm outbox mark-sent 12
    """
    _person_move("mark-sent", outbox_id, db)
    console.print(f"Message {outbox_id} is sent; the touch is on the client's timeline.")


@outbox_app.command("send-again")
def send_again(
    outbox_id: Annotated[int, typer.Argument(metavar="ID")], db: DbOption = None
) -> None:
    """Queue a failed or unknown message again (an unknown one may then arrive twice).

    Example: keepwarm outbox send-again 12
    """
    _person_move("send-again", outbox_id, db)
    console.print(f"Message {outbox_id} is queued again; `keepwarm outbox send` delivers it.")


@outbox_app.command("cancel")
def cancel(outbox_id: Annotated[int, typer.Argument(metavar="ID")], db: DbOption = None) -> None:
    """Stop a message that has not left; its action is back on the list.

    Example: keepwarm outbox cancel 12
    """
    _person_move("cancel", outbox_id, db)
    console.print(f"Message {outbox_id} is cancelled; its action is open again.")
