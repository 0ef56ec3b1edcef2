"""Printed cards and letters, and address labels: one PDF per batch, touches on confirmation.

A *letters* batch holds one letter per action (a card or a letter suggested on the list), for
a member of staff or, made for everyone, the practice (`staff` None). Putting an action in a
batch (`queue_letter`, one action; `make_batch`, every open card and letter on the list) marks
it done in the same transaction, as queuing an email does; the touch on the client's timeline
(channel "card", personal, by the action's member of staff, on the day printed) is recorded
only when staff `confirm` the batch printed, all of it or some sheets; a second confirmation
records nothing twice. `cancel_batch` puts the actions still pending back on their lists.

Who is left out, and why, is never silent: a client marked do not contact or who refused post
(keepwarm.services.consent.refusal, asked again when the batch is made) is not in the batch and
is listed in `Batch.left_out`; a client without a usable address (blank) is in it as an item
in state `no_address` ("no usable address: call instead, or add their address"), and their
action stays open.

A *labels* batch holds one label per address for the letters of an open letters batch: people
at the same address (compared ignoring case, spaces and punctuation) get one label, named
"The Morris household" when they share a last name, else their names joined ("Ann Lee &
Bo Chan"); a household's letter (a campaign's, one per household) makes its label the
household's ("The Morris family"). Labels print on a sheet format of
keepwarm.messaging.print_pdf.LABEL_FORMATS; confirming labels records no touch (the letter is
the contact).

The practice's name on letters is the display name of KEEPWARM_MAIL_FROM
(`practice_name(settings)`), the same name emails carry; without it letters carry none and
the signature line is the member of staff's name alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from sqlalchemy import Connection, Engine

from keepwarm.config import Settings
from keepwarm.domain.actions import COMMAND_LINE
from keepwarm.domain.errors import InvalidInput, NotAllowed, NotFound
from keepwarm.domain.model import Touch, User
from keepwarm.domain.policy import Policy
from keepwarm.messaging import print_pdf as pdf
from keepwarm.services import audit
from keepwarm.services.actions import record_step
from keepwarm.services.consent import refusal
from keepwarm.services.households import addressees
from keepwarm.services.reminders import actor_of
from keepwarm.services.touches import add_touch
from keepwarm.store import action_history as h
from keepwarm.store import actions as actions_q
from keepwarm.store import campaigns as campaigns_q
from keepwarm.store import printing as q
from keepwarm.store import queries, reading, writing
from keepwarm.store.policy import load_policy_data

log = logging.getLogger(__name__)

PRINTED_CHANNELS = ("card", "letter")
TOUCH_CHANNEL = "card"  # a personal channel (keepwarm.domain.model.PERSONAL_CHANNELS)
NO_ADDRESS = "no usable address: call instead, or add their address"
DEFAULT_LABELS = "avery5160"
LETTER_PAGE_COUNTRIES = ("US", "CA", "MX")  # where letters are on US Letter, not A4


@dataclass(frozen=True)
class Item:
    """A letter or a label in a batch, as the Print page and `keepwarm print` list it."""

    id: int
    client: str  # the business's id
    client_name: str
    staff: str | None
    action_id: int | None
    sheet: int
    position: int
    address: str
    body: str | None
    state: str
    touch_id: int | None


@dataclass(frozen=True)
class LeftOut:
    """A client whose card or letter is not printed, and why."""

    client: str
    client_name: str
    action_id: int
    why: str


@dataclass(frozen=True)
class Batch:
    id: int
    kind: str
    label_format: str | None
    staff: str | None
    state: str
    created_by: str
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    items: tuple[Item, ...]
    left_out: tuple[LeftOut, ...] = ()

    @property
    def to_print(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.state in ("pending", "printed"))

    @property
    def no_address(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.state == "no_address")

    @property
    def sheets(self) -> tuple[int, ...]:
        return tuple(sorted({i.sheet for i in self.to_print}))

    @property
    def pending_sheets(self) -> tuple[int, ...]:
        return tuple(sorted({i.sheet for i in self.items if i.state == "pending"}))

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["items"] = [dict(i.__dict__) for i in self.items]
        out["left_out"] = [dict(x.__dict__) for x in self.left_out]
        for name in ("created_at", "confirmed_at"):
            value = out[name]
            out[name] = value.isoformat() if value is not None else None
        return out


def practice_name(settings: Settings) -> str | None:
    """The practice's name on letters: KEEPWARM_MAIL_FROM's display name."""
    name = parseaddr(settings.mail_from or "")[0].strip()
    return name or None


def usable(address: str | None) -> bool:
    return bool(address and address.strip())


def address_lines(name: str, address: str) -> tuple[str, ...]:
    """The address block: the name, then the address's lines (its own line breaks, else its
    commas: "12 Elm Street, Portland OR 97201" is two lines)."""
    text = address.strip()
    parts = text.splitlines() if "\n" in text else text.split(",")
    return (name, *(p.strip() for p in parts if p.strip()))


def normalised(address: str) -> str:
    """An address compared for households: case, spaces and punctuation ignored."""
    return " ".join(re.sub(r"[^\w]+", " ", address.casefold()).split())


def household_name(names: Sequence[str]) -> str:
    """The name line of a label for people at one address: theirs alone, "The Morris
    household" when they share a last name, else their names joined with "&"."""
    if len(names) == 1:
        return names[0]
    lasts = {n.split()[-1] for n in names if n.split()}
    if len(lasts) == 1 and all(len(n.split()) > 1 for n in names):
        return f"The {lasts.pop()} household"
    return " & ".join(names)


