"""The one small interface every delivery channel (email over SMTP, texts through a gateway)
implements: take one message, say what became of it.

The outcome decides what the outbox does next (keepwarm.services.delivery): `SENT` records the
touch; `PERMANENT` marks the message failed and shows it to staff; `TRANSIENT` (the server
refused *before* it accepted the message) retries later with backoff; `UNKNOWN` (the
connection broke after the message went out: the server may have it) is shown to staff and
never sent again automatically.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class Outcome(enum.StrEnum):
    SENT = "sent"
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Delivery:
    """What became of one message: the outcome and, for staff and the log, why."""

    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class OutgoingMessage:
    """One message as a channel sends it. `to` is an email address or an E.164 phone number;
    `unsubscribe_url` is set on messages that carry List-Unsubscribe (not on replies)."""

    outbox_id: int
    channel: str
    to: str
    body: str
    message_id: str
    subject: str | None = None
    sender: str | None = None
    reply_to: str | None = None
    unsubscribe_url: str | None = None
    unsubscribe_post_url: str | None = None


class Channel(Protocol):
    """Delivers messages of one channel ("email", "sms")."""

    name: str

    def send(self, message: OutgoingMessage) -> Delivery:
        """Deliver `message` once. Never raises for a delivery problem: the outcome says it."""
        ...

    def close(self) -> None:
        """Release any connection kept between messages."""
        ...
