"""Bounces: reading the sending mailbox and acting on what bounced.

`check_bounces` (the `keepwarm bounces check` command, and every few minutes in `keepwarm
serve`, keepwarm.services.background) reads the unseen messages of KEEPWARM_IMAP_URL's INBOX:

- A hard bounce (a 5.x.x failure: the address does not exist, the domain has no mail) refuses
  that address from then on: a consent event (email, refused, source 'bounce', the address),
  so the next send to it is refused, while a corrected address is sendable again
  (services.consent.refusal). The bounced outbox message, found by the Message-ID the bounce
  quotes, gets last_error "bounced: <status> <words>" and is (or becomes) sent: an `unknown`
  one reached the server after all, so it is sent and bounced (its touch is not recorded: the
  client did not get it), and the Outbox says call instead, not send again.
- A soft bounce (4.x.x, or delayed) is logged and kept in the bounces table; nothing is
  refused.
- Anything else (an out-of-office reply, a client's answer) is ignored.

Each message is marked \\Seen once handled (after its transaction commits), and its key (its
Message-ID, else its IMAP UID) is stored with its bounces, so a message is never handled twice
even when a run stops between the two.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput
from keepwarm.messaging.dsn import Bounce, Failure, read_bounce
from keepwarm.messaging.imap import Fetched, MailboxError, open_mailbox
from keepwarm.services.consent import record
from keepwarm.store import bounces as q
from keepwarm.store import consent as consent_store
from keepwarm.store import outbox as outbox_q
from keepwarm.store import reading, writing

log = logging.getLogger(__name__)

ACTOR = "the mail server (bounce)"
CHECK_EVERY = 300.0
"""Seconds between two background checks of the mailbox."""
BATCH = 200
"""Messages read in one check (the rest wait for the next)."""


class BounceCheckFailed(InvalidInput):
    """The mailbox could not be read (named in words, never with its password)."""


@dataclass
class BounceReport:
    """What one check did: failed recipients per kind, and messages that were not bounces."""

    hard: int = 0
    soft: int = 0
    ignored: int = 0
    already: int = 0  # handled by an earlier run (marked seen now)

    def summary(self) -> str:
        return f"hard {self.hard}, soft {self.soft}, ignored {self.ignored}"


def check_bounces(
    engine: Engine, settings: Settings, *, now: dt.datetime, limit: int = BATCH
) -> BounceReport:
    """Read the mailbox's unseen messages once (see the module's account)."""
    if not settings.imap_url:
        raise InvalidInput("set KEEPWARM_IMAP_URL to the sending mailbox to read its bounces")
    report = BounceReport()
    try:
        with open_mailbox(settings.imap_url) as box:
            for fetched in box.unseen(limit):
                _handle(engine, box.uidvalidity, fetched, now, report)
                box.mark_seen(fetched.uid)
    except MailboxError as exc:
        raise BounceCheckFailed(f"KEEPWARM_IMAP_URL: {exc}") from None
    if report.hard or report.soft:
        log.info("bounces: %s", report.summary())
    return report


def _handle(
    engine: Engine, uidvalidity: str, fetched: Fetched, now: dt.datetime, report: BounceReport
) -> None:
    bounce = read_bounce(fetched.raw)
    if bounce is None:
        report.ignored += 1
        return
    key = bounce.message_id or f"uid:{uidvalidity}:{fetched.uid}"
    try:
        with writing(engine) as conn:
            if q.seen(conn, key):
                report.already += 1
                return
            for failure in bounce.failures:
                _failure(conn, key, bounce, failure, now)
    except IntegrityError:  # another check handled the same message at the same moment
        report.already += 1
        return
    report.hard += sum(1 for f in bounce.failures if f.kind == "hard")
    report.soft += sum(1 for f in bounce.failures if f.kind == "soft")


def _failure(
    conn: Connection, key: str, bounce: Bounce, failure: Failure, now: dt.datetime
) -> None:
    linked = q.outbox_by_message_id(conn, bounce.original_message_id or "")
    outbox_id, client_ids = None, q.clients_with_email(conn, failure.address)
    row = None
    if linked is not None:
        row = outbox_q.get(conn, linked[0])
        if row is not None and row.to_address.lower() == failure.address:
            outbox_id = linked[0]
            client_ids = [linked[1]] if linked[1] is not None else []
    q.add(
        conn,
        message_key=key,
        address=failure.address,
        kind=failure.kind,
        status=failure.status or "unknown",
        diagnostic=failure.diagnostic or None,
        outbox_id=outbox_id,
        client_id=client_ids[0] if client_ids else None,
        at=now,
    )
    if failure.kind != "hard":
        log.info("bounce: soft %s for outbox %s (nothing refused)", failure.status, outbox_id)
        return
    words = f"bounced: {failure.status or 'failed'} {failure.diagnostic}".strip()
    if outbox_id is not None and row is not None:
        # An unknown message that bounced did reach the server: sent, and bounced (no touch:
        # the client did not get it), so staff are told to call, not to send it again.
        sent = {"state": "sent", "sent_at": row.claimed_at or now}
        if not outbox_q.move(conn, outbox_id, ("unknown",), now, **sent, last_error=words):
            outbox_q.move(conn, outbox_id, ("sent",), now, last_error=words)
    for client_id in client_ids:
        _refuse(conn, client_id, failure, now)
    log.info(
        "bounce: hard %s for outbox %s, %d client(s)", failure.status, outbox_id, len(client_ids)
    )


def _refuse(conn: Connection, client_id: int, failure: Failure, now: dt.datetime) -> None:
    """Refuse the bounced address, unless the client's email is refused already in a way this
    event would undo (the latest event is the state: a bounce of another address recorded
    after an unsubscribe would read as allowed for the current address)."""
    latest = consent_store.latest(conn, client_id).get("email")
    same = latest is not None and (latest.address or "").lower() == failure.address
    if latest is not None and not latest.allowed and (latest.source != "bounce" or same):
        return
    record(
        conn,
        client_id=client_id,
        channel="email",
        allowed=False,
        source="bounce",
        actor=ACTOR,
        now=now,
        address=failure.address,
        note=f"{failure.status} {failure.diagnostic}".strip()[:500] or None,
    )


def bounced_outbox_ids(engine: Engine, among: Iterable[int] | None = None) -> set[int]:
    """The outbox messages (among `among`, default all) that bounced hard: for the Outbox
    page's "bounced" mark."""
    with reading(engine) as conn:
        return q.hard_bounced_outbox_ids(conn, among)


_last_check: dict[tuple[str, str], float] = {}
_lock = threading.Lock()


def check_if_due(engine: Engine, settings: Settings, *, now: dt.datetime) -> BounceReport | None:
    """The background's check: at most every CHECK_EVERY seconds per mailbox, None when it
    was not time (or no mailbox is set). A mailbox that cannot be read is logged, not raised."""
    url = settings.imap_url
    if not url:
        return None
    key = (str(engine.url), url)  # per database and mailbox
    with _lock:
        last = _last_check.get(key)
        if last is not None and time.monotonic() - last < CHECK_EVERY:
            return None
        _last_check[key] = time.monotonic()
    try:
        return check_bounces(engine, settings, now=now)
    except BounceCheckFailed as exc:
        log.warning("bounces were not read: %s; tried again in %d minutes", exc, CHECK_EVERY // 60)
        return None
