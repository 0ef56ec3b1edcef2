"""`keepwarm run-daily` and `keepwarm today`: build the day's plan, and show the list."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Mapping
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
from keepwarm.services.actions import (
    complete_action,
    dismiss_action,
    feed,
    reopen,
    snooze_action,
    undo,
)
from keepwarm.services.daily_job import local_today, run_daily
from keepwarm.services.policy import get_policy
from keepwarm.services.reminders import FollowUp, check_follow_up, set_reminder
from keepwarm.services.staff import staff_named
from keepwarm.services.todays_list import (
    ListedAction,
    Listing,
    give_more,
    listing,
    move_waiting,
    todays_list,
    waiting_beyond,
    waiting_list,
    week_quota,
)
from keepwarm.services.touches import personal_channel, touch_date

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="The day to plan (YYYY-MM-DD); default today in the policy's time zone."
    ),
]


def run_daily_command(
    as_of: AsOf = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Read every activity afresh instead of bringing the stored copy up to date "
            "with what changed, and run the rules for every client, not only those who can "
            "have a reason beside their cadence (the plan is the same; it takes longer).",
        ),
    ] = False,
    refit: Annotated[
        bool,
        typer.Option(
            "--refit",
            help="Fit the population model today (by default it is refitted weekly, or when "
            "the activities or clients changed by 5%).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Learn rhythms, then build and store the day's plan (once per date: running it again
    changes nothing).

    Example: keepwarm run-daily --as-of 2026-11-24
    """
    with user_errors(), engine_for(db) as (settings, engine):
        day = parse_date_option(as_of, "--as-of") or local_today(get_policy(engine), now())
        run = run_daily(
            engine, settings, day=day, now=now(), rebuild=rebuild, refit=True if refit else None
        )
    if run.already_planned:
        console.print(f"The plan for {day} is already made; nothing changed.", markup=False)
    else:
        console.print(
            f"Planned {day}: {run.actions} actions from {run.clients_with_signals} clients "
            "with reasons to contact.",
            markup=False,
        )
    for note in run.notes:
        console.print(f"Not done: {note}", markup=False)


