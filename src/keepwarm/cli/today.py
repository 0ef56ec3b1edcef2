"""`keepwarm run-daily` and `keepwarm today`: build the day's plan, and show the list."""

from __future__ import annotations

import csv
import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from keepwarm.cli.common import (
    DbOption,
    console,
    engine_for,
    fail,
    now,
    parse_date_option,
    user_errors,
)
from keepwarm.messaging.calendar import CalendarItem, calendar_feed
from keepwarm.services.people import list_staff
from keepwarm.services.plans import (
    ListedAction,
    complete_action,
    dismiss_action,
    local_today,
    run_daily,
    snooze_action,
    todays_list,
    week_quota,
)
from keepwarm.services.policy import get_policy

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="The day to plan (YYYY-MM-DD); default today in the policy's time zone."
    ),
]


def run_daily_command(as_of: AsOf = None, db: DbOption = None) -> None:
    """Learn rhythms, then build and store the day's plan (once per date: running it again
    changes nothing).

    Example: keepwarm run-daily --as-of 2026-11-24
    """
    with user_errors(), engine_for(db) as (settings, engine):
        day = parse_date_option(as_of, "--as-of") or local_today(get_policy(engine), now())
        run = run_daily(engine, settings, day=day, now=now())
    if run.already_planned:
        console.print(f"The plan for {day} is already made; nothing changed.", markup=False)
    else:
        console.print(
            f"Planned {day}: {run.actions} actions from {run.clients_with_signals} clients "
            "with reasons to contact.",
            markup=False,
        )


def today(
    as_of: AsOf = None,
    staff: Annotated[str | None, typer.Option(help="Only this member of staff's list.")] = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    db: DbOption = None,
) -> None:
    """Whom to contact today, why, and what to say: staff by staff (the day's plan is made
    first if it is not yet).

    Example: keepwarm today --staff "Dana Reyes" --format json
    """
    if output not in ("table", "json", "csv"):
        raise typer.BadParameter("choose table, json or csv", param_hint="--format")
    with user_errors(), engine_for(db) as (settings, engine):
        day = parse_date_option(as_of, "--as-of") or local_today(get_policy(engine), now())
        run_daily(engine, settings, day=day, now=now())
        listed = todays_list(engine, staff)
    if output == "json":
        console.print_json(
            json.dumps({"as_of": day.isoformat(), "actions": [_json(a) for a in listed]})
        )
    elif output == "csv":
        _csv(listed)
    else:
        print_list(listed, day)


def _json(a: ListedAction) -> dict[str, object]:
    return {
        "id": a.id,
        "client": {"id": a.client_id, "name": a.client_name},
        "staff": a.staff,
        "rank": a.rank,
        "priority": round(a.priority, 3),
        "signals": [{"code": s["code"], "explanation": s["explanation"]} for s in a.signals],
        "channel": a.channel,
        "why": a.why,
        "draft": a.draft,
    }


def _csv(listed: list[ListedAction]) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(
        [
            "id",
            "staff",
            "rank",
            "client_id",
            "client_name",
            "channel",
            "signals",
            "reasons",
            "draft",
        ]
    )
    for a in listed:
        writer.writerow(
            [
                a.id,
                a.staff or "",
                a.rank,
                a.client_id,
                a.client_name,
                a.channel,
                ";".join(s["code"] for s in a.signals),
                " | ".join(s["explanation"] for s in a.signals),
                a.draft,
            ]
        )


def print_list(listed: list[ListedAction], day: object) -> None:
    if not listed:
        console.print(f"Nobody to contact on {day}.", markup=False)
        return
    current = object()
    for a in listed:
        if a.staff != current:
            current = a.staff
            mine = sum(1 for b in listed if b.staff == a.staff)
            console.print(f"\n[bold]{a.staff or 'Unassigned'}[/]: {mine} to contact ({day})")
        how = {"call": a.phone, "email": a.email}.get(a.channel) or ""
        console.print(
            f"{a.rank}. {a.client_name} ({a.client_id}) - {a.channel} {how}".rstrip()
            + f"   [action {a.id}]",
            markup=False,
        )
        for s in a.signals:
            console.print(f"   {s['code']}: {s['explanation']}", markup=False)
        console.print("   " + a.draft.replace("\n", "\n   "), style="dim", markup=False)


