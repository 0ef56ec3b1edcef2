"""Commands about clients: find them, show one, record a touch."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import typer
from rich.table import Table

from keepwarm import explain
from keepwarm.cli.common import (
    DbOption,
    console,
    engine_for,
    now,
    parse_date_option,
    today,
    user_errors,
)
from keepwarm.domain import values
from keepwarm.domain.audience import Filters
from keepwarm.domain.fields import CLIENT_FIELDS, DATE_KINDS, ClientField, FieldKind
from keepwarm.domain.model import ClientCard, Rhythm
from keepwarm.ingest.values import format_amount
from keepwarm.services import audiences, contact_flags, rhythms, touches
from keepwarm.services import clients as client_service
from keepwarm.services.policy import get_policy


def clients(
    text: Annotated[
        str | None,
        typer.Argument(
            help="Words found in a name, email or id (any order, accents ignored), or a phone."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.", min=1)] = 50,
    flagged: Annotated[
        bool,
        typer.Option(
            "--flagged",
            help="Only clients whose phone or email an import kept as written (not usable: "
            "555-0407 without its area code), with what was written and why.",
        ),
    ] = False,
    saved: Annotated[
        str | None,
        typer.Option(
            "--filter", help="Only the clients of this saved filter (see `keepwarm segment list`)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """List clients, or search them by name, id, email or phone (as the Clients page does:
    every word inside the name, email or id, in any order, accents and case ignored; or a
    phone number written any way).

    Example: keepwarm clients smith
    """
    if flagged:
        _flagged(text, limit, db)
        return
    if saved:
        _filtered(saved, text, limit, db)
        return
    with user_errors(), engine_for(db) as (_, engine):
        items, total = client_service.find_clients(engine, text, limit=limit)
    if not items:
        console.print(
            "No clients match." if text else "No clients yet: keepwarm import clients FILE"
        )
        return
    table = Table("Id", "Name", "Email", "Phone", "Owner", "Status", "Last activity", "Activities")
    for item in items:
        c = item.client
        table.add_row(
            c.id,
            c.name,
            c.email or "",
            c.phone or "",
            c.owner or "",
            c.status.value,
            item.last_activity.isoformat() if item.last_activity else "",
            str(item.activity_count),
        )
    console.print(table)
    if total > len(items):
        console.print(f"Showing {len(items)} of {total:,}; narrow the search or use --limit.")


def _filtered(saved: str, text: str | None, limit: int, db: str | None) -> None:
    if text:
        raise typer.BadParameter("--filter lists the saved filter's clients: leave out the search")
    with user_errors(), engine_for(db) as (_, engine):
        found = audiences.matching_clients(engine, Filters(saved=saved), today=today())
    table = Table("Id", "Name", "Email", "Phone", "Owner")
    for r in found[:limit]:
        table.add_row(r.ref, r.name, r.email or "", r.phone or "", r.owner or "")
    console.print(table)
    console.print(f"{len(found):,} clients match {saved!r}.", markup=False)


def _flagged(text: str | None, limit: int, db: str | None) -> None:
    if text:
        raise typer.BadParameter("--flagged lists every flagged client: leave out the search")
    with user_errors(), engine_for(db) as (_, engine):
        found = contact_flags.flagged_clients(engine, limit=limit + 1)
    if not found:
        console.print("No client has a phone or email kept as written.")
        return
    # one line per value, never wrapped (a table cut at a narrow terminal splits what was written)
    console.print("Phones and emails to correct:")
    for c in found[:limit]:
        for flag in c.flags:
            console.print(f"  {c.id}  {c.name}: {contact_flags.describe(flag)}", markup=False)
    if len(found) > limit:
        console.print(f"Showing the first {limit}; use --limit for more.")


def client(
    client_id: Annotated[str, typer.Argument(help="The client's id (your own id for them).")],
    output: Annotated[
        str, typer.Option("--format", help="text or json.", case_sensitive=False)
    ] = "text",
    db: DbOption = None,
) -> None:
    """Show one client's card: contact details, tags, owner, history and touches.

    Example: keepwarm client C-1042 --format json
    """
    if output not in ("text", "json"):
        raise typer.BadParameter("choose text or json", param_hint="--format")
    with user_errors(), engine_for(db) as (_, engine):
        card = client_service.client_card(engine, client_id)
        learned = rhythms.client_rhythm(engine, client_id)
        kept = contact_flags.client_flags(engine, client_id)
        symbol = get_policy(engine).currency_symbol
    if output == "json":
        as_written = [dataclasses.asdict(f) for f in kept]
        console.print_json(
            json.dumps(
                {
                    **card_json(card),
                    "rhythm": rhythm_json(learned, symbol),
                    "kept_as_written": as_written,
                }
            )
        )
        return
    _print_card(card)
    for flag in kept:
        console.print(f"  {contact_flags.describe(flag)}", markup=False)
    _print_rhythm(learned, symbol)


def card_json(card: ClientCard) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    client_data = {k: plain(v) for k, v in dataclasses.asdict(card.client).items()}
    return {
        "client": client_data,
        "activity_count": card.activity_count,
        "total_amount": format_amount(card.total_cents),
        "first_activity": plain(card.first_activity),
        "last_activity": plain(card.last_activity),
        "activities": [
            {k: plain(v) for k, v in dataclasses.asdict(a).items()} for a in card.activities
        ],
        "touches": [{k: plain(v) for k, v in dataclasses.asdict(t).items()} for t in card.touches],
    }


def rhythm_json(r: Rhythm | None, symbol: str) -> dict[str, Any] | None:
    """The client's rhythm in the documented JSON shape (money as decimal strings; `symbol`:
    the policy's currency symbol, for the explanation)."""
    if r is None:
        return None
    direction = {1: "up", -1: "down"}.get(r.trend_direction, "steady")
    return {
        "as_of": r.as_of.isoformat(),
        "activities": r.activities,
        "last_activity": r.last_activity.isoformat() if r.last_activity else None,
        "days_since_last": r.days_since_last,
        "usual_gap_days": None if r.usual_gap_days is None else round(r.usual_gap_days, 1),
        "silence_ratio": None if r.silence_ratio is None else round(r.silence_ratio, 2),
        "p_alive": round(r.p_alive, 4),
        "expected_activities_30d": round(r.expected_30, 3),
        "expected_activities_90d": round(r.expected_90, 3),
        "expected_activities_365d": round(r.expected_365, 3),
        "expected_spend": format_amount(r.expected_spend_cents),
        "monthly_value": format_amount(r.monthly_value_cents),
        "at_risk_per_month": format_amount(values.at_risk_cents(r)),
        "yearly_value": format_amount(values.yearly_value_cents(r)),
        "clv": format_amount(r.clv_cents),  # the next 12 months' expected value, discounted
        "lapse_risk": None if r.lapse_risk is None else round(r.lapse_risk, 4),
        "attention_after": r.attention_after.isoformat() if r.attention_after else None,
        "trend": {
            "direction": direction,
            "usage_change": r.usage_change,
            "visits_change": r.visits_change,
            "spend_per_visit_change": r.spend_change,
            "p_value": r.trend_p_value,
        },
        "explanation": explain.rhythm_words(r, symbol),
    }


