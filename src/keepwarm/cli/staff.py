"""Commands about staff: add, edit (or set), deactivate, activate, list."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer
from rich.table import Table

from keepwarm.cli.common import (
    DbOption,
    console,
    engine_for,
    now,
    parse_date_option,
    user_errors,
)
from keepwarm.domain.quotas import allowance
from keepwarm.services import staff as staff_service
from keepwarm.services.policy import get_policy

staff_app = typer.Typer(
    help="The people who contact clients.\n\n"
    'Example: keepwarm staff add "Dana Reyes" --weekly-quota 2',
    no_args_is_help=True,
)


@staff_app.command("add")
def staff_add(
    name: Annotated[str, typer.Argument(help="The staff member's name, as used in files.")],
    email: Annotated[str | None, typer.Option(help="Their email address.")] = None,
    weekly_quota: Annotated[
        int | None,
        typer.Option(
            help="Clients they personally contact each week at least (default: the policy's).",
            min=0,
        ),
    ] = None,
    daily_capacity: Annotated[
        int | None,
        typer.Option(help="Actions they can take a day (default: the policy's).", min=0),
    ] = None,
    joined: Annotated[
        str | None,
        typer.Option(
            help="The day they joined (YYYY-MM-DD; default today): earlier weeks are not judged."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Add a member of staff.

    Example: keepwarm staff add "Dana Reyes" --email dana@example.com --weekly-quota 3
    """
    joined_on = parse_date_option(joined, "--joined")
    with user_errors(), engine_for(db) as (_, engine):
        member = staff_service.add_staff(
            engine,
            name,
            email=email,
            weekly_quota=weekly_quota,
            daily_capacity=daily_capacity,
            joined_on=joined_on,
            now=now(),
        )
        applies = allowance(member, get_policy(engine))
    console.print(f"Added {member.name}: {applies.describe()}.", markup=False)


def _own(raw: str | None, option: str, current: int | None) -> int | None:
    """A number, or "default" for the policy's default; unchanged when not given."""
    if raw is None:
        return current
    if raw.strip().lower() == "default":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise typer.BadParameter("a whole number, or 'default'", param_hint=option) from None
    if value < 0:
        raise typer.BadParameter("it cannot be negative", param_hint=option)
    return value


@staff_app.command("set")
def staff_set(
    name: Annotated[str, typer.Argument(help="The staff member's name.")],
    weekly_quota: Annotated[
        str | None, typer.Option(help="A number, or 'default' for the policy's.")
    ] = None,
    daily_capacity: Annotated[
        str | None, typer.Option(help="A number, or 'default' for the policy's.")
    ] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive")] = None,
    db: DbOption = None,
) -> None:
    """Change a member's own weekly quota or daily capacity (or go back to the policy's
    default), or make them inactive. Earlier weeks keep the quota of their time.

    Example: keepwarm staff set "Dana Reyes" --weekly-quota 3 --daily-capacity default
    """
    _change(name, db, weekly_quota=weekly_quota, daily_capacity=daily_capacity, active=active)


def _change(
    name: str,
    db: str | None,
    *,
    email: str | None = None,
    weekly_quota: str | None = None,
    daily_capacity: str | None = None,
    active: bool | None = None,
    rename: str | None = None,
) -> None:
    """Change what is given of the member called `name`; the rest stays as it is."""
    with user_errors(), engine_for(db) as (_, engine):
        m = staff_service.staff_named(engine, name)
        member = staff_service.update_staff(
            engine,
            m.id,
            email=m.email if email is None else email,
            weekly_quota=_own(weekly_quota, "--weekly-quota", m.weekly_quota),
            daily_capacity=_own(daily_capacity, "--daily-capacity", m.daily_capacity),
            active=m.active if active is None else active,
            now=now(),
            name=rename,
        )
        applies = allowance(member, get_policy(engine))
    renamed = f" (was {m.name})" if member.name != m.name else ""
    state = "" if member.active else "; inactive: no new actions from the next plan on"
    console.print(f"{member.name}{renamed}: {applies.describe()}{state}.", markup=False)


@staff_app.command("edit")
def staff_edit(
    name: Annotated[str, typer.Argument(help="The staff member's name, as it is now.")],
    email: Annotated[str | None, typer.Option(help="Their email address ('' removes it).")] = None,
    weekly_quota: Annotated[
        str | None, typer.Option(help="A number, or 'default' for the policy's.")
    ] = None,
    daily_capacity: Annotated[
        str | None, typer.Option(help="A number, or 'default' for the policy's.")
    ] = None,
    rename: Annotated[
        str | None,
        typer.Option(
            help="Their new name (their clients, touches, actions and sign-in follow them; "
            "files imported later must use the new name)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Change a member's email, own weekly quota or daily capacity, or name; what is not
    given stays as it is.

    Example: keepwarm staff edit "Dana Reyes" --rename "Dana Reyes-Ortiz" --weekly-quota 3
    """
    _change(
        name,
        db,
        email=email,
        weekly_quota=weekly_quota,
        daily_capacity=daily_capacity,
        rename=rename,
    )


@staff_app.command("deactivate")
def staff_deactivate(
    name: Annotated[str, typer.Argument(help="The staff member's name.")],
    db: DbOption = None,
) -> None:
    """Stop planning for a member (someone who left, or is away for long). From the next
    day's plan they get no actions: their clients' reasons are planned for the active
    members, as any action beyond a member's capacity is (to the member with room, or
    waiting). Their history, touches and past weeks stay.

    Example: keepwarm staff deactivate "Dana Reyes"
    """
    _change(name, db, active=False)


@staff_app.command("activate")
def staff_activate(
    name: Annotated[str, typer.Argument(help="The staff member's name.")],
    db: DbOption = None,
) -> None:
    """Plan for a member again, from the next day's plan on.

    Example: keepwarm staff activate "Dana Reyes"
    """
    _change(name, db, active=True)


@staff_app.command("list")
def staff_list(
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """List the staff with the weekly quota and daily capacity that apply to each, and where
    each comes from (their own, or the practice default).

    Example: keepwarm staff list --format json
    """
    if output not in ("table", "json"):
        raise typer.BadParameter("choose table or json", param_hint="--format")
    with user_errors(), engine_for(db) as (_, engine):
        members = staff_service.list_staff(engine)
        policy = get_policy(engine)
    rows = [
        {
            "name": m.name,
            "email": m.email,
            **dataclasses.asdict(allowance(m, policy)),
            "joined_on": m.joined_on.isoformat() if m.joined_on else None,
            "active": m.active,
        }
        for m in members
    ]
    if output == "json":
        console.print_json(json.dumps({"staff": rows}))
        return
    if not members:
        console.print("No staff yet. Add one with: keepwarm staff add NAME")
        return
    table = Table("Name", "Email", "Weekly quota", "Daily capacity", "Joined", "Active")
    for r in rows:
        table.add_row(
            r["name"],
            r["email"] or "",
            f"{r['weekly_quota']} ({r['quota_source']})",
            f"{r['daily_capacity']} ({r['capacity_source']})",
            r["joined_on"] or "",
            "yes" if r["active"] else "no",
        )
    console.print(table)
