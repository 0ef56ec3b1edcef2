"""The work `keepwarm serve` does by itself between requests, one round at a time.

`cycle` is called every ~15 seconds by the web app's background thread (keepwarm.web.app):
it delivers the outbox's due messages when email or texts are set up. Each step is safe to
run twice or concurrently (the outbox claims each message with a conditional update).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import Engine

from keepwarm.config import Settings
from keepwarm.services.bounces import check_if_due
from keepwarm.services.delivery import deliver_due

log = logging.getLogger(__name__)

INTERVAL = 15.0
"""Seconds between rounds."""


def cycle(engine: Engine, settings: Settings, *, now_fn: Callable[[], dt.datetime]) -> None:
    """One round of background work: deliver what is due (when a channel is set up)."""
    if not settings.mail_missing or settings.sms_url:
        report = deliver_due(engine, settings, now_fn=now_fn)
        if report.outcomes or report.stale:
            log.info("background delivery: %s", report.summary())
    if settings.imap_url:  # at most every few minutes (services.bounces.CHECK_EVERY)
        check_if_due(engine, settings, now=now_fn())
