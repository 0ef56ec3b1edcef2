"""The outbox: messages to clients (and to staff) queued for delivery, at most once.

Queuing (`queue_action`) writes the message in the same transaction as the action it does: the
action is done (by its member of staff, for their quota) and the message waits in the outbox;
the touch on the client's timeline is recorded when the message is *sent*
(`record_sent`, called by the sender, keepwarm.services.delivery, or by a person who marks an
`unknown` message sent). Consent is checked here when queuing and again inside the send.

People act on messages only through this module: `mark_sent` (an `unknown` one staff know
arrived), `send_again` (a `failed` or `unknown` one, deliberately), `cancel` (one still
waiting; its action opens again). Each is a conditional move on the state the person saw.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from typing import Any

from sqlalchemy import Connection, Engine, select

from keepwarm.config import Settings
from keepwarm.domain.actions import COMMAND_LINE
from keepwarm.domain.errors import InvalidInput, NotAllowed, NotFound
from keepwarm.domain.model import Touch, User
from keepwarm.domain.policy import Policy
from keepwarm.services import audit
from keepwarm.services.actions import record_step
from keepwarm.services.consent import refusal
from keepwarm.services.reminders import actor_of
from keepwarm.services.touches import add_touch
from keepwarm.store import action_history as h
from keepwarm.store import actions as actions_q
from keepwarm.store import outbox as q
from keepwarm.store import queries, reading, writing
from keepwarm.store.policy import load_policy_data
from keepwarm.store.tables import clients

log = logging.getLogger(__name__)

CHANNELS = ("email", "sms")
WAITING = ("queued", "retry")
NEEDS_STAFF = ("unknown", "failed")


class NotConfigured(InvalidInput):
    """Sending by a channel needs settings that are not set."""


def setup_missing(settings: Settings, channel: str) -> tuple[str, ...]:
    """The environment variables `channel` still needs (empty: it can send)."""
    if channel == "email":
        return settings.mail_missing
    if channel == "sms":
        return () if settings.sms_url else ("KEEPWARM_SMS_URL",)
    return ()


def require_setup(settings: Settings, channel: str) -> None:
    missing = setup_missing(settings, channel)
    if missing:
        what = "email" if channel == "email" else "text messages"
        raise NotConfigured(
            f"sending {what} is not set up: set {', '.join(missing)} "
            "(see the README, Sending email, texts and letters)"
        )


@dataclass(frozen=True)
class OutboxMessage:
    """One message as the Outbox page, `keepwarm outbox list` and the API show it."""

    id: int
    kind: str
    channel: str
    state: str
    client: str | None  # the business's id
    client_name: str | None
    staff: str | None
    to: str
    subject: str | None
    body: str
    action_id: int | None
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    claimed_at: dt.datetime | None
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    created_by: str

    @property
    def needs_staff(self) -> bool:
        return self.state in NEEDS_STAFF

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for name in ("created_at", "claimed_at", "sent_at", "next_attempt_at"):
            value = out[name]
            out[name] = value.isoformat() if value is not None else None
        return out


def message_of(r: Any) -> OutboxMessage:
    return OutboxMessage(
        r.id,
        r.kind,
        r.channel,
        r.state,
        r.client_ref,
        r.client_name,
        r.staff_name,
        r.to_address,
        r.subject,
        r.body,
        r.action_id,
        r.attempts,
        r.last_error,
        r.created_at,
        r.claimed_at,
        r.sent_at,
        r.next_attempt_at,
        r.created_by,
    )


def _policy(conn: Connection) -> Policy:
    data = load_policy_data(conn)
    return Policy() if data is None else Policy.from_dict(data)


def _domain(settings: Settings) -> str | None:
    address = parseaddr(settings.mail_from or "")[1]
    return address.rpartition("@")[2] or None


def new_message_id(settings: Settings) -> str:
    return make_msgid(domain=_domain(settings) or "keepwarm.invalid")


@dataclass(frozen=True)
class Written:
    """What staff send: the subject (email only) and the body; None means the draft."""

    subject: str | None = None
    body: str | None = None


def queue_action(
    engine: Engine,
    settings: Settings,
    action_id: int,
    channel: str,
    *,
    written: Written = Written(),
    by: User | None,
    day: dt.date,
    now: dt.datetime,
) -> int:
    """Queue the action's message by `channel` ("email" or "sms") and mark the action done, in
    one transaction; returns the outbox id. The body and subject default to the action's
    client-facing draft. Raises NotConfigured, NotFound, NotAllowed and InvalidInput (the
    action is closed, already has a message on its way, or the client may not be contacted
    this way, with the reason)."""
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: email or sms, not {channel!r} (letters: keepwarm print)")
    require_setup(settings, channel)
    # The draft is read before the write transaction: drafting reads a lot, writing waits.
    from keepwarm.services.todays_list import printable

    _, draft = printable(engine, action_id, by=by, day=day, channel=channel)
    body = (written.body if written.body is not None else draft.text).strip()
    subject = (written.subject if written.subject is not None else draft.subject).strip()
    if not body:
        raise InvalidInput("body: the message is empty")
    if channel == "email" and not subject:
        raise InvalidInput("subject: an email needs a subject line")
    with writing(engine) as conn:
        row = actions_q.get_action(conn, action_id)
        if row is None:
            raise NotFound(f"no action {action_id} (see `keepwarm today`)")
        if by is not None and not by.is_owner and row.staff_name != by.staff:
            raise NotAllowed("this action is on someone else's list")
        if row.status not in ("open", "snoozed"):
            raise InvalidInput(f"action {action_id} is already {row.status}")
        why = refusal(conn, row.client_id, channel)
        if why is not None:
            raise InvalidInput(f"{channel}: cannot send to client {row.external_id}: {why}")
        client = queries.client_contact(conn, row.client_id)
        reply_to = queries.staff_reply_to(conn, row.staff_id)
        n = q.count_for_action(conn, action_id) + 1
        outbox_id = q.insert_message(
            conn,
            key=f"action:{action_id}:{n}",
            kind="action",
            channel=channel,
            client_id=row.client_id,
            staff_id=row.staff_id,
            action_id=action_id,
            to_address=client.email if channel == "email" else client.phone,
            reply_to=reply_to,
            subject=subject if channel == "email" else None,
            body=body,
            personal=True,
            bulk=True,
            message_id=new_message_id(settings),
            token=secrets.token_urlsafe(24),
            state="queued",
            created_by=actor_of(by),
            created_at=now,
            updated_at=now,
        )
        actions_q.set_action(conn, action_id, status="done", closed_at=now)
        record_step(
            conn, row, "done", by, now, {"channel": channel, "outbox_id": outbox_id, "queued": True}
        )
        _audit(conn, row.client_id, by, now, "queued", outbox_id, channel, action_id)
    log.info("outbox %s: queued %s for action %s", outbox_id, channel, action_id)
    return outbox_id


def record_sent(conn: Connection, row: Any, now: dt.datetime) -> int | None:
    """Record a message sent (in the caller's transaction, after its move to `sent`): a
    touch on the client's timeline by the message's member of staff (personal when it came
    from their list), linked from the message and its action. None for staff's own mail."""
    if row.client_id is None or row.kind not in ("action", "campaign"):
        return None
    day = _policy(conn).local_date(now)
    client_ref = row.client_ref
    # A campaign's message is a mailing (keepwarm.domain.model.BULK_CHANNELS): on the timeline,
    # not a personal touch, so it does not start anyone's cadence again.
    channel = "mailing" if row.kind == "campaign" else row.channel
    touch = Touch(client_ref, day, channel, row.staff_name, row.subject, "sent")
    touch_id = add_touch(conn, touch, now)
    q.move(conn, row.id, ("sent",), now, touch_id=touch_id)
    if row.action_id is not None:
        actions_q.set_action(conn, row.action_id, touch_id=touch_id)
    return touch_id


def _load(conn: Connection, outbox_id: int, by: User | None) -> Any:
    row = q.get(conn, outbox_id)
    if row is None:
        raise NotFound(f"no message {outbox_id} in the outbox (see `keepwarm outbox list`)")
    if by is not None and not by.is_owner and row.staff_name != by.staff:
        raise NotAllowed("this message is someone else's")
    return row


def mark_sent(engine: Engine, outbox_id: int, *, by: User | None, now: dt.datetime) -> None:
    """Staff know an `unknown` message arrived (the client replied, the server's log shows
    it): it becomes sent and its touch is recorded."""
    with writing(engine) as conn:
        row = _load(conn, outbox_id, by)
        if not q.move(conn, outbox_id, ("unknown",), now, state="sent", sent_at=now):
            raise InvalidInput(
                f"message {outbox_id} is {row.state}: only an unknown one is marked sent"
            )
        record_sent(conn, q.get(conn, outbox_id), now)
        _audit(conn, row.client_id, by, now, "marked sent", outbox_id, row.channel, row.action_id)
    log.info("outbox %s: marked sent by %s", outbox_id, actor_of(by))


def send_again(engine: Engine, outbox_id: int, *, by: User | None, now: dt.datetime) -> None:
    """Deliberately queue a `failed` or `unknown` message again (the client may get it twice
    when it was unknown: staff decide). Consent is checked again when it is sent."""
    with writing(engine) as conn:
        row = _load(conn, outbox_id, by)
        if not q.move(
            conn,
            outbox_id,
            NEEDS_STAFF,
            now,
            state="queued",
            next_attempt_at=None,
            claimed_at=None,
            last_error=None,
        ):
            raise InvalidInput(
                f"message {outbox_id} is {row.state}: only a failed or unknown one is sent again"
            )
        _audit(conn, row.client_id, by, now, "queued again", outbox_id, row.channel, row.action_id)
    log.info("outbox %s: queued again by %s", outbox_id, actor_of(by))


def cancel(engine: Engine, outbox_id: int, *, by: User | None, now: dt.datetime) -> None:
    """Stop a message that has not left (queued, retry, failed): its action opens again."""
    with writing(engine) as conn:
        row = _load(conn, outbox_id, by)
        if not q.move(conn, outbox_id, (*WAITING, "failed"), now, state="cancelled"):
            raise InvalidInput(f"message {outbox_id} is {row.state}: it cannot be cancelled now")
        reopen_action(conn, row, now, actor=actor_of(by), why="message cancelled")
        _audit(conn, row.client_id, by, now, "cancelled", outbox_id, row.channel, row.action_id)
    log.info("outbox %s: cancelled by %s", outbox_id, actor_of(by))


def _audit(
    conn: Connection,
    client_id: int | None,
    by: User | None,
    now: dt.datetime,
    change: str,
    outbox_id: int,
    channel: str,
    action_id: int | None,
) -> None:
    """A "send" entry for what staff did to a message (not each background attempt)."""
    audit.record(
        conn,
        actor=by.email if by is not None else COMMAND_LINE,
        action="send",
        now=now,
        client_id=client_id,
        subject=audit.client_subject(conn, client_id) if client_id is not None else None,
        details={"change": change, "channel": channel, "message": outbox_id, "action": action_id},
    )


def reopen_action(conn: Connection, row: Any, now: dt.datetime, *, actor: str, why: str) -> None:
    """Put a message's action back on its list (open, today) when the message will not arrive
    (cancelled, failed): nobody is left believing the client was contacted."""
    if row.action_id is None:
        return
    action = actions_q.get_action(conn, row.action_id)
    if action is None or action.status != "done" or action.touch_id is not None:
        return
    actions_q.set_action(conn, row.action_id, status="open", closed_at=None)
    h.add_event(
        conn,
        step="reopened",
        client_id=action.client_id,
        staff_id=action.staff_id,
        actor=actor,
        user_id=None,
        at=now,
        action_id=action.id,
        reminder_id=h.reminder_of_action(conn, action.id),
        details={"outbox_id": row.id, "why": why},
    )


def messages(
    engine: Engine,
    *,
    by: User | None = None,
    staff: str | None = None,
    states: tuple[str, ...] = (),
    client: str | None = None,
    limit: int = 200,
) -> list[OutboxMessage]:
    """The outbox newest first: the owner (or the command line) sees every message, or one
    member's with `staff`; a member of staff sees their own. `client` (the business's id):
    only that client's."""
    if by is not None and not by.is_owner:
        staff = by.staff or ""
    with reading(engine) as conn:
        client_id = None
        if client is not None:
            found = conn.execute(
                select(clients.c.id).where(clients.c.external_id == client)
            ).scalar_one_or_none()
            if found is None:
                return []
            client_id = int(found)
        rows = q.listing(conn, staff_name=staff, states=states, client_id=client_id, limit=limit)
    return [message_of(r) for r in rows]


def message(engine: Engine, outbox_id: int, *, by: User | None = None) -> OutboxMessage:
    with reading(engine) as conn:
        return message_of(_load(conn, outbox_id, by))


@dataclass(frozen=True)
class SendChoice:
    """Whether Today's card offers to send by `channel`: `missing` names the settings still to
    set, `why` why the client may not be contacted this way (None: they may)."""

    channel: str
    missing: tuple[str, ...]
    why: str | None

    @property
    def ready(self) -> bool:
        return not self.missing and self.why is None


def send_choices(
    engine: Engine, settings: Settings, client_refs: list[str]
) -> dict[str, dict[str, SendChoice]]:
    """Per client (the business's id) and channel, whether a message can be sent from the
    list now: the same consent rules `queue_action` and the sender apply."""
    missing = {ch: setup_missing(settings, ch) for ch in CHANNELS}
    out: dict[str, dict[str, SendChoice]] = {}
    if not client_refs:
        return out
    with reading(engine) as conn:
        ids = conn.execute(
            select(clients.c.external_id, clients.c.id).where(
                clients.c.external_id.in_(sorted(set(client_refs)))
            )
        ).all()
        for ref, internal in ids:
            out[ref] = {
                ch: SendChoice(
                    ch, missing[ch], None if missing[ch] else refusal(conn, internal, ch)
                )
                for ch in CHANNELS
            }
    return out
