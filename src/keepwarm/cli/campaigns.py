"""`keepwarm campaign ...`: create a campaign from a starting point, preview its audience,
send its waves, list and show campaigns (and their results: `keepwarm campaign results`)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from keepwarm.cli.common import DbOption, console, engine_for, now, user_errors
from keepwarm.cli.segments import filters_from_options
from keepwarm.domain.errors import InvalidInput
from keepwarm.services import campaigns as svc
from keepwarm.services.daily_job import local_today
from keepwarm.services.policy import get_policy

campaign_app = typer.Typer(
    help="Campaigns: win-back, holiday cards, welcome series, with a holdout.\n\n"
    "Example: keepwarm campaign create --from win-back spring-winback --wave 2027-02-01",
    no_args_is_help=True,
)

FormatOption = Annotated[str, typer.Option("--format", help="text or json.")]


def _format(output: str) -> bool:
    if output not in ("text", "json"):
        raise typer.BadParameter("choose text or json", param_hint="--format")
    return output == "json"


def _dates(values: list[str] | None) -> list[dt.date]:
    out = []
    for v in values or []:
        try:
            out.append(dt.date.fromisoformat(v))
        except ValueError:
            raise InvalidInput(f"--wave: {v!r} is not a date like 2027-02-01") from None
    return out


def _read(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{option}: cannot read {path}: {exc}") from None


def _messages(
    current: list[svc.Message],
    start: svc.StartingPoint | None,
    channels: list[str] | None,
    subject: str | None,
    bodies: dict[str, str],
    body: str | None,
) -> list[svc.Message]:
    """The campaign's messages from the options: `--channel` (repeated, in order of
    preference) or the starting point's channels; each channel's body from its own file, else
    `--body-file`, else the starting point's draft; `--subject` is the email's."""
    drafts = {m.channel: m for m in current}
    out = []
    for c in channels or [m.channel for m in current]:
        draft = drafts.get(c)
        if draft is None and start is not None and c in start.drafts:
            draft = svc.Message(c, *start.drafts[c])
        text = bodies.get(c, body if body is not None else draft.body if draft else "")
        title = (
            subject if subject is not None and c == "email" else draft.subject if draft else None
        )
        out.append(svc.Message(c, title, text))
    unused = sorted(set(bodies) - {m.channel for m in out})
    if unused:
        raise InvalidInput(f"--body-file-{unused[0]}: the campaign has no {unused[0]} channel")
    return out


@campaign_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The campaign's name, e.g. spring-winback.")],
    start: Annotated[
        str | None,
        typer.Option("--from", help="Start from win-back, holiday-cards or welcome."),
    ] = None,
    wave: Annotated[
        list[str] | None, typer.Option(help="A wave's date, YYYY-MM-DD (repeat for each wave).")
    ] = None,
    channel: Annotated[
        list[str] | None,
        typer.Option(
            help="email, sms or letter; repeat for several, in order of preference (each "
            "client gets the first they can receive)."
        ),
    ] = None,
    subject: Annotated[str | None, typer.Option(help="The email's subject (a template).")] = None,
    body_file: Annotated[
        Path | None,
        typer.Option(
            "--body-file",
            help="The message template (for every channel without its own): fields "
            "first_name, name, staff, offer, practice.",
        ),
    ] = None,
    body_file_email: Annotated[
        Path | None, typer.Option("--body-file-email", help="The email's message template.")
    ] = None,
    body_file_sms: Annotated[
        Path | None, typer.Option("--body-file-sms", help="The text message's template.")
    ] = None,
    body_file_letter: Annotated[
        Path | None, typer.Option("--body-file-letter", help="The letter's or card's template.")
    ] = None,
    offer: Annotated[
        str | None, typer.Option(help="The offer line, e.g. '15% off until 31 March'.")
    ] = None,
    holdout_share: Annotated[
        float, typer.Option(help="Share held out to compare with (0.1 is 10%).")
    ] = 0.10,
    holdout_min: Annotated[
        int, typer.Option(help="At least this many held out (none below twice this).")
    ] = 10,
    return_days: Annotated[
        int, typer.Option(help="Days after the first wave a return counts.")
    ] = 60,
    one_per_address: Annotated[
        bool | None,
        typer.Option(
            "--one-per-address/--every-client", help="One message per address (household)."
        ),
    ] = None,
    welcome_days: Annotated[
        int, typer.Option(help="welcome: clients whose first visit is within this many days.")
    ] = 30,
    status: Annotated[list[str] | None, typer.Option(help="Audience: status (repeat).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Audience: tagged with (repeat).")] = None,
    owner: Annotated[list[str] | None, typer.Option(help="Audience: looked after by.")] = None,
    signal: Annotated[
        list[str] | None, typer.Option(help="Audience: signal, e.g. lapsing (gone quiet).")
    ] = None,
    not_seen_since: Annotated[
        str | None, typer.Option(help="Audience: no visit on or after this day.")
    ] = None,
    first_visit_after: Annotated[
        str | None, typer.Option(help="Audience: first visit after this day (new clients).")
    ] = None,
    saved: Annotated[str | None, typer.Option(help="Audience: a saved filter's name.")] = None,
    db: DbOption = None,
) -> None:
    """Create a campaign (nothing is sent until `keepwarm campaign send`). Audience options
    replace the starting point's audience.

    Example: keepwarm campaign create --from win-back valentines --wave 2027-01-31
    --wave 2027-02-07 --wave 2027-02-14 --offer "15% off your next session until 31 March"

    Also: keepwarm campaign create --from holiday-cards cards-2026 --wave 2026-12-01
    --channel letter --channel email

    And: keepwarm campaign create --from welcome welcome --wave 2026-12-01 --wave 2026-12-15

    Several channels, in order of preference (the starting point's are win-back: email, else
    letter; holiday-cards: letter; welcome: email, else letter): keepwarm campaign create
    autumn --channel email --channel letter --subject "Hello {{ first_name }}"
    --body-file-email email.txt --body-file-letter letter.txt --tag vip --wave 2027-10-01
    """
    with user_errors(), engine_for(db) as (_, engine):
        day = local_today(get_policy(engine), now())
        values: dict[str, Any] = {
            "kind": "custom",
            "filters": None,
            "messages": [svc.Message("email", None, "")],
            "offer": None,
            "one_per_address": False,
        }
        if start is not None:
            values.update(svc.from_starting_point(start, today=day, welcome_days=welcome_days))
        audience = filters_from_options(
            status=status,
            tag=tag,
            owner=owner,
            signal=signal,
            not_seen_since=not_seen_since,
            first_visit_after=first_visit_after,
            saved=saved,
        )
        if not audience.empty or values["filters"] is None:
            values["filters"] = audience
        if offer is not None:
            values["offer"] = offer
        if one_per_address is not None:
            values["one_per_address"] = one_per_address
        files = {"email": body_file_email, "sms": body_file_sms, "letter": body_file_letter}
        values["messages"] = _messages(
            values["messages"],
            svc.STARTING_POINTS.get(start or ""),
            channel,
            subject,
            {c: _read(f, f"--body-file-{c}") for c, f in files.items() if f is not None},
            _read(body_file, "--body-file") if body_file is not None else None,
        )
        if not wave:
            hint = svc.STARTING_POINTS[start].waves_hint if start in svc.STARTING_POINTS else ""
            raise InvalidInput(
                "--wave: give each wave's date (repeat --wave)" + (f"; {hint}" if hint else "")
            )
        made = svc.create(
            engine,
            name,
            waves=_dates(wave),
            holdout_share=holdout_share,
            holdout_min=holdout_min,
            return_days=return_days,
            by=None,
            now=now(),
            **values,
        )
    console.print(
        f"Created {made.name!r} ({made.kind}, {made.channels_text}): {made.audience_text}; waves "
        f"{', '.join(str(w.on) for w in made.waves)}. Next: keepwarm campaign preview "
        f"{made.name}",
        markup=False,
    )


@campaign_app.command("list")
def list_(output: FormatOption = "text", db: DbOption = None) -> None:
    """Every campaign with its status (draft, waves sent, done).

    Example: keepwarm campaign list --format json
    """
    as_json = _format(output)
    with user_errors(), engine_for(db) as (_, engine):
        found = svc.campaigns(engine)
    if as_json:
        console.print_json(json.dumps([c.as_json() for c in found]))
        return
    if not found:
        console.print("No campaigns yet: keepwarm campaign create --from win-back NAME --wave ...")
        return
    table = Table("Name", "Kind", "Channel", "Status", "Waves", "Treated", "Held out")
    for c in found:
        waves = ", ".join(str(w.on) for w in c.waves)
        table.add_row(
            c.name, c.kind, c.channels_text, c.status, waves, str(c.treated), str(c.held_out)
        )
    console.print(table)


@campaign_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The campaign's name.")],
    output: FormatOption = "text",
    db: DbOption = None,
) -> None:
    """A campaign: audience, message, waves, members treated and held out, sends and skips.

    Example: keepwarm campaign show valentines --format json
    """
    as_json = _format(output)
    with user_errors(), engine_for(db) as (_, engine):
        found = svc.detail(engine, name)
    if as_json:
        console.print_json(json.dumps(found.as_json()))
        return
    c = found.campaign
    lines = [
        f"{c.name} ({c.kind}, {c.channels_text}): {c.status}",
        f"Audience: {c.audience_text}",
        f"Holdout: {c.holdout_share:.0%} (at least {c.holdout_min}); return window "
        f"{c.return_days} days",
        "Waves: " + ", ".join(f"{w.on} ({'sent' if w.sent_at else 'waiting'})" for w in c.waves),
        f"Members: {c.treated} treated, {c.held_out} held out",
    ]
    for m in c.messages:
        if len(c.messages) > 1:
            lines += ["", f"By {m.channel}:"]
        if m.subject:
            lines.append(f"Subject: {m.subject}")
        lines += ["", m.body, ""]
    skipped: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    for s in found.sends:
        if s.skipped:
            skipped[s.skipped] = skipped.get(s.skipped, 0) + 1
        elif s.channel:
            by_channel[s.channel] = by_channel.get(s.channel, 0) + 1
    sent = sum(1 for s in found.sends if not s.skipped)
    ways = ", ".join(f"{n} by {ch}" for ch, n in by_channel.items())
    lines.append(f"Sent: {sent}" + (f" ({ways})" if len(c.messages) > 1 and ways else ""))
    lines += [f"Skipped: {n} ({why})" for why, n in sorted(skipped.items())]
    console.print("\n".join(lines), markup=False)


@campaign_app.command("preview")
def preview(
    name: Annotated[str, typer.Argument(help="The campaign's name.")],
    sample: Annotated[int, typer.Option(help="How many clients to show.")] = 10,
    output: FormatOption = "text",
    db: DbOption = None,
) -> None:
    """Who the campaign would reach today, who is left out and why, how many are held out,
    and the message for one of them. Nothing is sent.

    Example: keepwarm campaign preview valentines --format json
    """
    as_json = _format(output)
    with user_errors(), engine_for(db) as (settings, engine):
        day = local_today(get_policy(engine), now())
        found = svc.preview(engine, settings, name, today=day, sample=sample)
    if as_json:
        console.print_json(json.dumps(found.as_json()))
        return
    a = found.audience
    lines = [
        f"{name}: {a.count:,} client(s) today ({a.description}), "
        f"{found.holdout} held out, {a.count - found.holdout} to receive it.",
    ]
    if found.holdout_note:
        lines.append(found.holdout_note)
    if found.shared:
        shared = ", ".join(f"{n} {why}" for why, n in sorted(found.shared.items()))
        lines.append(f"{found.pieces} to send: the others share one ({shared}).")
    if len(found.campaign.channels) > 1:
        ways = ", ".join(f"{n} by {c}" for c, n in found.by_channel.items()) or "none"
        lines.append(f"By channel (the first each client can receive): {ways}.")
    lines += [f"  {r.ref}  {r.name}" for r in a.sample]
    if a.excluded_count:
        lines.append(f"Left out: {a.excluded_count}")
        lines += [f"  {g.count} — {g.reason}" for g in a.excluded]
    for m in found.messages:
        if len(found.messages) > 1:
            lines += ["", f"By {m.channel}:"]
        lines += ["", f"Subject: {m.subject}" if m.subject else "", m.body]
    console.print("\n".join(lines), markup=False)


@campaign_app.command("send")
def send(
    name: Annotated[str, typer.Argument(help="The campaign's name.")],
    early: Annotated[
        bool, typer.Option("--now", help="Send the next wave now, even before its date.")
    ] = False,
    output: FormatOption = "text",
    db: DbOption = None,
) -> None:
    """Send the campaign's next wave when it is due (one wave per run): its messages go to the
    outbox, letters to the letters to print; held-out clients get nothing. Sending again adds
    nothing.

    Example: keepwarm campaign send valentines
    """
    as_json = _format(output)
    reports: list[svc.WaveReport] = []
    message = ""
    with user_errors(), engine_for(db) as (settings, engine):
        day = local_today(get_policy(engine), now())
        # One wave per run: two overdue waves on one day would reach people twice at once.
        wave = svc.get(engine, name).next_wave
        if wave is not None and (wave.on <= day or early):
            reports.append(
                svc.send_wave(engine, settings, name, day=day, now=now(), by=None, early=early)
            )
        elif wave is None:
            message = f"{name}: every wave has gone."
        else:
            message = f"{name}: nothing due; the next wave is on {wave.on} (--now sends it now)."
    if as_json:
        console.print_json(json.dumps([r.as_json() for r in reports]))
        return
    if not reports:
        console.print(message, markup=False)
    for r in reports:
        console.print(r.summary(), markup=False)
    if any(r.queued for r in reports):
        console.print("The outbox delivers them: keepwarm outbox send", markup=False)


# `keepwarm campaign results` lives with the attribution code (keepwarm.cli.campaign_results).
from keepwarm.cli.campaign_results import results_command  # noqa: E402

campaign_app.command("results")(results_command)
