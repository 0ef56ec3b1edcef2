"""Reminders: a member of staff asks to be reminded of a client on a day, with a note ("call
about the new glasses"). On that day the client is on the member's list as an action whose
reason is the note (signal code "reminder"), first and beyond the daily capacity: they asked
for it. Set from the client's page, `keepwarm remind`, or when marking an action done (a
follow-up); every reminder set or deleted is in the actions' history (who, when).

The daily job places the day's reminders after planning (`place_due`), in its own
transaction, so the rest of the plan is what it would be without them; a reminder set for
today once today's plan is made is placed at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert

from keepwarm.domain.actions import COMMAND_LINE, reminder_signal
from keepwarm.domain.errors import InvalidInput, NotAllowed, NotFound
from keepwarm.domain.model import User
from keepwarm.domain.signals import ClientFacts, Signal
from keepwarm.messaging.drafts import render_draft
from keepwarm.planner import reminder_action
from keepwarm.store import action_history as h
from keepwarm.store import actions as q
from keepwarm.store import queries, reading, writing
from keepwarm.store.tables import actions

log = logging.getLogger(__name__)

NOTE_MAX = 2000
_PLACE = re.compile(r"^#\d+ [^:]*: ")


def actor_of(by: User | None) -> str:
    """Who clicked, as the history shows them: the signed-in user's member of staff (their
    name), else their email; "command line" for the CLI."""
    if by is None:
        return COMMAND_LINE
    return by.staff or by.email


@dataclass(frozen=True)
class FollowUp:
    """A reminder set when marking an action done ("follow up in two weeks")."""

    on: dt.date
    note: str


@dataclass(frozen=True)
class Reminder:
    id: int
    client_id: str
    client_name: str
    staff: str | None
    on: dt.date
    note: str
    set_by: str
    action_id: int | None
    action_status: str | None

    @property
    def pending(self) -> bool:
        """Not yet on a list (it can still be deleted)."""
        return self.action_id is None

    @property
    def state(self) -> str:
        if self.action_id is None:
            return "pending"
        return {"open": "on the list", "done": "done"}.get(self.action_status or "", "on the list")


def _reminder(r: Any) -> Reminder:
    return Reminder(
        r.id,
        r.external_id,
        r.client_name,
        r.staff_name,
        r.on,
        r.note,
        r.set_by,
        r.action_id,
        r.action_status,
    )


def check_follow_up(on: dt.date, note: str, day: dt.date, field: str = "on") -> str:
    """The note, trimmed; InvalidInput naming the field for a past date or an empty note
    (`field` names the date: "on", or a follow-up's "follow_up_on" / "--follow-up-on", whose
    note is "follow_up_note" / "--follow-up-note")."""
    if on < day:
        raise InvalidInput(f"{field}: {on} is in the past; choose today ({day}) or a later day")
    named = field.replace("on", "note") if "follow" in field else "note"
    text = note.strip()
    if not text:
        raise InvalidInput(f"{named}: say what to be reminded of")
    if len(text) > NOTE_MAX:
        raise InvalidInput(f"{named}: at most {NOTE_MAX} characters")
    return text


def add_reminder(
    conn: Connection,
    *,
    client_id: str,
    staff_name: str,
    on: dt.date,
    note: str,
    by: User | None,
    day: dt.date,
    now: dt.datetime,
    field: str = "on",
    action_id: int | None = None,
) -> int:
    """Set a reminder inside the caller's transaction (checked: the date, the note, the
    client, the member); recorded in the history. Placed at once when it is for today and
    today's plan is made. Returns its id."""
    text = check_follow_up(on, note, day, field)
    client = queries.get_client(conn, client_id)
    internal = queries.client_internal_id(conn, client_id)
    if client is None or internal is None:
        raise NotFound(f"no client with id {client_id!r}")
    if client.do_not_contact:
        raise InvalidInput(f"client {client_id}: asked not to be contacted; no reminder is set")
    member = queries.staff_by_name(conn, staff_name)
    if member is None:
        raise NotFound(
            f"staff: no member of staff called {staff_name!r} (see `keepwarm staff list`)"
        )
    if not member.active:
        raise InvalidInput(f"staff: {staff_name} is not active")
    actor = actor_of(by)
    reminder_id = h.insert_reminder(
        conn, client_id=internal, staff_id=member.id, on=on, note=text, set_by=actor, now=now
    )
    h.add_event(
        conn,
        step="reminder_set",
        client_id=internal,
        staff_id=member.id,
        actor=actor,
        user_id=by.id if by else None,
        at=now,
        action_id=action_id,
        reminder_id=reminder_id,
        details={"on": on.isoformat(), "note": text},
    )
    if on == day and q.plan_completed(conn, day):
        place_due(conn, day, now)
    return reminder_id


def whose(by: User | None, staff: str | None, client_owner: str | None) -> str:
    """The member a reminder is for: staff users get themselves; the owner and the command
    line choose (default: the owner's own member, else the client's owner)."""
    if by is not None and not by.is_owner:
        if staff and staff != by.staff:
            raise NotAllowed("staff: you can set reminders for yourself only")
        if not by.staff:
            raise NotAllowed("your account is not linked to a member of staff")
        return by.staff
    chosen = staff or (by.staff if by else None) or client_owner
    if not chosen:
        raise InvalidInput("staff: choose whose list the reminder goes on (--staff)")
    return chosen