def today(
    as_of: AsOf = None,
    staff: Annotated[str | None, typer.Option(help="Only this member of staff's list.")] = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    more: Annotated[
        bool,
        typer.Option(
            "--more",
            help="With --staff, once their list is done and the week's quota is not met: "
            "bring the next best clients from their queue onto it.",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Whom to contact today, why, and what to say: staff by staff. Today's plan is made
    first if it is not yet; looking at another day (--as-of) changes nothing.

    Example: keepwarm today --staff "Dana Reyes" --format json
    Example: keepwarm today --more --staff "Dana Reyes"
    """
    if output not in ("table", "json", "csv"):
        raise typer.BadParameter("choose table, json or csv", param_hint="--format")
    if more and (staff is None or as_of is not None):
        raise typer.BadParameter(
            "--more needs --staff (whose list) and no --as-of", param_hint="--more"
        )
    with user_errors(), engine_for(db) as (settings, engine):
        current = local_today(get_policy(engine), now())
        day = parse_date_option(as_of, "--as-of") or current
        if staff is not None:
            staff_named(engine, staff)  # an unknown name is an error, not an empty list
        if day == current:
            run_daily(engine, settings, day=day, now=now())
        if more and staff is not None:
            result = give_more(engine, staff_name=staff, by=None, now=now())
            console.print(result.message, markup=False)
        shown = listing(engine, day, staff)
    if output == "json":
        console.print_json(json.dumps(_json_listing(shown)))
    elif output == "csv":
        _csv(shown.actions)
    else:
        print_listing(shown)


def _json_listing(shown: Listing) -> dict[str, object]:
    return {
        "as_of": shown.day.isoformat(),
        "planned": shown.planned,
        "latest_plan": shown.latest.isoformat() if shown.latest else None,
        "actions": [_json(a) for a in shown.actions],
        "waiting": shown.waiting,
    }


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
        "day": a.day.isoformat(),
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


def print_listing(shown: Listing) -> None:
    if not shown.planned:
        later = f" (the latest plan is for {shown.latest})" if shown.latest else ""
        console.print(
            f"The plan for {shown.day} is not made{later}: `keepwarm run-daily --as-of "
            f"{shown.day}` makes it. The open list as it stands:",
            markup=False,
        )
    print_list(shown.actions, shown.day, shown.waiting)


def print_list(
    listed: list[ListedAction], day: dt.date, waiting: Mapping[str, int] | None = None
) -> None:
    waiting = waiting or {}
    if not listed:
        console.print(f"Nobody to contact on {day}.", markup=False)
    current: object = object()
    for a in listed:
        if a.staff != current:
            current = a.staff
            mine = [b for b in listed if b.staff == a.staff]
            days = sorted({b.day for b in mine})
            planned = ", ".join(f"{d:%a} {d}" for d in days)
            queue = waiting.get(a.staff or "Unassigned", 0)
            more = f"; {queue} waiting for a place" if queue else ""
            console.print(
                f"\n[bold]{a.staff or 'Unassigned'}[/]: {len(mine)} to contact "
                f"(planned {planned}){more}"
            )
        how = {"call": a.phone, "email": a.email}.get(a.channel) or ""
        since = f" (from {a.day})" if a.day != day else ""
        console.print(
            f"{a.rank}. {a.client_name} ({a.client_id}) - {a.channel} {how}".rstrip()
            + f"{since}   [action {a.id}]",
            markup=False,
        )
        for s in a.signals:
            console.print(f"   {s['code']}: {s['explanation']}", markup=False)
        email = a.drafts.get("email") if a.channel == "email" else None
        if email is not None:
            console.print(f"   Subject: {email.subject}", style="dim", markup=False)
        console.print("   " + a.draft.replace("\n", "\n   "), style="dim", markup=False)
    listed_staff = {a.staff or "Unassigned" for a in listed}
    for name, count in sorted(waiting.items()):
        if name not in listed_staff:
            console.print(f"\n{name}: nothing on the list; {count} waiting for a place.")


ActionId = Annotated[int, typer.Argument(help="The action's number, as `keepwarm today` shows.")]


def done(
    action_id: ActionId,
    channel: Annotated[
        str | None,
        typer.Option(
            help="How you made contact, a personal channel: call, card, email, sms, visit, "
            "gift, meeting or note (default: the suggested channel)."
        ),
    ] = None,
    outcome: Annotated[str | None, typer.Option(help="e.g. reached, left_message, booked.")] = None,
    note: Annotated[str | None, typer.Option(help="What was said or done.")] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="The day of the contact (default: today).")
    ] = None,
    follow_up_on: Annotated[
        str | None,
        typer.Option(
            "--follow-up-on",
            help="Set a reminder for the action's member of staff on this day (YYYY-MM-DD).",
        ),
    ] = None,
    follow_up_note: Annotated[
        str | None, typer.Option("--follow-up-note", help="What the reminder is about.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Mark an action done: records the touch (for the action's member of staff) and takes it
    off the list; with --follow-up-on and --follow-up-note, a reminder on that day.

    Example: keepwarm done 12 --channel call --outcome reached --follow-up-on 2026-12-08
    --follow-up-note "Ask how the new glasses fit"
    """
    follow_up = None
    if follow_up_on is not None or follow_up_note is not None:
        if follow_up_on is None or not (follow_up_note or "").strip():
            raise typer.BadParameter(
                "give both --follow-up-on and --follow-up-note", param_hint="--follow-up-on"
            )
        when = parse_date_option(follow_up_on, "--follow-up-on")
        assert when is not None
        follow_up = FollowUp(when, follow_up_note or "")
    with user_errors(), engine_for(db) as (_, engine):
        current = local_today(get_policy(engine), now())
        day = touch_date(parse_date_option(on, "--on") or current, current)
        if channel is not None:
            channel = personal_channel(channel)
        if follow_up is not None:
            check_follow_up(follow_up.on, follow_up.note, current, "--follow-up-on")
        touch = complete_action(
            engine,
            action_id,
            channel=channel,
            outcome=outcome,
            note=note,
            day=day,
            now=now(),
            follow_up=follow_up,
        )
    console.print(
        f"Done: {touch.channel} with client {touch.client_id} recorded on {touch.date}.",
        markup=False,
    )
    if follow_up is not None:
        console.print(f"Reminder set for {follow_up.on}.", markup=False)


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


def undo_command(action_id: ActionId, db: DbOption = None) -> None:
    """Take back the last step on an action (done, snooze or dismiss) if nothing happened to
    it since: a done's touch is deleted and the action is open again.

    Example: keepwarm undo 12
    """
    with user_errors(), engine_for(db) as (_, engine):
        step = undo(engine, action_id, by=None, now=now())
    console.print(f"Undone: action {action_id} is open again ({step} taken back).", markup=False)


def reopen_command(action_id: ActionId, db: DbOption = None) -> None:
    """Put a snoozed or dismissed action back on its member's list today (see `keepwarm
    feed` or the Put away page for their numbers).

    Example: keepwarm reopen 12
    """
    with user_errors(), engine_for(db) as (_, engine):
        reopen(engine, action_id, by=None, now=now())
    console.print(f"Reopened action {action_id}: it is on the list again.", markup=False)


def remind(
    client_id: Annotated[str, typer.Argument(help="The client's id.")],
    on: Annotated[str, typer.Option("--on", help="The day to be reminded (YYYY-MM-DD).")],
    note: Annotated[str, typer.Option(help="What to be reminded of.")],
    staff: Annotated[
        str | None,
        typer.Option(help="Whose list it goes on (default: the member who looks after them)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Set a reminder: on that day the client is first on the member's list, with the note.

    Example: keepwarm remind C042 --on 2026-12-08 --note "call about the new glasses"
    """
    day_wanted = parse_date_option(on, "--on")
    assert day_wanted is not None
    with user_errors(), engine_for(db) as (_, engine):
        current = local_today(get_policy(engine), now())
        reminder = set_reminder(
            engine,
            client_id,
            on=day_wanted,
            note=note,
            staff=staff,
            by=None,
            day=current,
            now=now(),
        )
    console.print(
        f"Reminder {reminder.id} set: {reminder.client_name} on {reminder.staff}'s list on "
        f"{reminder.on}.",
        markup=False,
    )


def feed_command(
    staff: Annotated[str | None, typer.Option(help="Only the steps on this member's list.")] = None,
    limit: Annotated[int, typer.Option(help="How many steps, newest first.")] = 50,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """Who did what, newest first: actions done, snoozed, dismissed, undone and reopened, and
    reminders set or deleted, with who clicked and whose list it counts for.

    Example: keepwarm feed --staff "Dana Reyes" --format json
    """
    if output not in ("table", "json"):
        raise typer.BadParameter("choose table or json", param_hint="--format")
    if limit < 1:
        raise typer.BadParameter("at least 1", param_hint="--limit")
    with user_errors(), engine_for(db) as (_, engine):
        shown = feed(engine, staff=staff, limit=limit)
    if output == "json":
        rows = [
            {
                "at": e.at.isoformat(),
                "step": e.step,
                "by": e.actor,
                "for": e.staff,
                "on_behalf": e.on_behalf,
                "client": {"id": e.client_id, "name": e.client_name},
                "action_id": e.action_id,
                "reminder_id": e.reminder_id,
                "details": dict(e.details),
                "words": e.sentence,
            }
            for e in shown.events
        ]
        console.print_json(json.dumps({"total": shown.total, "events": rows}))
        return
    if not shown.events:
        console.print("Nothing done yet.")
        return
    table = Table("When", "Client", "What", "Who", "Action")
    for e in shown.events:
        table.add_row(
            f"{e.at:%Y-%m-%d %H:%M}",
            f"{e.client_name} ({e.client_id})",
            e.what,
            e.who.removeprefix("by "),
            str(e.action_id or ""),
        )
    console.print(table)
    if shown.total > len(shown.events):
        console.print(f"{len(shown.events)} of {shown.total} steps (--limit for more).")


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
            {
                "staff": x.staff,
                "weekly_quota": x.weekly_quota,
                "quota_source": x.allowance.quota_source,
                "daily_capacity": x.allowance.daily_capacity,
                "capacity_source": x.allowance.capacity_source,
                "done": x.done,
                "met": x.met,
                "waiting": x.waiting,
            }
            for x in lines
        ]
        console.print_json(json.dumps({"week_of": monday.isoformat(), "staff": rows}))
        return
    table = Table(
        "Staff",
        "Personal touches",
        "Weekly quota",
        "Daily capacity",
        "Waiting",
        "",
        title=f"Week of {monday}",
    )
    for x in lines:
        a = x.allowance
        table.add_row(
            x.staff,
            str(x.done),
            f"{a.weekly_quota} ({a.quota_source})",
            f"{a.daily_capacity} ({a.capacity_source})",
            str(x.waiting),
            "met" if x.met else "",
        )
    console.print(table)


def waiting(
    staff: Annotated[str | None, typer.Option(help="Only this member of staff's queue.")] = None,
    move_to: Annotated[
        str | None,
        typer.Option("--move-to", help="Give the waiting actions of --staff to this member."),
    ] = None,
    count: Annotated[
        int | None, typer.Option(help="With --move-to: only the first N in the queue.", min=1)
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """What waits for a place on a list (real reasons beyond a member's daily capacity), in the
    order it will come; or move a member's queue to someone else.

    Example: keepwarm waiting --staff "Dana Reyes" --move-to "Bo Chen" --count 3
    """
    if output not in ("table", "json"):
        raise typer.BadParameter("choose table or json", param_hint="--format")
    with user_errors(), engine_for(db) as (_, engine):
        if move_to is not None:
            if staff is None:
                raise fail("--move-to needs --staff (whose queue to move)")
            moved = move_waiting(engine, from_staff=staff, to_staff=move_to, count=count)
            console.print(f"Moved {moved} waiting action(s) from {staff} to {move_to}.")
            return
        if staff is not None:
            staff_named(engine, staff)  # an unknown name is an error, not an empty queue
        queue = waiting_list(engine, staff)
        beyond = waiting_beyond(engine, staff)
    if output == "json":
        console.print_json(
            json.dumps({"waiting": [_json(a) for a in queue], "beyond_the_queue": beyond})
        )
        return
    if not queue:
        console.print("Nothing is waiting.", markup=False)
    for a in queue:
        reasons = "; ".join(s["explanation"] for s in a.signals)
        console.print(
            f"{a.staff or 'Unassigned'} #{a.rank}: {a.client_name} ({a.client_id}) since "
            f"{a.day}: {reasons}",
            markup=False,
        )
    for name, more in sorted(beyond.items()):
        console.print(
            f"{name}: {more:,} more beyond the queue (they join it as it empties).",
            markup=False,
        )


def calendar(
    staff: Annotated[str, typer.Argument(help="The member of staff whose list to export.")],
    as_of: AsOf = None,
    db: DbOption = None,
) -> None:
    """Today's list for one member of staff as an iCalendar feed (.ics) on standard output.

    Example: keepwarm calendar "Dana Reyes" > dana.ics
    """
    with user_errors(), engine_for(db) as (settings, engine):
        current = local_today(get_policy(engine), now())
        day = parse_date_option(as_of, "--as-of") or current
        staff_named(engine, staff)
        if day == current:
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
