"""Forgotten passwords: a link by email that sets a new password once, within the hour.

`request_reset` answers the same whatever the address (no one learns who has an account) and
is throttled per address and per network address like sign-in (services.users.claim_attempt:
5 requests per address and 20 attempts of any kind per network address in 15 minutes). For an
active user it stores only the SHA-256 of a random token and queues the email with the link
(kind "password", key "password:{reset_id}") in the same transaction. `reset_password` checks
the new password as everywhere else, uses the link up (every other open link of the user too),
sets the password and ends every session and API token of the user; it signs nobody in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput, SignInFailed
from keepwarm.services import users as accounts
from keepwarm.services.outbox import new_message_id, setup_missing
from keepwarm.store import outbox as q
from keepwarm.store import reading, writing
from keepwarm.store.tables import password_resets, users

log = logging.getLogger(__name__)

VALID_FOR = dt.timedelta(hours=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def request_reset(
    engine: Engine, settings: Settings, email: str, *, ip: str, now: dt.datetime
) -> None:
    """Send a reset link to `email` if it is an active user's; the same (None) for any other
    address, when throttled, or when email is not set up (then nothing can be sent)."""
    if setup_missing(settings, "email"):
        log.info("password reset asked for, but email is not set up: nothing sent")
        return
    address = email.strip().lower()[:320]
    try:
        accounts.claim_attempt(engine, f"reset:{address}", ip, now=now)
    except SignInFailed:
        return  # throttled (logged by claim_attempt); the answer stays the same
    token = secrets.token_urlsafe(32)
    with writing(engine) as conn:
        user = conn.execute(
            select(users.c.id, users.c.email).where(
                users.c.email == address, users.c.active.is_(True)
            )
        ).first()
        if user is None:
            log.info("password reset asked for an address with no active account")
            return
        reset_id = conn.execute(
            password_resets.insert()
            .values(
                user_id=user.id,
                token_hash=_digest(token),
                ip=ip[:64],
                created_at=now,
                expires_at=now + VALID_FOR,
            )
            .returning(password_resets.c.id)
        ).scalar_one()
        link = f"{(settings.base_url or '').rstrip('/')}/reset/{token}"
        q.insert_message(
            conn,
            key=f"password:{reset_id}",
            kind="password",
            channel="email",
            client_id=None,
            staff_id=None,
            action_id=None,
            to_address=user.email,
            reply_to=None,
            subject="Set a new keepwarm password",
            body=(
                "Someone (we hope you) asked to set a new password for keepwarm.\n\n"
                f"Open this link within the hour to choose one (it works once):\n{link}\n\n"
                "If you did not ask, ignore this email: your password stays as it is."
            ),
            personal=False,
            bulk=False,
            message_id=new_message_id(settings),
            token=secrets.token_urlsafe(24),
            state="queued",
            created_by="keepwarm",
            created_at=now,
            updated_at=now,
        )
    log.info("password reset link queued for user %s", user.id)


@dataclass(frozen=True)
class ResetLink:
    """What a reset link is now: "ok" (with its user's email), "used", "expired" or
    "unknown"."""

    state: str
    email: str = ""

    @property
    def problem(self) -> str:
        return {
            "used": "This link was used already: ask for a new one if you need it.",
            "expired": "This link has expired (links work for an hour): ask for a new one.",
            "unknown": "This link is not valid: ask for a new one.",
        }.get(self.state, "")


def check_link(engine: Engine, token: str, *, now: dt.datetime) -> ResetLink:
    """Whether the link can still set a password (changes nothing)."""
    with reading(engine) as conn:
        row = conn.execute(
            select(password_resets, users.c.email)
            .join(users, users.c.id == password_resets.c.user_id)
            .where(password_resets.c.token_hash == _digest(token))
        ).first()
    if row is None:
        return ResetLink("unknown")
    if row.used_at is not None:
        return ResetLink("used")
    if _aware(row.expires_at) <= now:
        return ResetLink("expired")
    return ResetLink("ok", row.email)


def reset_password(engine: Engine, token: str, new: str, *, now: dt.datetime) -> None:
    """Set the password of the link's user: once, before it expires. Raises InvalidInput for
    a weak password (the link stays usable) or a used, expired or unknown link."""
    link = check_link(engine, token, now=now)
    if link.state != "ok":
        raise InvalidInput(f"link: {link.problem}")
    accounts.check_password(new, link.email)
    with writing(engine) as conn:
        used = conn.execute(
            update(password_resets)
            .where(
                password_resets.c.token_hash == _digest(token),
                password_resets.c.used_at.is_(None),
                password_resets.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(password_resets.c.user_id)
        ).first()
        if used is None:  # used (or expired) since it was checked: once only
            raise InvalidInput(
                "link: This link was used already: ask for a new one if you need it."
            )
        user_id = int(used.user_id)
        conn.execute(  # the user's other open links end too
            update(password_resets)
            .where(password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None))
            .values(used_at=now)
        )
    # sets the hash and ends every session and API token of the user
    accounts.set_password(engine, user_id, new, now=now, how="reset with an emailed link")
    log.info("password set by a reset link for user %s", user_id)
