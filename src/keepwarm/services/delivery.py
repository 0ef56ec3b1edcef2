"""Delivering the outbox: each message at most once, never to someone who said no.

`deliver_due` is one sending run (the `keepwarm outbox send` command, and every ~15 seconds in
`keepwarm serve`, keepwarm.services.background). For each message due, oldest first:

1. Claim it: a conditional UPDATE queued/retry -> sending, committed before the network call.
   Two senders never both win; a sender killed after this point leaves a `sending` row, which
   the next run turns `unknown` after the lease (it may have arrived: never resent).
2. In the same transaction, ask consent again (do not contact, unsubscribed, bounced, SMS
   consent): refused, the message is `failed` with the reason and its action opens again.
3. Send it through its channel, within the policy's budget (per rolling minute, per local day).
   Texts in quiet hours wait until they end (no attempt counted).
4. Record the outcome in one transaction: SENT -> sent and the touch on the client's timeline;
   PERMANENT -> failed and the action back on the list; TRANSIENT -> retry with exponential
   backoff (failed after MAX_ATTEMPTS), and the run slows down; UNKNOWN -> unknown, shown to
   staff, never sent again by itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from keepwarm.config import Settings
from keepwarm.domain.policy import Policy
from keepwarm.messaging.channels import Channel, Delivery, Outcome, OutgoingMessage
from keepwarm.messaging.sms import SmsChannel
from keepwarm.messaging.smtp import SmtpChannel
from keepwarm.services.consent import refusal
from keepwarm.services.outbox import record_sent, reopen_action, setup_missing
from keepwarm.services.policy import get_policy
from keepwarm.store import outbox as q
from keepwarm.store import reading, writing
from keepwarm.store.tables import outbox

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)
"""A message `sending` for longer than this was being sent by a process that stopped."""
STOPPED = "the sender stopped while sending; it may have arrived"
MAX_ATTEMPTS = 8
"""Transient refusals before a message is given up (failed): about four hours of retrying."""
RETRY_CAP = dt.timedelta(hours=1)
SLOW_DOWN_CAP = 30.0
"""Longest pause (seconds) between messages after a server said "try later"."""
GIVE_UP_RUN = 3
"""Transient refusals in a row after which a run leaves the channel's other messages for the
next run (the server is unwell)."""
ACTOR = "keepwarm"
DUE_STATES = ("queued", "retry")


@dataclass
class DeliveryReport:
    """What one run did: messages per outcome, those left for later and why."""

    sent: int = 0
    retry: int = 0
    failed: int = 0
    unknown: int = 0
    throttled: int = 0  # due, left for the budget (per minute or per day)
    deferred: int = 0  # texts in quiet hours
    not_configured: int = 0  # their channel is not set up
    stale: int = 0  # `sending` rows of a stopped sender, now unknown
    skipped: int = 0  # another sender claimed them first
    wait_until: dt.datetime | None = None  # when the budget allows the next message
    outcomes: dict[int, str] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"sent {self.sent}, retry {self.retry}, failed {self.failed}, "
            f"unknown {self.unknown}, throttled {self.throttled}"
        )


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 ... minutes after the 1st, 2nd, 3rd ... attempt, at most an hour."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), RETRY_CAP)


def build_channels(settings: Settings, wanted: set[str]) -> dict[str, Channel]:
    """The channels the settings configure, among `wanted`."""
    channels: dict[str, Channel] = {}
    if "email" in wanted and not setup_missing(settings, "email") and settings.smtp_url:
        channels["email"] = SmtpChannel(settings.smtp_url)
    if "sms" in wanted and settings.sms_url:
        channels["sms"] = SmsChannel(settings.sms_url)
    return channels


def _outgoing(row: Any, settings: Settings) -> OutgoingMessage:
    unsubscribe = None
    if row.bulk and row.token and settings.base_url:
        unsubscribe = f"{settings.base_url}/unsubscribe/{row.token}"
    return OutgoingMessage(
        outbox_id=row.id,
        channel=row.channel,
        to=row.to_address,
        body=row.body,
        message_id=row.message_id,
        subject=row.subject,
        sender=settings.mail_from,
        reply_to=row.reply_to,
        unsubscribe_url=unsubscribe,
        unsubscribe_post_url=unsubscribe,
    )


def _scrubbed(detail: str) -> str:
    """A server's reply for the log: addresses removed (they are personal data)."""
    return re.sub(r"\S+@\S+", "<address>", detail)[:200]


