"""Who may be contacted by which channel, asked again at the moment of sending.

One function, `refusal`, answers for the outbox (when queuing and again inside the send), the
print batches and the pages alike: do-not-contact, the latest consent event per channel
(unsubscribed, the client's request), a bounced address (a hard bounce refuses that address
only: a corrected one can be used), texts only to a mobile number with SMS consent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers
from sqlalchemy import Connection, Engine, select

from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.services import audit
from keepwarm.store import consent as store
from keepwarm.store import reading, writing
from keepwarm.store.consent import ConsentEvent
from keepwarm.store.tables import CONSENT_CHANNELS, clients

SOURCES = ("import", "staff", "unsubscribe", "bounce", "request")

_MOBILE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def is_mobile(phone: str | None) -> bool:
    """Whether `phone` (stored as E.164) can receive texts: a mobile number, or one whose
    numbering plan does not tell mobiles apart (as in the US)."""
    if not phone:
        return False
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) in _MOBILE


def _client(conn: Connection, client_id: int) -> Any:
    c = clients.c
    row = conn.execute(
        select(c.id, c.external_id, c.email, c.phone, c.address, c.do_not_contact).where(
            c.id == client_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no client with internal id {client_id}")
    return row


def _date(at: dt.datetime) -> str:
    return f"{at:%-d %b %Y}"


def refusal(
    conn: Connection, client_id: int, channel: str, address: str | None = None
) -> str | None:
    """Why the client may not be contacted by `channel` now (None: they may). `address` is the
    email address or phone number the message goes to (default: the client's own)."""
    row = _client(conn, client_id)
    return refusal_of(row, store.latest(conn, row.id), channel, address)


DO_NOT_CONTACT = "the client is marked do not contact"


def refusal_of(
    contact: Any, events: Mapping[str, ConsentEvent], channel: str, address: str | None = None
) -> str | None:
    """`refusal`'s rules on what was read already: `contact` has the client's
    `do_not_contact`, `email`, `phone` and `address`; `events` the latest consent event per
    channel (keepwarm.store.consent.latest, or a batch of clients' at once)."""
    if contact.do_not_contact:
        return DO_NOT_CONTACT
    if channel == "email":
        address = address or contact.email
        if not address:
            return "no email address"
    elif channel == "sms":
        address = address or contact.phone
        if not address:
            return "no phone number"
        if not is_mobile(address):
            return "the phone number is not a mobile number"
    elif channel == "post" and not contact.address:
        return "no postal address"
    return _refused_by(events.get(channel), channel, address)


def _refused_by(event: ConsentEvent | None, channel: str, address: str | None) -> str | None:
    if channel == "sms" and (event is None or not event.allowed):
        if event is None:
            return "no consent to texts on record"
        return _why(event)
    if event is None or event.allowed:
        return None
    if event.source == "bounce" and event.address and address and event.address != address:
        return None  # the bounced address was corrected since
    return _why(event)


def _why(event: ConsentEvent) -> str:
    when = _date(event.at)
    match event.source:
        case "unsubscribe":
            return f"unsubscribed on {when}"
        case "bounce":
            return f"the address {event.address or ''} bounced on {when}".replace("  ", " ")
        case "import":
            return f"refused in the imported file ({when})"
        case _:
            return f"the client asked not to be contacted this way ({when})"


@dataclass(frozen=True)
class ChannelState:
    channel: str
    allowed: bool
    why: str | None  # the refusal, in words
    latest: ConsentEvent | None


def states(engine: Engine, client_id: int) -> list[ChannelState]:
    """For the client's page: per channel, whether contact is allowed now and why not."""
    with reading(engine) as conn:
        events = store.latest(conn, client_id)
        out = []
        for channel in CONSENT_CHANNELS:
            why = refusal(conn, client_id, channel)
            out.append(ChannelState(channel, why is None, why, events.get(channel)))
        return out


def record(
    conn: Connection,
    *,
    client_id: int,
    channel: str,
    allowed: bool,
    source: str,
    actor: str,
    now: dt.datetime,
    address: str | None = None,
    note: str | None = None,
) -> int:
    """Append a consent event, and its audit entry (in the caller's transaction)."""
    if channel not in CONSENT_CHANNELS:
        raise InvalidInput(f"channel: one of {', '.join(CONSENT_CHANNELS)}, not {channel!r}")
    if source not in SOURCES:
        raise InvalidInput(f"source: one of {', '.join(SOURCES)}, not {source!r}")
    audit.record(
        conn,
        actor=actor,
        action="consent",
        now=now,
        client_id=client_id,
        subject=audit.client_subject(conn, client_id),
        details={"channel": channel, "allowed": allowed, "source": source, "address": address},
    )
    return store.add_event(
        conn,
        client_id=client_id,
        channel=channel,
        allowed=allowed,
        source=source,
        actor=actor,
        at=now,
        address=address,
        note=note,
    )


def set_consent(
    engine: Engine,
    client_ref: str,
    channel: str,
    allowed: bool,
    *,
    actor: str,
    now: dt.datetime,
    source: str = "staff",
    note: str | None = None,
) -> None:
    """Record consent given or withdrawn for the client with the business's id `client_ref`."""
    with writing(engine) as conn:
        internal = conn.execute(
            select(clients.c.id).where(clients.c.external_id == client_ref)
        ).scalar_one_or_none()
        if internal is None:
            raise NotFound(f"no client {client_ref!r} (see `keepwarm clients`)")
        record(
            conn,
            client_id=internal,
            channel=channel,
            allowed=allowed,
            source=source,
            actor=actor,
            now=now,
            note=note,
        )


@dataclass(frozen=True)
class ClientConsent:
    """A client's contact preferences, for their page and `keepwarm consent CLIENT_ID`: each
    channel's state, every event newest first, and a bounced email address in words."""

    client_ref: str
    states: list[ChannelState]
    history: list[ConsentEvent]
    bounced: str | None

    def as_json(self) -> dict[str, Any]:
        def event(e: ConsentEvent | None) -> dict[str, Any] | None:
            if e is None:
                return None
            return {
                "channel": e.channel,
                "allowed": e.allowed,
                "source": e.source,
                "address": e.address,
                "actor": e.actor,
                "note": e.note,
                "at": e.at.isoformat(),
            }

        return {
            "client": self.client_ref,
            "channels": {
                s.channel: {"allowed": s.allowed, "why": s.why, "latest": event(s.latest)}
                for s in self.states
            },
            "bounced": self.bounced,
            "history": [event(e) for e in self.history],
        }


def client_consent(engine: Engine, client_ref: str) -> ClientConsent:
    """The contact preferences of the client with the business's id `client_ref`."""
    with reading(engine) as conn:
        internal = conn.execute(
            select(clients.c.id).where(clients.c.external_id == client_ref)
        ).scalar_one_or_none()
        if internal is None:
            raise NotFound(f"no client {client_ref!r} (see `keepwarm clients`)")
        history = store.history(conn, internal)
    found = states(engine, internal)
    email = next(s for s in found if s.channel == "email")
    bounced = None
    if not email.allowed and email.latest is not None and email.latest.source == "bounce":
        when = _date(email.latest.at)
        bounced = (
            f"Email to {email.latest.address} bounced on {when} — call instead, "
            "and correct the address"
        )
    return ClientConsent(client_ref, found, history, bounced)
