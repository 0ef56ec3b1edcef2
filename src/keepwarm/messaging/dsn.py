"""Reading bounce messages: delivery status notifications (RFC 3464) and, as a second opinion
for mail servers that do not send them, flufl.bounce's recognisers.

`read_bounce(raw)` says, for one message from the sending mailbox, which recipients failed
and how: `hard` (Action: failed with a 5.x.x status: the address does not work) or `soft`
(a 4.x.x status, or Action: delayed: a full mailbox, a server down for now). Anything else
(an out-of-office reply, a client's answer, a delivery receipt) is None: it is not a bounce.

The strict check comes first: `Content-Type: multipart/report; report-type=delivery-status`
with a `message/delivery-status` part, whose per-recipient fields are parsed here with the
standard library. Only a message from a mail system (a null or MAILER-DAEMON/postmaster
sender) that is not a DSN is shown to flufl.bounce, so an automatic reply from a person's
mailbox is never taken for a bounce.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import parseaddr

from flufl.bounce import all_failures

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SYSTEM_SENDERS = ("mailer-daemon", "postmaster", "mail delivery subsystem")


@dataclass(frozen=True)
class Failure:
    """One recipient's failure: the address, hard or soft, the status and the server's words."""

    address: str
    kind: str  # "hard" | "soft"
    status: str  # "5.1.1", or "" when the bounce did not say
    diagnostic: str


@dataclass(frozen=True)
class Bounce:
    """A bounce message: who failed, and the Message-ID of the message that bounced (to find
    it in the outbox) when the bounce quotes it."""

    message_id: str | None  # the bounce's own Message-ID
    original_message_id: str | None
    failures: tuple[Failure, ...]
    standard: bool  # a DSN (False: recognised by flufl.bounce)


def parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _address(value: str | None) -> str:
    """The address of a `Final-Recipient: rfc822; ann@example.com` field."""
    if not value:
        return ""
    _, _, address = value.partition(";")
    return parseaddr(address.strip() or value)[1].strip().lower()


def _clean(text: str | None, limit: int = 300) -> str:
    return " ".join((text or "").split())[:limit]


def _original_message_id(message: Message) -> str | None:
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            found = HeaderParser().parsestr(text).get("Message-ID")
        elif kind == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            found = first.get("Message-ID") if isinstance(first, Message) else None
        else:
            continue
        if found:
            return str(found).strip()
    return None


def _is_dsn(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type", "")).lower() == "delivery-status"
        and any(p.get_content_type() == "message/delivery-status" for p in message.walk())
    )


def _recipient_failure(fields: Message) -> Failure | None:
    action = str(fields.get("Action", "")).strip().lower()
    found = _STATUS.search(str(fields.get("Status", "")))
    status = found.group(0) if found else ""
    address = _address(fields.get("Final-Recipient")) or _address(fields.get("Original-Recipient"))
    if not address:
        return None
    if action == "failed" and status.startswith("5"):
        kind = "hard"
    elif action == "delayed" or (action == "failed" and status.startswith("4")):
        kind = "soft"
    else:  # delivered, relayed, expanded: not a failure
        return None
    return Failure(address, kind, status, _clean(fields.get("Diagnostic-Code")))


def _dsn_failures(message: Message) -> tuple[Failure, ...]:
    out: list[Failure] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1:]:  # the first block is about the message, the rest per recipient
            failure = _recipient_failure(block) if isinstance(block, Message) else None
            if failure is not None:
                out.append(failure)
    return tuple(out)


def _from_mail_system(message: Message) -> bool:
    if str(message.get("Return-Path", "")).strip() == "<>":
        return True
    name, address = parseaddr(str(message.get("From", "")))
    who = f"{name} {address}".lower()
    return any(s in who for s in _SYSTEM_SENDERS)


def _flufl_failures(message: Message) -> tuple[Failure, ...]:
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a recogniser choking on odd mail: not a bounce we can read
        return ()
    out = [Failure(a.decode("utf-8", "replace").lower(), "hard", "", "") for a in permanent]
    out += [Failure(a.decode("utf-8", "replace").lower(), "soft", "", "") for a in temporary]
    return tuple(f for f in out if "@" in f.address)


def read_bounce(raw: bytes) -> Bounce | None:
    """The bounce in `raw`, or None when it is not one (see the module's account)."""
    message = parse(raw)
    own_id = _clean(message.get("Message-ID"), 250) or None
    if _is_dsn(message):
        failures = _dsn_failures(message)
        standard = True
    elif _from_mail_system(message):
        failures = _flufl_failures(message)
        standard = False
    else:
        return None
    if not failures:
        return None
    return Bounce(own_id, _original_message_id(message), failures, standard)