def _policy(conn: Connection) -> Policy:
    data = load_policy_data(conn)
    return Policy() if data is None else Policy.from_dict(data)


def _why_not(conn: Connection, client_id: int, address: str | None) -> str | None:
    """Why a client's letter is not printed: do not contact or post refused (the reason), no
    usable address (NO_ADDRESS), or None."""
    why = refusal(conn, client_id, "post")
    if why is not None and usable(address):
        return why
    if why is not None and why != "no postal address":
        return why
    return None if usable(address) else NO_ADDRESS


def _member_id(conn: Connection, name: str | None) -> int | None:
    if name is None:
        return None
    member = queries.staff_by_name(conn, name)
    if member is None:
        raise NotFound(f"staff: no member of staff called {name!r}")
    return member.id


def _letters_batch(conn: Connection, staff_id: int | None, by: User | None, now: Any) -> int:
    found = q.open_batch(conn, "letters", staff_id)
    if found is not None:
        return int(found.id)
    return q.insert_batch(
        conn, kind="letters", staff_id=staff_id, created_by=actor_of(by), created_at=now
    )


def _done(conn: Connection, row: Any, item_id: int, by: User | None, now: dt.datetime) -> None:
    """The action (claimed done by `q.claim_action`) is done by printing: off the list now,
    its touch when confirmed."""
    details: dict[str, object] = {"channel": TOUCH_CHANNEL, "print_item": item_id, "queued": True}
    record_step(conn, row, "done", by, now, details)


def queue_letter(
    engine: Engine,
    action_id: int,
    *,
    body: str | None = None,
    by: User | None,
    day: dt.date,
    now: dt.datetime,
) -> int:
    """Put the action's letter (its client-facing draft, or `body` as edited) in its member of
    staff's open letters batch (made when there is none) and mark the action done, in one
    transaction; returns the print item's id. Raises NotFound, NotAllowed and InvalidInput
    (the action is closed or already in a batch, the client may not be written to, with the
    reason, or has no usable address)."""
    from keepwarm.services.todays_list import printable

    _, draft = printable(engine, action_id, by=by, day=day, channel="card")
    text = (body if body is not None else draft.text).strip()
    if not text:
        raise InvalidInput("body: the letter is empty")
    with writing(engine) as conn:
        row = actions_q.get_action(conn, action_id)
        if row is None:
            raise NotFound(f"no action {action_id} (see `keepwarm today`)")
        if by is not None and not by.is_owner and row.staff_name != by.staff:
            raise NotAllowed("this action is on someone else's list")
        if row.status not in ("open", "snoozed"):
            raise InvalidInput(f"action {action_id} is already {row.status}")
        if q.in_open_batch(conn, action_id):
            raise InvalidInput(f"action {action_id} is already in a print batch")
        client = q.client_addresses(conn, [row.client_id])[row.client_id]
        why = _why_not(conn, row.client_id, client.address)
        if why is not None:
            raise InvalidInput(f"letter: cannot write to client {row.external_id}: {why}")
        if not q.claim_action(conn, action_id, now):
            raise InvalidInput(f"action {action_id} was closed meanwhile")
        batch_id = _letters_batch(conn, row.staff_id, by, now)
        item_id = q.insert_item(
            conn,
            batch_id=batch_id,
            client_id=row.client_id,
            action_id=action_id,
            sheet=q.next_sheet(conn, batch_id),
            position=1,
            address="\n".join(address_lines(client.name, client.address)),
            body=text,
            state="pending",
        )
        _done(conn, row, item_id, by, now)
    log.info("print batch %s: letter for action %s queued", batch_id, action_id)
    return item_id