class _Budget:
    """The policy's sending budget: per rolling minute and per local day, counted from the
    outbox itself (so two senders, or a restarted one, share it)."""

    def __init__(self, engine: Engine, policy: Policy) -> None:
        self.engine = engine
        self.policy = policy

    def next_slot(self, now: dt.datetime) -> dt.datetime | None:
        """None when a message may leave now, else the earliest time one may."""
        zone = ZoneInfo(self.policy.time_zone)
        local = now.astimezone(zone)
        day_start = dt.datetime.combine(local.date(), dt.time(), tzinfo=zone)
        with reading(self.engine) as conn:
            minute = q.left_since(conn, now - dt.timedelta(minutes=1))
            day = q.left_since(conn, day_start)
        if day >= self.policy.send_per_day:
            return day_start + dt.timedelta(days=1)
        if minute >= self.policy.send_per_minute:
            return now + dt.timedelta(seconds=10)
        return None


def settle_stale(engine: Engine, now: dt.datetime) -> int:
    """Turn messages a stopped sender left `sending` into `unknown` (never resent)."""
    n = 0
    with writing(engine) as conn:
        for outbox_id in q.stale_sending(conn, now - LEASE):
            if q.move(conn, outbox_id, ("sending",), now, state="unknown", last_error=STOPPED):
                log.warning("outbox %s: outcome unknown (%s)", outbox_id, STOPPED)
                n += 1
    return n


def deliver_due(
    engine: Engine,
    settings: Settings,
    *,
    now_fn: Callable[[], dt.datetime],
    channels: Mapping[str, Channel] | None = None,
    limit: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int, int], None] | None = None,
) -> DeliveryReport:
    """Send the messages due now (at most `limit`), each at most once; see the module's
    account. `channels` replaces the ones the settings configure (closed by the caller);
    `sleep` is how the run slows down after a server says "try later"; `progress(done,
    total)` is called after each message."""
    report = DeliveryReport()
    # Times are stored in UTC (SQLite keeps no offset): every "now" of the run is UTC.
    clock = now_fn
    now_fn = lambda: clock().astimezone(dt.UTC)  # noqa: E731
    report.stale = settle_stale(engine, now_fn())
    with reading(engine) as conn:
        rows = q.due(conn, now_fn(), limit)
    if not rows:
        return report
    policy = get_policy(engine)
    own = channels is None
    active = dict(channels) if channels is not None else {}
    if own:
        active = build_channels(settings, {r.channel for r in rows})
    budget = _Budget(engine, policy)
    troubled: dict[str, int] = {}  # transient refusals in a row, per channel
    try:
        for done, row in enumerate(rows, 1):
            _one(engine, settings, row, active, policy, budget, troubled, report, now_fn, sleep)
            if progress is not None:
                progress(done, len(rows))
            if report.wait_until is not None:
                report.throttled += len(rows) - done + (row.id not in report.outcomes)
                break
    finally:
        if own:
            for channel in active.values():
                channel.close()
    if report.wait_until is not None:
        log.info("sending paused by the budget until %s", report.wait_until.isoformat())
    return report


