"""The unsubscribe link of a message: what its page shows, and unsubscribing.

The link's token (outbox.token, a secret made when the message was queued) is the authority:
whoever holds the message may unsubscribe its client from the message's channel, without
signing in. Looking the link up changes nothing (mail scanners follow links); unsubscribing
records one consent event and is idempotent, so a provider's one-click POST and the client's
own click after it record one refusal, not two.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy import Connection, Engine, select

from keepwarm.config import Settings
from keepwarm.services.consent import record
from keepwarm.store import consent as consent_store
from keepwarm.store import outbox as q
from keepwarm.store import reading, writing
from keepwarm.store.tables import clients

log = logging.getLogger(__name__)

ACTOR = "the client (unsubscribe link)"


@dataclass(frozen=True)
class UnsubscribeLink:
    """What the confirmation page shows: the practice and the masked address."""

    practice: str
    channel: str
    masked: str
    already: bool  # the client is unsubscribed from this channel already


def practice_name(settings: Settings) -> str:
    """The practice as the sender's name says it ("Northside Physio"), else its address."""
    if not settings.mail_from:
        return "us"
    name, address = parseaddr(settings.mail_from)
    return name or address


def mask(address: str) -> str:
    """An address shown to whoever holds the link: enough to recognise it, not to read it
    ("a***@example.com", "+1503*****01")."""
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(address) > 6:
        return address[:5] + "*" * (len(address) - 7) + address[-2:]
    return "***"


def _unsubscribed(conn: Connection, client_id: int, channel: str) -> bool:
    latest = consent_store.latest(conn, client_id).get(channel)
    return latest is not None and not latest.allowed and latest.source == "unsubscribe"


def lookup(engine: Engine, settings: Settings, token: str) -> UnsubscribeLink | None:
    """The link's page, or None for a token that is no message's. Changes nothing."""
    with reading(engine) as conn:
        row = q.by_token(conn, token) if token else None
        if row is None or row.client_id is None:
            return None
        already = _unsubscribed(conn, row.client_id, row.channel)
    return UnsubscribeLink(practice_name(settings), row.channel, mask(row.to_address), already)


def unsubscribe(engine: Engine, token: str, *, now: dt.datetime) -> bool | None:
    """Unsubscribe the message's client from its channel: True when this recorded the
    refusal, False when the client was unsubscribed already (nothing new is recorded), None
    for a token that is no message's."""
    with writing(engine) as conn:
        row = q.by_token(conn, token) if token else None
        if row is None or row.client_id is None:
            return None
        # Two clicks at once (a provider's one-click POST and the client's) wait for each
        # other here on PostgreSQL; SQLite's writes are serial already (BEGIN IMMEDIATE).
        conn.execute(select(clients.c.id).where(clients.c.id == row.client_id).with_for_update())
        if _unsubscribed(conn, row.client_id, row.channel):
            return False
        record(
            conn,
            client_id=row.client_id,
            channel=row.channel,
            allowed=False,
            source="unsubscribe",
            actor=ACTOR,
            now=now,
            address=row.to_address,
        )
    log.info("outbox %s: the client unsubscribed from %s", row.id, row.channel)
    return True