ActionId = Annotated[int, typer.Argument(help="The action's number, as `keepwarm today` shows.")]


def done(
    action_id: ActionId,
    channel: Annotated[
        str | None, typer.Option(help="How you made contact (default: the suggested channel).")
    ] = None,
    outcome: Annotated[str | None, typer.Option(help="e.g. reached, left_message, booked.")] = None,
    note: Annotated[str | None, typer.Option(help="What was said or done.")] = None,
    db: DbOption = None,
) -> None:
    """Mark an action done: records the touch and takes it off the list.

    Example: keepwarm done 12 --channel call --outcome reached --note "Booked for Tuesday"
    """
    with user_errors(), engine_for(db) as (_, engine):
        day = local_today(get_policy(engine), now())
        touch = complete_action(
            engine, action_id, channel=channel, outcome=outcome, note=note, day=day, now=now()
        )
    console.print(
        f"Done: {touch.channel} with client {touch.client_id} recorded on {touch.date}.",
        markup=False,
    )


def snooze(
    action_id: ActionId,
    until: Annotated[str, typer.Option(help="The day it should come back (YYYY-MM-DD).")],
    db: DbOption = None,
) -> None:
    """Put an action away until a later day.

    Example: keepwarm snooze 12 --until 2026-12-01
    """
    back = parse_date_option(until, "--until")
    assert back is not None
    with user_errors(), engine_for(db) as (_, engine):
        day = local_today(get_policy(engine), now())
        snooze_action(engine, action_id, until=back, today=day, now=now())
    console.print(f"Snoozed action {action_id} until {back}.", markup=False)


def dismiss(
    action_id: ActionId,
    reason: Annotated[str, typer.Option(help="Why it is not needed (kept with the action).")],
    db: DbOption = None,
) -> None:
    """Drop an action; it does not come back for the same reasons until they change.

    Example: keepwarm dismiss 12 --reason "Moved away"
    """
    with user_errors(), engine_for(db) as (_, engine):
        dismiss_action(engine, action_id, reason=reason, now=now())
    console.print(f"Dismissed action {action_id}.", markup=False)


def quota(
    week: Annotated[
        str | None, typer.Option(help="Any day of the week to show (default: this week).")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """Who has met their weekly quota: personal touches this week per member of staff.

    Example: keepwarm quota --week 2026-11-16
    """
    if output not in ("table", "json"):
        raise typer.BadParameter("choose table or json", param_hint="--format")
    with user_errors(), engine_for(db) as (_, engine):
        day = parse_date_option(week, "--week") or local_today(get_policy(engine), now())
        monday, lines = week_quota(engine, day)
    if output == "json":
        rows = [
            {"staff": x.staff, "weekly_quota": x.weekly_quota, "done": x.done, "met": x.met}
            for x in lines
        ]
        console.print_json(json.dumps({"week_of": monday.isoformat(), "staff": rows}))
        return
    table = Table("Staff", "Personal touches", "Weekly quota", "", title=f"Week of {monday}")
    for x in lines:
        table.add_row(x.staff, str(x.done), str(x.weekly_quota), "met" if x.met else "")
    console.print(table)


def calendar(
    staff: Annotated[str, typer.Argument(help="The member of staff whose list to export.")],
    as_of: AsOf = None,
    db: DbOption = None,
) -> None:
    """Today's list for one member of staff as an iCalendar feed (.ics) on standard output.

    Example: keepwarm calendar "Dana Reyes" > dana.ics
    """
    with user_errors(), engine_for(db) as (settings, engine):
        day = parse_date_option(as_of, "--as-of") or local_today(get_policy(engine), now())
        if staff not in {m.name for m in list_staff(engine)}:
            raise fail(f"no staff member called {staff!r} (see `keepwarm staff list`)")
        run_daily(engine, settings, day=day, now=now())
        listed = todays_list(engine, staff)
    items = [
        CalendarItem(
            a.id,
            day,
            f"{a.channel.capitalize()} {a.client_name}",
            "\n".join(s["explanation"] for s in a.signals) + "\n\n" + a.draft,
        )
        for a in listed
    ]
    sys.stdout.buffer.write(calendar_feed(staff, items, now=now()))
    sys.stdout.flush()
