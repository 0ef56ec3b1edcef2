"""`keepwarm segment save | list | show | delete`: named filters of clients (audiences), the
same ones the Clients page offers and campaigns start from."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from keepwarm.cli.common import DbOption, console, engine_for, now, today, user_errors
from keepwarm.domain.audience import Filters
from keepwarm.services import audiences

segment_app = typer.Typer(
    help="Saved filters of clients (segments), for the Clients page and campaigns.\n\n"
    "Example: keepwarm segment save 'lapsed vip' --tag vip --signal lapsing",
    no_args_is_help=True,
)


def filters_from_options(
    *,
    status: list[str] | None = None,
    tag: list[str] | None = None,
    owner: list[str] | None = None,
    signal: list[str] | None = None,
    last_visit_before: str | None = None,
    last_visit_after: str | None = None,
    not_seen_since: str | None = None,
    first_visit_after: str | None = None,
    tier: list[str] | None = None,
    segment: list[str] | None = None,
    saved: str | None = None,
) -> Filters:
    """A `Filters` from command-line options, checked as a saved filter's JSON is."""
    data: dict[str, object] = {
        "statuses": status or [],
        "tags": tag or [],
        "owners": owner or [],
        "signals": signal or [],
        "last_visit_before": last_visit_before,
        "last_visit_after": last_visit_after,
        "not_seen_since": not_seen_since,
        "first_visit_after": first_visit_after,
        "value_tiers": tier or [],
        "segments": segment or [],
        "saved": saved,
    }
    return Filters.from_dict(data)


@segment_app.command("save")
def save(
    name: Annotated[str, typer.Argument(help="The filter's name, e.g. 'lapsed vip'.")],
    status: Annotated[
        list[str] | None, typer.Option(help="active, prospect or cancelled (repeat for any).")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Tagged with (repeat for any).")] = None,
    owner: Annotated[list[str] | None, typer.Option(help="Looked after by (repeat).")] = None,
    signal: Annotated[
        list[str] | None, typer.Option(help="What keepwarm says today, e.g. lapsing (gone quiet).")
    ] = None,
    last_visit_before: Annotated[
        str | None, typer.Option(help="Last visit before this day (YYYY-MM-DD).")
    ] = None,
    last_visit_after: Annotated[
        str | None, typer.Option(help="Last visit after this day (YYYY-MM-DD).")
    ] = None,
    not_seen_since: Annotated[
        str | None, typer.Option(help="No visit on or after this day, never-visited included.")
    ] = None,
    first_visit_after: Annotated[
        str | None, typer.Option(help="First visit after this day (new clients; YYYY-MM-DD).")
    ] = None,
    tier: Annotated[list[str] | None, typer.Option(help="Value tier: top, middle, rest.")] = None,
    segment: Annotated[
        list[str] | None, typer.Option(help="Segment, e.g. champions, at risk, lost.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Save the clients matching these filters under NAME (replacing a filter of that name).

    Example: keepwarm segment save 'quiet regulars' --signal lapsing --tier top
    """
    with user_errors(), engine_for(db) as (_, engine):
        filters = filters_from_options(
            status=status,
            tag=tag,
            owner=owner,
            signal=signal,
            last_visit_before=last_visit_before,
            last_visit_after=last_visit_after,
            not_seen_since=not_seen_since,
            first_visit_after=first_visit_after,
            tier=tier,
            segment=segment,
        )
        saved = audiences.save_filter(engine, name, filters, actor="command line", now=now())
        count = audiences.count(engine, saved.filters, today=today())
    console.print(
        f"Saved {saved.name!r}: {saved.filters.describe()} ({count:,} today).", markup=False
    )


@segment_app.command("list")
def list_(db: DbOption = None) -> None:
    """The saved filters, with what each means.

    Example: keepwarm segment list
    """
    with user_errors(), engine_for(db) as (_, engine):
        found = audiences.saved_filters(engine)
    if not found:
        console.print("No saved filters yet: keepwarm segment save NAME --tag vip")
        return
    table = Table("Name", "Clients", "Saved by")
    for f in found:
        table.add_row(f.name, f.filters.describe(), f.created_by)
    console.print(table)


@segment_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The saved filter's name.")],
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    db: DbOption = None,
) -> None:
    """One saved filter and how many clients it picks today.

    Example: keepwarm segment show 'lapsed vip' --format json
    """
    if output not in ("text", "json"):
        raise typer.BadParameter("choose text or json", param_hint="--format")
    with user_errors(), engine_for(db) as (_, engine):
        found = audiences.get_saved_filter(engine, name)
        count = audiences.count(engine, found.filters, today=today())
    if output == "json":
        console.print_json(json.dumps({**found.as_json(), "count": count}))
        return
    console.print(f"{found.name}: {found.filters.describe()}", markup=False)
    console.print(f"{count:,} clients today; saved by {found.created_by}.", markup=False)


@segment_app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="The saved filter's name.")],
    db: DbOption = None,
) -> None:
    """Delete a saved filter (campaigns keep their own copy of their audience).

    Example: keepwarm segment delete 'lapsed vip'
    """
    with user_errors(), engine_for(db) as (_, engine):
        audiences.delete_saved_filter(engine, name)
    console.print(f"Deleted {name!r}.", markup=False)