def add_campaign_letter(
    conn: Connection,
    client_id: int,
    name: str,
    address: str,
    body: str,
    *,
    by: User | None,
    now: dt.datetime,
) -> int:
    """Put a campaign's letter to a client in the practice's open letters batch (made when
    there is none), in the caller's transaction; the print item's id. No action: confirming
    it printed records a "mailing" touch (keepwarm.services.campaigns checked consent)."""
    batch_id = _letters_batch(conn, None, by, now)
    return q.insert_item(
        conn,
        batch_id=batch_id,
        client_id=client_id,
        action_id=None,
        sheet=q.next_sheet(conn, batch_id),
        position=1,
        address="\n".join(address_lines(name, address)),
        body=body,
        state="pending",
    )


def make_batch(
    engine: Engine,
    *,
    kind: str,
    staff: str | None = None,
    label_format: str = DEFAULT_LABELS,
    letters: int | None = None,
    by: User | None,
    day: dt.date,
    now: dt.datetime,
) -> Batch:
    """Make a batch. Letters: every open action on the list (one member's with `staff`, or
    everyone's for the practice) whose suggested channel is a card or a letter joins the open
    letters batch of that member or the practice, its action marked done; who is left out is
    listed (see the module). Labels: one label per address for the letters waiting to print in
    the letters batch `letters`, or in every open letters batch in scope, on `label_format`.
    Staff make their own batches. Raises InvalidInput when there is nothing to print."""
    if by is not None and not by.is_owner:
        if staff is not None and staff != by.staff:
            raise NotAllowed("staff print their own list's letters")
        staff = by.staff or ""
    if kind == "letters":
        return _make_letters(engine, staff, by=by, day=day, now=now)
    if kind == "labels":
        try:
            fmt = pdf.label_format(label_format)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        return _make_labels(engine, staff, fmt, letters, by=by, now=now)
    raise InvalidInput(f"kind: letters or labels, not {kind!r}")


def _make_letters(
    engine: Engine, staff: str | None, *, by: User | None, day: dt.date, now: dt.datetime
) -> Batch:
    from keepwarm.services.todays_list import todays_list

    # Drafting reads a lot: done before the write transaction, which re-checks each action.
    listed = [a for a in todays_list(engine, staff, day) if a.channel in PRINTED_CHANNELS]
    left_out: list[LeftOut] = []
    added = 0
    with writing(engine) as conn:
        staff_id = _member_id(conn, staff)
        batch_id: int | None = None
        existing = q.open_batch(conn, "letters", staff_id)
        if existing is not None:
            batch_id = int(existing.id)
        for action in listed:
            row = actions_q.get_action(conn, action.id)
            if row is None or row.status != "open" or q.in_open_batch(conn, action.id):
                continue
            client = q.client_addresses(conn, [row.client_id])[row.client_id]
            why = _why_not(conn, row.client_id, client.address)
            if why is not None and why != NO_ADDRESS:
                left_out.append(LeftOut(action.client_id, action.client_name, action.id, why))
                continue
            if why is None and not q.claim_action(conn, action.id, now):
                continue  # closed meanwhile (a Done click, another batch)
            if batch_id is None:
                batch_id = _letters_batch(conn, staff_id, by, now)
            draft = action.drafts.get(action.channel)
            item_id = q.insert_item(
                conn,
                batch_id=batch_id,
                client_id=row.client_id,
                action_id=action.id,
                # Not printed: no sheet, so the printed letters' sheets run 1, 2, 3...
                sheet=q.next_sheet(conn, batch_id) if why is None else 0,
                position=1,
                address="\n".join(address_lines(client.name, client.address or "")),
                body=(draft.text if draft is not None else action.draft).strip(),
                state="pending" if why is None else "no_address",
            )
            if why is None:
                _done(conn, row, item_id, by, now)
                added += 1
    if batch_id is None:
        out = "; ".join(f"{x.client} ({x.why})" for x in left_out)
        raise InvalidInput(
            "nothing to print: no open card or letter on the list"
            + (f"; left out: {out}" if out else "")
        )
    log.info("print batch %s: %s letters added, %s left out", batch_id, added, len(left_out))
    made = batch(engine, batch_id, by=by)
    return _with_left_out(made, left_out)