def _one(
    engine: Engine,
    settings: Settings,
    row: Any,
    channels: Mapping[str, Channel],
    policy: Policy,
    budget: _Budget,
    troubled: dict[str, int],
    report: DeliveryReport,
    now_fn: Callable[[], dt.datetime],
    sleep: Callable[[float], None],
) -> None:
    now = now_fn()
    if row.channel == "sms":
        until = policy.quiet_until_time(now)
        if until is not None:
            with writing(engine) as conn:
                q.move(conn, row.id, (row.state,), now, next_attempt_at=until.astimezone(dt.UTC))
            log.info("outbox %s: sms deferred to %s (quiet hours)", row.id, until.isoformat())
            report.deferred += 1
            return
    channel = channels.get(row.channel)
    if channel is None:
        log.info("outbox %s: left queued, %s is not set up", row.id, row.channel)
        report.not_configured += 1
        return
    if troubled.get(row.channel, 0) >= GIVE_UP_RUN:
        report.throttled += 1  # left for the next run: the server keeps saying "later"
        return
    report.wait_until = budget.next_slot(now)
    if report.wait_until is not None:
        return
    if not _claim(engine, row, now, report):
        return
    if troubled.get(row.channel):
        sleep(min(2.0 ** (troubled[row.channel] - 1), SLOW_DOWN_CAP))
    started = time.monotonic()
    try:
        delivery = channel.send(_outgoing(row, settings))
    except Exception as exc:  # a channel's bug: whether it left is not known
        log.exception("outbox %s: the %s channel failed", row.id, row.channel)
        delivery = Delivery(Outcome.UNKNOWN, f"the sender failed: {type(exc).__name__}")
    ms = round((time.monotonic() - started) * 1000)
    state = _record(engine, row, delivery, now_fn())
    troubled[row.channel] = troubled.get(row.channel, 0) + 1 if state == "retry" else 0
    report.outcomes[row.id] = state
    setattr(report, state, getattr(report, state) + 1)
    log.info(
        "outbox %s: %s %s in %d ms (%s)",
        row.id,
        row.channel,
        state,
        ms,
        _scrubbed(delivery.detail),
        extra={"outbox_id": row.id, "channel": row.channel, "outcome": state, "duration_ms": ms},
    )


def _claim(engine: Engine, row: Any, now: dt.datetime, report: DeliveryReport) -> bool:
    """Claim the message for this sender, asking consent again; False: not to be sent now."""
    with writing(engine) as conn:
        why = None
        if row.client_id is not None:
            why = refusal(conn, row.client_id, row.channel, row.to_address)
        if why is not None:
            if not q.move(
                conn, row.id, DUE_STATES, now, state="failed", last_error=f"not sent: {why}"
            ):
                report.skipped += 1
                return False
            reopen_action(conn, row, now, actor=ACTOR, why=f"not sent: {why}")
            report.failed += 1
            report.outcomes[row.id] = "failed"
            log.info("outbox %s: %s not sent (consent refused)", row.id, row.channel)
            return False
        claimed = q.move(
            conn,
            row.id,
            DUE_STATES,
            now,
            state="sending",
            claimed_at=now,
            attempts=outbox.c.attempts + 1,  # counted in SQL: the row's own, not our copy
        )
    if not claimed:
        report.skipped += 1
    return claimed


def _record(engine: Engine, row: Any, delivery: Delivery, now: dt.datetime) -> str:
    """Settle the claimed message by the channel's outcome, in one transaction; its state."""
    with writing(engine) as conn:
        current = q.get(conn, row.id)
        attempts = int(current.attempts) if current is not None else row.attempts + 1
        match delivery.outcome:
            case Outcome.SENT:
                q.move(conn, row.id, ("sending",), now, state="sent", sent_at=now, last_error=None)
                record_sent(conn, q.get(conn, row.id), now)
                return "sent"
            case Outcome.TRANSIENT if attempts < MAX_ATTEMPTS:
                q.move(
                    conn,
                    row.id,
                    ("sending",),
                    now,
                    state="retry",
                    next_attempt_at=now + retry_delay(attempts),
                    last_error=delivery.detail,
                )
                return "retry"
            case Outcome.TRANSIENT | Outcome.PERMANENT:
                detail = delivery.detail
                if delivery.outcome is Outcome.TRANSIENT:
                    detail = f"gave up after {attempts} attempts: {detail}"
                q.move(conn, row.id, ("sending",), now, state="failed", last_error=detail)
                reopen_action(conn, row, now, actor=ACTOR, why="the message could not be sent")
                return "failed"
            case _:
                q.move(conn, row.id, ("sending",), now, state="unknown", last_error=delivery.detail)
                return "unknown"
