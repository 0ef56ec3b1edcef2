"""Private calendar feeds: each user may have one secret URL (`/calendar/<token>.ics`) that a
phone's calendar subscribes to without signing in. Only the token's SHA-256 is stored, so the
database never holds a live URL; making a new one or revoking it makes the old URL answer 404
at once. The token is never logged."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from sqlalchemy import Engine, delete, insert, select

from keepwarm.domain.model import User
from keepwarm.services.users import get_user
from keepwarm.store import reading, writing
from keepwarm.store.tables import calendar_feeds, users

log = logging.getLogger(__name__)
TOKEN_BYTES = 32


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(engine: Engine, user_id: int, *, now: dt.datetime) -> str:
    """A new secret token for the user's feed (shown once); any earlier one stops working."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with writing(engine) as conn:
        conn.execute(delete(calendar_feeds).where(calendar_feeds.c.user_id == user_id))
        conn.execute(
            insert(calendar_feeds).values(user_id=user_id, token_hash=_hash(token), created_at=now)
        )
    log.info("calendar feed made for user %d", user_id)
    return token


def revoke_feed(engine: Engine, user_id: int) -> bool:
    """Stop the user's feed; whether there was one."""
    with writing(engine) as conn:
        gone = conn.execute(delete(calendar_feeds).where(calendar_feeds.c.user_id == user_id))
    if gone.rowcount:
        log.info("calendar feed revoked for user %d", user_id)
    return bool(gone.rowcount)


def has_feed(engine: Engine, user_id: int) -> dt.datetime | None:
    """When the user's current feed was made; None without one."""
    with reading(engine) as conn:
        made: dt.datetime | None = conn.execute(
            select(calendar_feeds.c.created_at).where(calendar_feeds.c.user_id == user_id)
        ).scalar()
    return made


def feed_owner(engine: Engine, token: str) -> User | None:
    """The active user whose feed `token` opens; None for an unknown, revoked or too-long
    token, or a user disabled since."""
    if not token or len(token) > 200:
        return None
    with reading(engine) as conn:
        user_id = conn.execute(
            select(calendar_feeds.c.user_id)
            .join(users, users.c.id == calendar_feeds.c.user_id)
            .where(calendar_feeds.c.token_hash == _hash(token), users.c.active.is_(True))
        ).scalar()
    return None if user_id is None else get_user(engine, user_id)