def _with_left_out(made: Batch, left_out: Sequence[LeftOut]) -> Batch:
    return Batch(**{**made.__dict__, "left_out": tuple(left_out)})


def _make_labels(
    engine: Engine,
    staff: str | None,
    fmt: pdf.LabelFormat,
    letters: int | None,
    *,
    by: User | None,
    now: dt.datetime,
) -> Batch:
    with writing(engine) as conn:
        if letters is not None:
            source = [_load(conn, letters, by)]
            if source[0].kind != "letters" or source[0].state != "open":
                raise InvalidInput(f"batch {letters}: labels are made for an open letters batch")
        else:
            source = [
                b
                for b in q.batches(conn, staff_name=staff, states=("open",))
                if b.kind == "letters"
            ]
        rows = [r for r in q.items(conn, [b.id for b in source]) if r.state == "pending"]
        if not rows:
            raise InvalidInput("no letters to label: make the letters batch first (keepwarm print)")
        clients = q.client_addresses(conn, sorted({r.client_id for r in rows}))
        households = addressees(conn, [r.client_id for r in rows])
        homes: dict[str, list[Any]] = {}
        addressed: dict[str, str] = {}  # a household's letter: the label is the household's
        for r in rows:
            client = clients[r.client_id]
            key = normalised(client.address or "")
            people = homes.setdefault(key, [])
            if all(p.id != client.id for p in people):
                people.append(client)
            to = (r.address or "").split("\n")[0]
            if r.client_id in households and to == households[r.client_id][1]:
                addressed[key] = to
        staff_id = source[0].staff_id if len({b.staff_id for b in source}) == 1 else None
        batch_id = q.insert_batch(
            conn,
            kind="labels",
            label_format=fmt.key,
            staff_id=staff_id,
            created_by=actor_of(by),
            created_at=now,
        )
        for n, (key, people) in enumerate(homes.items()):
            sheet, position = divmod(n, fmt.per_sheet)
            name = addressed.get(key) or household_name([p.name for p in people])
            q.insert_item(
                conn,
                batch_id=batch_id,
                client_id=people[0].id,
                action_id=None,
                sheet=sheet + 1,
                position=position + 1,
                address="\n".join(address_lines(name, people[0].address)),
                body=None,
                state="pending",
            )
    log.info("print batch %s: %s labels (%s)", batch_id, len(homes), fmt.key)
    return batch(engine, batch_id, by=by)


def _load(conn: Connection, batch_id: int, by: User | None) -> Any:
    row = q.batch(conn, batch_id)
    if row is None:
        raise NotFound(f"no print batch {batch_id} (see `keepwarm print list`)")
    if (
        by is not None
        and not by.is_owner
        and (row.staff_name is None or row.staff_name != by.staff)
    ):
        raise NotAllowed("this print batch is someone else's")
    return row


def _item(r: Any) -> Item:
    return Item(
        r.id,
        r.client_ref,
        r.client_name,
        r.staff_name,
        r.action_id,
        r.sheet,
        r.position,
        r.address,
        r.body,
        r.state,
        r.touch_id,
    )


def _batch(row: Any, item_rows: Sequence[Any]) -> Batch:
    return Batch(
        row.id,
        row.kind,
        row.label_format,
        row.staff_name,
        row.state,
        row.created_by,
        row.created_at,
        row.confirmed_at,
        tuple(_item(r) for r in item_rows if r.batch_id == row.id),
    )


def batch(engine: Engine, batch_id: int, *, by: User | None = None) -> Batch:
    """One batch with its items. Raises NotFound and NotAllowed (another member's)."""
    with reading(engine) as conn:
        row = _load(conn, batch_id, by)
        return _batch(row, q.items(conn, [batch_id]))


