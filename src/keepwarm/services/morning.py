"""The morning email: each member of staff who asked for it gets their day's list by email
once the daily job has made the plan; the owner gets the team's summary.

`queue_morning` writes one outbox row per opted-in user with the key "morning:{day}:{user}"
(unique), in one transaction: run twice, or by two processes at once, it queues each email
once. Nothing is queued when email is not set up (said once per process in the log). The
messages leave with the outbox's next delivery round (keepwarm.services.delivery); they carry
no unsubscribe link (they are not bulk mail to clients): a user turns them off on their
account page or with `keepwarm user morning-email EMAIL --off`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import IntegrityError

from keepwarm.config import Settings
from keepwarm.domain.errors import NotFound
from keepwarm.services.outbox import new_message_id, setup_missing
from keepwarm.store import outbox as q
from keepwarm.store import reading, writing
from keepwarm.store.tables import outbox, staff, users

if TYPE_CHECKING:
    from keepwarm.services.todays_list import TodayView

log = logging.getLogger(__name__)
_said_not_set_up = False


@dataclass(frozen=True)
class Morning:
    """One morning email: to whom, and what it says."""

    user_id: int
    staff_id: int | None
    to: str
    subject: str
    body: str


def set_morning_email(engine: Engine, email: str, on: bool) -> None:
    """Turn the user's morning email on or off. Raises NotFound."""
    with writing(engine) as conn:
        done = conn.execute(
            update(users).where(users.c.email == email.strip().lower()).values(morning_email=on)
        )
        if done.rowcount != 1:
            raise NotFound(f"no user with email {email!r} (see `keepwarm user list`)")


def wants_morning_email(engine: Engine, user_id: int) -> bool:
    with reading(engine) as conn:
        value = conn.execute(
            select(users.c.morning_email).where(users.c.id == user_id)
        ).scalar_one_or_none()
    return bool(value)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _day_words(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def mornings(
    engine: Engine, settings: Settings, *, day: dt.date, now: dt.datetime
) -> list[Morning]:
    """The morning emails of `day` (nothing is written): a member's list (rank, client, why,
    suggested channel) and, for the owner, the team's summary."""
    from keepwarm.services.todays_list import today_view  # it imports the daily job

    with reading(engine) as conn:
        people = conn.execute(
            select(users.c.id, users.c.email, users.c.role, users.c.staff_id, staff.c.name)
            .outerjoin(staff, staff.c.id == users.c.staff_id)
            .where(users.c.morning_email.is_(True), users.c.active.is_(True))
            .order_by(users.c.id)
        ).all()
        counts = q.state_counts(conn)
    if not people:
        return []
    view = today_view(engine, now=now, staff=None, show_all=True)
    link = f"{(settings.base_url or '').rstrip('/')}/today"
    out = []
    for person in people:
        if person.role == "owner":
            subject, body = _summary(view, counts, day, link, settings)
        else:
            mine = [a for a in view.actions if a.staff == person.name]
            if not mine:
                continue  # nothing to do today: no email
            subject = f"Your list for {_day_words(day)}: {_plural(len(mine), 'client')}"
            lines = [f"Good morning. {subject}.", ""]
            for a in mine:
                lines.append(f"{a.rank}. {a.client_name} — {a.reason}. Suggested: {a.channel}.")
            lines += ["", f"Open your list: {link}"]
            body = "\n".join(lines)
        out.append(Morning(person.id, person.staff_id, person.email, subject, body))
    return out


def _summary(
    view: TodayView, counts: dict[str, int], day: dt.date, link: str, settings: Settings
) -> tuple[str, str]:
    total = len(view.actions)
    subject = f"The team's lists for {_day_words(day)}: {_plural(total, 'client')}"
    lines = [f"Good morning. {subject}.", ""]
    for line in view.quota:
        listed = sum(1 for a in view.actions if a.staff == line.staff)
        waiting = f"; {line.waiting} waiting" if line.waiting else ""
        lines.append(
            f"{line.staff}: {listed} on the list; {line.done} of {line.weekly_quota} "
            f"done this week{waiting}"
        )
    unknown, failed = counts.get("unknown", 0), counts.get("failed", 0)
    if unknown or failed:
        outbox_link = f"{(settings.base_url or '').rstrip('/')}/outbox"
        lines += [
            "",
            f"Messages needing attention: {unknown} unknown, {failed} failed — {outbox_link}",
        ]
    lines += ["", f"Open the lists: {link}"]
    return subject, "\n".join(lines)


def queue_morning(engine: Engine, settings: Settings, *, day: dt.date, now: dt.datetime) -> int:
    """Queue the day's morning emails (those not queued yet); returns how many were queued.
    Idempotent: each user's email of the day has the unique key "morning:{day}:{user}"."""
    global _said_not_set_up
    if setup_missing(settings, "email"):
        if not _said_not_set_up:
            log.info("morning emails: email is not set up, none queued")
            _said_not_set_up = True
        return 0
    wanted = mornings(engine, settings, day=day, now=now)
    if not wanted:
        return 0
    try:
        with writing(engine) as conn:
            queued = _insert_missing(conn, settings, wanted, day, now)
    except IntegrityError:  # another run queued them at the same moment: each is once
        log.info("morning emails of %s: queued by another run", day)
        return 0
    log.info("morning emails of %s: %d queued", day, queued)
    return queued


def _insert_missing(
    conn: Connection, settings: Settings, wanted: list[Morning], day: dt.date, now: dt.datetime
) -> int:
    keys = {f"morning:{day.isoformat()}:{m.user_id}": m for m in wanted}
    have = set(conn.execute(select(outbox.c.key).where(outbox.c.key.in_(list(keys)))).scalars())
    queued = 0
    for key, m in keys.items():
        if key in have:
            continue
        q.insert_message(
            conn,
            key=key,
            kind="morning",
            channel="email",
            client_id=None,
            staff_id=m.staff_id,
            action_id=None,
            to_address=m.to,
            reply_to=None,
            subject=m.subject,
            body=m.body,
            personal=False,
            bulk=False,
            message_id=new_message_id(settings),
            token=secrets.token_urlsafe(24),
            state="queued",
            created_by="keepwarm",
            created_at=now,
            updated_at=now,
        )
        queued += 1
    return queued