def set_reminder(
    engine: Engine,
    client_id: str,
    *,
    on: dt.date,
    note: str,
    staff: str | None,
    by: User | None,
    day: dt.date,
    now: dt.datetime,
) -> Reminder:
    """Set a reminder for `staff` (see `whose`) about a client, in one transaction."""
    with writing(engine) as conn:
        client = queries.get_client(conn, client_id)
        if client is None:
            raise NotFound(f"no client with id {client_id!r}")
        member = whose(by, staff, client.owner)
        reminder_id = add_reminder(
            conn, client_id=client_id, staff_name=member, on=on, note=note, by=by, day=day, now=now
        )
        row = h.get_reminder(conn, reminder_id)
    log.info("reminder %s set for %s on %s", reminder_id, member, on)
    return _reminder(row)


def delete_reminder(
    engine: Engine, reminder_id: int, *, by: User | None, now: dt.datetime
) -> Reminder:
    """Delete a pending reminder (the owner, or the member it is for); recorded."""
    with writing(engine) as conn:
        row = h.get_reminder(conn, reminder_id)
        if row is None or row.deleted_at is not None:
            raise NotFound(f"no reminder {reminder_id}")
        if by is not None and not by.is_owner and row.staff_name != by.staff:
            raise NotAllowed("this reminder is someone else's")
        if not h.delete_reminder(conn, reminder_id, now):
            raise InvalidInput(
                f"reminder {reminder_id} is already on {row.staff_name}'s list: "
                "mark that action done, snooze or dismiss it"
            )
        h.add_event(
            conn,
            step="reminder_deleted",
            client_id=row.client_id,
            staff_id=row.staff_id,
            actor=actor_of(by),
            user_id=by.id if by else None,
            at=now,
            reminder_id=reminder_id,
            details={"on": row.on.isoformat(), "note": row.note},
        )
    return _reminder(row)


def client_reminders(engine: Engine, client_id: str) -> list[Reminder]:
    """The client's reminders not deleted, the next first."""
    with reading(engine) as conn:
        internal = queries.client_internal_id(conn, client_id)
        if internal is None:
            raise NotFound(f"no client with id {client_id!r}")
        return [_reminder(r) for r in h.client_reminders(conn, internal)]


def place_due(
    conn: Connection,
    day: dt.date,
    now: dt.datetime,
    facts: Mapping[str, ClientFacts] | None = None,
    templates: Mapping[str, str] | None = None,
) -> int:
    """Put the reminders of `day` (and any earlier one not yet placed) on their members'
    lists, first: joining the client's planned action on that member's list when there is
    one (one card per client), else as an action of their own, beyond the daily capacity.
    A reminder's own action still open joins the client's planned action when a later plan
    brings one to the same list; one snoozed until `day` comes back. A reminder for a client
    who asked not to be contacted, or for a member no longer active, waits (it shows on the
    client's page). Returns how many were placed."""
    h.wake_snoozed_reminders(conn, day)
    for mine in h.open_reminder_actions(conn):
        planned = h.open_action_of(conn, mine.client_id, mine.staff_id)
        if planned is not None:
            [signal] = json.loads(mine.signals)
            _join(conn, planned, signal)
            h.link_reminder(conn, mine.reminder_id, planned.id)
            h.delete_action(conn, mine.id)
    placed = 0
    for r in h.due_reminders(conn, day):
        if r.do_not_contact or not r.staff_active or r.staff_name is None:
            continue
        signal = reminder_signal(r.id, r.note)
        stored = {
            "code": signal.code.value,
            "explanation": signal.explanation,
            "reason_key": signal.reason_key,
        }
        planned_action = h.open_action_of(conn, r.client_id, r.staff_id)
        if planned_action is not None:
            _join(conn, planned_action, stored)
            h.link_reminder(conn, r.id, planned_action.id)
            placed += 1
            continue
        client_facts = (facts or {}).get(r.external_id)
        if client_facts is None:
            client = queries.get_client(conn, r.external_id)
            if client is None:
                continue
            client_facts = ClientFacts(client=client)
        planned = reminder_action(client_facts.client, r.staff_name, signal)
        draft = _draft(client_facts, planned.channel, r.staff_name, signal, day, templates or {})
        action_id = conn.execute(
            insert(actions)
            .values(
                day=day,
                client_id=r.client_id,
                staff_id=r.staff_id,
                status="open",
                priority=planned.priority,
                rank=planned.rank,
                channel=planned.channel,
                signals=json.dumps([stored]),
                reason_keys=json.dumps(list(planned.reason_keys)),
                why=planned.why,
                draft=draft,
                created_at=now,
            )
            .returning(actions.c.id)
        ).scalar_one()
        h.link_reminder(conn, r.id, action_id)
        placed += 1
    return placed


def _join(conn: Connection, planned: Any, signal: Mapping[str, str]) -> None:
    rest = _PLACE.sub("", planned.why)  # its place on the list is counted anew
    why = f"{signal['explanation']}; also {rest}"
    h.join_reminder(conn, planned.id, signal, why, planned.signals)


def _draft(
    facts: ClientFacts,
    channel: str,
    staff: str,
    signal: Signal,
    day: dt.date,
    templates: Mapping[str, str],
) -> str:
    try:
        return render_draft(facts, [signal], channel, staff=staff, today=day, templates=templates)
    except InvalidInput:
        return render_draft(facts, [signal], channel, staff=staff, today=day)