def batches(
    engine: Engine,
    *,
    by: User | None = None,
    staff: str | None = None,
    states: tuple[str, ...] = ("open",),
) -> list[Batch]:
    """Batches newest first: the owner (or the command line) sees all, or one member's with
    `staff`; a member of staff sees their own."""
    if by is not None and not by.is_owner:
        staff = by.staff or ""
    with reading(engine) as conn:
        rows = q.batches(conn, staff_name=staff, states=states)
        item_rows = q.items(conn, [r.id for r in rows])
    return [_batch(r, item_rows) for r in rows]


def waiting_letters(
    engine: Engine, *, by: User | None = None, staff: str | None = None
) -> list[Batch]:
    """The open letters batches (in scope, as `batches`) with letters still waiting to print,
    oldest first: a letter queued by `keepwarm send --channel letter` or "Add to print batch"
    waits in its member's batch, a campaign's in the practice's."""
    found = batches(engine, by=by, staff=staff, states=("open",))
    return [b for b in reversed(found) if b.kind == "letters" and b.pending_sheets]


def left_out(engine: Engine, *, by: User | None = None, staff: str | None = None) -> list[LeftOut]:
    """Open card and letter actions on the list (in scope, as `batches`) that would not be
    printed now, and why (do not contact, post refused, no usable address)."""
    if by is not None and not by.is_owner:
        staff = by.staff or ""
    with reading(engine) as conn:
        out = []
        for row in actions_q.open_actions(conn, staff):
            if row.channel not in PRINTED_CHANNELS:
                continue
            client = q.client_addresses(conn, [row.client_id])[row.client_id]
            why = _why_not(conn, row.client_id, client.address)
            if why is not None:
                out.append(LeftOut(row.external_id, row.client_name, row.id, why))
    return out


def render_pdf(
    engine: Engine, batch_id: int, *, practice: str | None = None, by: User | None = None
) -> bytes:
    """The batch as a PDF: letters one to a page (the practice's name, the date, the address
    block in the envelope window, the text, the signature line "Dana Reyes, Northside
    Physio"), or labels on their sheet format. Items without an address or skipped are not
    printed. Raises NotFound, NotAllowed, and InvalidInput when an address does not fit."""
    with reading(engine) as conn:
        made = _batch(_load(conn, batch_id, by), q.items(conn, [batch_id]))
        policy = _policy(conn)
    if not made.to_print:
        raise InvalidInput(f"batch {batch_id} has nothing to print")
    try:
        if made.kind == "labels":
            fmt = pdf.label_format(made.label_format or DEFAULT_LABELS)
            labels = [
                pdf.Label(i.client, tuple(i.address.splitlines()), i.sheet, i.position)
                for i in made.to_print
            ]
            return pdf.labels_pdf(labels, fmt)
        letters = [_letter(i, i.staff or made.staff, practice) for i in made.to_print]
        day = policy.local_date(made.created_at)
        page = "letter" if policy.country in LETTER_PAGE_COUNTRIES else "a4"
        return pdf.letters_pdf(letters, practice=practice, date_line=f"{day:%-d %B %Y}", page=page)
    except pdf.DoesNotFit as exc:
        raise InvalidInput(str(exc)) from None


def _letter(item: Item, member: str | None, practice: str | None) -> pdf.Letter:
    """A letter with its signature line; the draft's own sign-off (the member's name alone on
    the last line) gives way to it, so the name is not signed twice."""
    lines = (item.body or "").rstrip().splitlines()
    if member and lines and lines[-1].strip() == member:
        lines = lines[:-1]
    signature = ", ".join(p for p in (member, practice) if p)
    return pdf.Letter(item.client, tuple(item.address.splitlines()), "\n".join(lines), signature)