def _print_rhythm(r: Rhythm | None, symbol: str) -> None:
    if r is None:
        console.print("  Rhythm: after the first daily run (`keepwarm run-daily`).")
        return
    console.print(f"  Rhythm (as of {r.as_of}): {explain.rhythm_words(r, symbol)}", markup=False)
    if r.activities:
        quiet = (
            f"; quiet for longer than usual from {r.attention_after}" if r.attention_after else ""
        )
        console.print(
            f"  Expected: {r.expected_90:.1f} visits in the next 90 days, "
            f"{format_amount(r.expected_spend_cents)} a visit, worth "
            f"{format_amount(r.clv_cents)} over the next year{quiet}.",
            markup=False,
        )


# Shown in the card's first line (or not at all: the name says them).
_IN_HEADING = ("id", "name", "first_name", "last_name", "status")


def _card_text(f: ClientField, value: Any) -> str:
    """A field's value on the card ("" for none, which is left out)."""
    if f.kind is FieldKind.TAGS:
        return ", ".join(value)
    if f.kind is FieldKind.FLAG:
        return "YES" if value else ""
    if f.kind in DATE_KINDS:
        return value.isoformat() if value else ""
    return str(value) if value else ""


def _print_card(card: ClientCard) -> None:
    c = card.client
    console.print(f"[bold]{c.name}[/]  (id {c.id}, {c.status.value})")
    for f in CLIENT_FIELDS:
        shown = _card_text(f, getattr(c, f.name))
        if shown and f.name not in _IN_HEADING:
            console.print(f"  {f.label}: {shown}", markup=False)
    console.print(
        f"  Activities: {card.activity_count:,}, total {format_amount(card.total_cents)}"
        + (f", last on {card.last_activity}" if card.last_activity else ""),
        markup=False,
    )
    if card.activities:
        table = Table("Date", "Kind", "Amount", "Quantity", "Note", title="Recent activity")
        for a in card.activities:
            table.add_row(
                a.date.isoformat(),
                a.kind or "",
                format_amount(a.amount_cents) if a.amount_cents is not None else "",
                "" if a.quantity is None else f"{a.quantity:g}",
                a.note or "",
            )
        console.print(table)
    if card.touches:
        table = Table("Date", "Channel", "Staff", "Outcome", "Note", title="Touches")
        for t in card.touches:
            table.add_row(
                t.date.isoformat(), t.channel, t.staff or "", t.outcome or "", t.note or ""
            )
        console.print(table)
    else:
        console.print("  No personal touches recorded yet.")


def touch(
    client_id: Annotated[str, typer.Argument(help="The client's id.")],
    channel: Annotated[
        str,
        typer.Option(
            help="call, card, email, sms, visit, gift, meeting or note (personal contacts); "
            "newsletter, invoice, receipt or mailing are recorded but are not personal."
        ),
    ] = "call",
    note: Annotated[str | None, typer.Option(help="What was said or done.")] = None,
    outcome: Annotated[str | None, typer.Option(help="e.g. reached, left_message, booked.")] = None,
    staff: Annotated[str | None, typer.Option(help="Who made the contact.")] = None,
    date: Annotated[
        str | None, typer.Option(help="When (YYYY-MM-DD, not after today); default today.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Record a personal contact with a client.

    Example: keepwarm touch C-1042 --channel call --staff "Dana Reyes" --note "Asked about her knee"
    """
    current = today()
    when = parse_date_option(date, "--date") or current
    with user_errors(), engine_for(db) as (_, engine):
        recorded = touches.record_touch(
            engine,
            client_id,
            channel=channel,
            date=when,
            today=current,
            staff=staff,
            note=note,
            outcome=outcome,
            now=now(),
        )
    console.print(
        f"Recorded a {recorded.channel} with client {client_id} on {recorded.date}.", markup=False
    )
