"""`keepwarm households suggest | accept | reject | list` and `keepwarm household CLIENT_ID
NAME`: families and companies, written to once."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from keepwarm.cli.common import DbOption, console, engine_for, now, user_errors
from keepwarm.services import households as svc

households_app = typer.Typer(
    help="Households (families, companies): suggestions to accept or reject, and the list.\n\n"
    "Example: keepwarm households suggest",
    no_args_is_help=True,
)


def _members(view_members: list[svc.Member]) -> str:
    return ", ".join(f"{m.name} ({m.external_id})" for m in view_members)


@households_app.command("suggest")
def suggest(
    format_: Annotated[str, typer.Option("--format", help="text (a table) or json.")] = "text",
    db: DbOption = None,
) -> None:
    """Households keepwarm suggests: the same address and last name, or the same landline.

    Example: keepwarm households suggest --format json
    """
    with user_errors():
        if format_ not in ("text", "json"):
            raise typer.BadParameter("text or json", param_hint="--format")
        with engine_for(db) as (_, engine):
            found = svc.suggestions(engine)
    if format_ == "json":
        typer.echo(json.dumps([s.as_json() for s in found], ensure_ascii=False, indent=2))
        return
    if not found:
        console.print("No household suggestions.")
        return
    table = Table("Key", "Proposed name", "Members", "Why")
    for s in found:
        name = s.name + (" (existing)" if s.household else "")
        table.add_row(s.key, name, _members(s.members), s.reason)
    console.print(table)
    console.print(
        "Accept one: keepwarm households accept KEY [--name NAME]; "
        "reject one: keepwarm households reject KEY",
        markup=False,
    )


@households_app.command("accept")
def accept(
    key: Annotated[str, typer.Argument(help="The suggestion's key, as `suggest` lists it.")],
    name: Annotated[
        str | None, typer.Option(help="The household's name (default: the proposed one).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Accept a suggested household: its members join it (made if new).

    Example: keepwarm households accept 12-15 --name 'The Morris family'
    """
    with user_errors(), engine_for(db) as (_, engine):
        view = svc.accept(engine, key, name=name, by=None, now=now())
    console.print(f"Household {view.household.name!r}: {_members(view.members)}.", markup=False)


@households_app.command("reject")
def reject(
    key: Annotated[str, typer.Argument(help="The suggestion's key, as `suggest` lists it.")],
    db: DbOption = None,
) -> None:
    """Reject a suggested household: it is never suggested again.

    Example: keepwarm households reject 12-15
    """
    with user_errors(), engine_for(db) as (_, engine):
        s = svc.reject(engine, key, by=None, now=now())
    console.print(f"Rejected: {_members(s.members)} are not one household.", markup=False)


@households_app.command("list")
def list_(
    format_: Annotated[str, typer.Option("--format", help="text (a table) or json.")] = "text",
    db: DbOption = None,
) -> None:
    """Every household with its members.

    Example: keepwarm households list
    """
    with user_errors():
        if format_ not in ("text", "json"):
            raise typer.BadParameter("text or json", param_hint="--format")
        with engine_for(db) as (_, engine):
            found = svc.households(engine)
    if format_ == "json":
        typer.echo(json.dumps([h.as_json() for h in found], ensure_ascii=False, indent=2))
        return
    if not found:
        console.print("No households yet: keepwarm households suggest")
        return
    table = Table("Household", "Addressed as", "Members")
    for h in found:
        table.add_row(h.household.name, h.addressee, _members(h.members))
    console.print(table)


def household(
    client_id: Annotated[str, typer.Argument(help="The client's id.")],
    name: Annotated[str | None, typer.Argument(help="The household's name (made if new).")] = None,
    none: Annotated[
        bool, typer.Option("--none", help="Take the client out of any household.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Put a client in a household (by name, made if new), or in none with --none.

    Example: keepwarm household C-1042 'The Morris family'
    """
    with user_errors():
        if (name is None) == (not none):
            raise typer.BadParameter("give a household NAME, or --none (not both)")
        with engine_for(db) as (_, engine):
            client_name, view = svc.set_household_of(
                engine, client_id, None if none else name, by=None, now=now()
            )
    if view is None:
        console.print(f"{client_name} is in no household.", markup=False)
    else:
        console.print(
            f"{client_name} is in {view.household.name!r}: {_members(view.members)}.",
            markup=False,
        )