def confirm(
    engine: Engine,
    batch_id: int,
    *,
    sheets: Sequence[int] | None = None,
    by: User | None,
    now: dt.datetime,
) -> int:
    """Staff confirm the batch printed: every item waiting (or those on `sheets`) becomes
    printed and, for a letter, its touch is recorded (channel "card", by the action's member
    of staff, today) and linked from its action. Each item moves conditionally, so a second
    confirmation records nothing twice; the batch is confirmed once nothing waits. Returns how
    many items were confirmed now. Raises NotFound, NotAllowed and InvalidInput."""
    with writing(engine) as conn:
        row = _load(conn, batch_id, by)
        if row.state != "open":
            raise InvalidInput(f"batch {batch_id} is {row.state}: nothing to confirm")
        waiting = [r for r in q.items(conn, [batch_id]) if r.state == "pending"]
        if sheets:
            unknown = sorted(set(sheets) - {r.sheet for r in waiting})
            if unknown:
                raise InvalidInput(
                    f"sheet: {', '.join(map(str, unknown))} has nothing waiting in batch {batch_id}"
                )
            waiting = [r for r in waiting if r.sheet in set(sheets)]
        day = _policy(conn).local_date(now)
        done = 0
        for item in waiting:
            if row.kind == "letters" and _taken_back(conn, item):
                # Its done was undone since (the action is open again): not a contact now.
                q.move_item(conn, item.id, ("pending",), state="skipped", confirmed_at=now)
                continue
            if row.kind == "letters" and refusal(conn, item.client_id, "post") not in (
                None,
                "no postal address",
            ):
                # Post refused since the batch was made: not to be sent, no touch.
                q.move_item(conn, item.id, ("pending",), state="skipped", confirmed_at=now)
                continue
            if not q.move_item(conn, item.id, ("pending",), state="printed", confirmed_at=now):
                continue
            done += 1
            if row.kind == "letters":
                _touch(conn, item, row.staff_name, day, now)
        q.confirmed_now(conn, batch_id, now)
        if done:  # one entry per confirmation: the batch and how many, no client named
            audit.record(
                conn,
                actor=by.email if by is not None else COMMAND_LINE,
                action="print",
                now=now,
                subject=f"print batch {batch_id}",
                details={"batch": batch_id, "kind": row.kind, "confirmed": done},
            )
    log.info("print batch %s: %s confirmed printed by %s", batch_id, done, actor_of(by))
    return done


def _taken_back(conn: Connection, item: Any) -> bool:
    if item.action_id is None:
        return False
    action = actions_q.get_action(conn, item.action_id)
    return action is not None and action.status != "done"


def _touch(conn: Connection, item: Any, member: str | None, day: dt.date, now: Any) -> None:
    who = item.staff_name or member
    # A campaign's letter is a mailing: on the timeline, but nobody's cadence starts again.
    channel = "mailing" if campaigns_q.is_campaign_item(conn, item.id) else TOUCH_CHANNEL
    touch = Touch(item.client_ref, day, channel, who, None, "sent")
    touch_id = add_touch(conn, touch, now)
    q.move_item(conn, item.id, ("printed",), touch_id=touch_id)
    if item.action_id is not None:
        actions_q.set_action(conn, item.action_id, touch_id=touch_id)


def cancel_batch(engine: Engine, batch_id: int, *, by: User | None, now: dt.datetime) -> int:
    """Cancel an open batch: what was not confirmed printed is skipped and its actions go back
    on their lists (open, with a "reopened" step); printed items stay printed. Returns how
    many actions were put back."""
    with writing(engine) as conn:
        row = _load(conn, batch_id, by)
        if not q.move_batch(conn, batch_id, ("open",), state="cancelled"):
            raise InvalidInput(f"batch {batch_id} is {row.state}: it cannot be cancelled")
        back = 0
        for item in q.items(conn, [batch_id]):
            if not q.move_item(conn, item.id, ("pending", "no_address"), state="skipped"):
                continue
            if item.action_id is not None and _reopen(conn, item, by, now):
                back += 1
    log.info("print batch %s: cancelled by %s, %s actions back", batch_id, actor_of(by), back)
    return back


def _reopen(conn: Connection, item: Any, by: User | None, now: dt.datetime) -> bool:
    action = actions_q.get_action(conn, item.action_id)
    if action is None or action.status != "done" or action.touch_id is not None:
        return False
    actions_q.set_action(conn, action.id, status="open", closed_at=None)
    h.add_event(
        conn,
        step="reopened",
        client_id=action.client_id,
        staff_id=action.staff_id,
        actor=actor_of(by),
        user_id=by.id if by else None,
        at=now,
        action_id=action.id,
        reminder_id=h.reminder_of_action(conn, action.id),
        details={"print_item": item.id, "why": "print batch cancelled"},
    )
    return True
