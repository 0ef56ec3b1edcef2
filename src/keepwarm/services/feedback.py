"""Feedback: after a visit keepwarm asks the client how it went, by email or text, with a link
to a one-question page; an unhappy answer goes to the top of a list; NPS in Reports.

Requests (`send_requests`): a client whose last visit (activity) was `feedback_after_days` ago
(or up to `feedback_window_days` later) is asked once about that visit, and at most once in
`feedback_period_days` (default 90), by email when they may be emailed, else by text when they
agreed to texts and have a mobile number (services.consent.refusal). Each request is one outbox
message (kind "feedback", bulk: it carries List-Unsubscribe; not a personal touch) with the
unique key "feedback:{request_id}", written in the transaction that writes the request, so a
rerun queues nothing new. A client asked this way has been asked: the staff signal "ask how the
visit went" (rules.feedback) is not raised for that visit; a client keepwarm cannot reach is
asked in person, as before.

The link `{base_url}/feedback/{token}` carries a random token; only its SHA-256 is stored. It
works for `VALID_FOR` (30 days) and records one answer (`answer`); opening it records nothing.

Closing the loop (`place_detractors`, called by the daily job in its write transaction): an
answer of 0-6 given before the day's plan becomes a `feedback` action first on the list of the
client's owner — or, for a client without an active owner, of the practice's owner (the member
of staff of the first owner account) — beyond the daily capacity, once (the request keeps the
action's id). Its draft is talking points for a call; marking it done records what was done.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import secrets
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert
from sqlalchemy.exc import IntegrityError

from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.model import SignalCode, User
from keepwarm.domain.policy import Policy
from keepwarm.domain.signals import Signal
from keepwarm.services.consent import refusal
from keepwarm.services.outbox import new_message_id, setup_missing
from keepwarm.services.policy import get_policy
from keepwarm.services.unsubscribe import practice_name
from keepwarm.stats.nps import net_promoter_score
from keepwarm.store import feedback as q
from keepwarm.store import outbox as outbox_q
from keepwarm.store import queries, reading, writing
from keepwarm.store.tables import actions

log = logging.getLogger(__name__)

VALID_FOR = dt.timedelta(days=30)
"""How long a feedback link works."""

COMMENT_MAX = 2000


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def _day(d: dt.date) -> str:
    return f"{d.day} {d:%b}"


def ready(settings: Settings) -> bool:
    """Whether keepwarm can send requests (email or SMS set up, and a base URL for the link)."""
    can_send = not setup_missing(settings, "email") or not setup_missing(settings, "sms")
    return can_send and bool(settings.base_url)


def _message(
    channel: str, first_name: str | None, visit: dt.date, practice: str, link: str
) -> tuple[str | None, str]:
    """The request's subject (email) and body: short and friendly."""
    hello = f"Hello {first_name}," if first_name else "Hello,"
    if channel == "sms":
        return None, (
            f"{practice}: thank you for your visit on {_day(visit)}. How likely are you to "
            f"recommend us? One tap: {link}"
        )
    subject = f"How was your visit on {_day(visit)}?"
    body = (
        f"{hello}\n\nThank you for your visit on {_day(visit)}. How likely are you to recommend "
        f"us to a friend? It takes ten seconds, and a comment helps us do better:\n\n{link}\n\n"
        f"The link works for {VALID_FOR.days} days.\n\n{practice}"
    )
    return subject, body


def send_requests(engine: Engine, settings: Settings, *, day: dt.date, now: dt.datetime) -> int:
    """Queue the feedback requests due on `day`; returns how many were queued (0 when neither
    email nor SMS is set up, or no base URL). Idempotent: a client already asked about their
    last visit, or within the period, is not asked again; two runs at once queue each once
    (the loser's transaction fails on the unique client and visit of a request, migration
    0023, and is rolled back whole)."""
    if not ready(settings):
        log.info("feedback requests: email/SMS or the base URL is not set up; none queued")
        return 0
    policy = get_policy(engine)
    try:
        with writing(engine) as conn:
            queued = _queue_due(conn, settings, policy, day, now)
    except IntegrityError:
        log.info("feedback requests: another run queued them at the same moment")
        return 0
    if queued:
        log.info("feedback requests: %d queued", queued)
    return queued


def _channel(conn: Connection, settings: Settings, client_id: int) -> str | None:
    for channel in ("email", "sms"):
        if not setup_missing(settings, channel) and refusal(conn, client_id, channel) is None:
            return channel
    return None


def _queue_due(
    conn: Connection, settings: Settings, policy: Policy, day: dt.date, now: dt.datetime
) -> int:
    after, window, period = (
        policy.feedback_after_days,
        policy.feedback_window_days,
        policy.feedback_period_days,
    )
    if not after:
        return 0  # asking is turned off
    earliest = day - dt.timedelta(days=after + window)
    latest = day - dt.timedelta(days=after)
    asked = q.last_asked(conn)
    practice = practice_name(settings)
    base = (settings.base_url or "").rstrip("/")
    queued = 0
    for row in q.last_visits(conn, earliest, day):
        if row.visit > latest or row.do_not_contact:
            continue
        before = asked.get(row.id)
        if before is not None:
            at, visit = before
            if visit >= row.visit or (day - _aware(at).date()).days < period:
                continue
        channel = _channel(conn, settings, row.id)
        if channel is None:
            continue  # staff ask in person (the rules' feedback signal)
        token = secrets.token_urlsafe(32)
        request_id = q.insert_request(
            conn,
            client_id=row.id,
            staff_id=row.owner_id,
            visit_date=row.visit,
            channel=channel,
            token_hash=_digest(token),
            created_at=now,
            expires_at=now + VALID_FOR,
        )
        subject, body = _message(
            channel, row.first_name, row.visit, practice, f"{base}/feedback/{token}"
        )
        outbox_id = outbox_q.insert_message(
            conn,
            key=f"feedback:{request_id}",
            kind="feedback",
            channel=channel,
            client_id=row.id,
            staff_id=row.owner_id,
            action_id=None,
            to_address=row.email if channel == "email" else row.phone,
            reply_to=queries.staff_reply_to(conn, row.owner_id),
            subject=subject,
            body=body,
            personal=False,
            bulk=True,
            message_id=new_message_id(settings),
            token=secrets.token_urlsafe(24),
            state="queued",
            created_by="keepwarm",
            created_at=now,
            updated_at=now,
        )
        q.set_outbox(conn, request_id, outbox_id)
        queued += 1
    return queued


@dataclass(frozen=True)
class FeedbackLink:
    """What the page needs: whether the link is usable, and for whom."""

    state: str  # "ok", "answered", "expired", "unknown"
    first_name: str | None = None
    practice: str = ""
    visit_date: dt.date | None = None
    score: int | None = None


def check_link(engine: Engine, settings: Settings, token: str, *, now: dt.datetime) -> FeedbackLink:
    """The link's state; reads only (a GET must record nothing)."""
    with reading(engine) as conn:
        row = q.by_digest(conn, _digest(token))
    practice = practice_name(settings)
    if row is None:
        return FeedbackLink("unknown", practice=practice)
    if row.answered_at is not None:
        return FeedbackLink("answered", row.first_name, practice, row.visit_date, row.score)
    if _aware(row.expires_at) <= now:
        return FeedbackLink("expired", row.first_name, practice, row.visit_date)
    return FeedbackLink("ok", row.first_name, practice, row.visit_date)


def _score(raw: str) -> int:
    try:
        score = int(raw.strip())
    except ValueError:
        raise InvalidInput("score: choose a number from 0 to 10") from None
    if not 0 <= score <= 10:
        raise InvalidInput("score: choose a number from 0 to 10")
    return score


def answer(
    engine: Engine, settings: Settings, token: str, score: str, comment: str, *, now: dt.datetime
) -> FeedbackLink:
    """Record the answer once. Returns the link's state before answering: "ok" means this
    answer was recorded; "answered", "expired" and "unknown" mean nothing was. Raises
    InvalidInput naming the field for a score outside 0-10 or too long a comment."""
    value = _score(score)
    text = comment.strip()
    if len(text) > COMMENT_MAX:
        raise InvalidInput(f"comment: at most {COMMENT_MAX} characters")
    with writing(engine) as conn:
        row = q.by_digest(conn, _digest(token))
        practice = practice_name(settings)
        if row is None:
            return FeedbackLink("unknown", practice=practice)
        if row.answered_at is not None:
            return FeedbackLink("answered", row.first_name, practice, row.visit_date, row.score)
        if _aware(row.expires_at) <= now:
            return FeedbackLink("expired", row.first_name, practice, row.visit_date)
        if not q.answer(conn, row.id, value, text or None, now):
            return FeedbackLink("answered", row.first_name, practice, row.visit_date)
    log.info("feedback request %s answered", row.id)
    return FeedbackLink("ok", row.first_name, practice, row.visit_date, value)


def detractor_signal(request_id: int, score: int, on: dt.date, comment: str | None) -> Signal:
    """The reason an unhappy answer is on a list: "Scored us 4/10 on 3 Dec: “waited 40
    minutes”". Pressing: someone should call."""
    text = f"Scored us {score}/10 on {_day(on)}"
    if comment:
        short = comment if len(comment) <= 200 else comment[:199] + "…"
        text += f": “{short}”"
    return Signal(SignalCode.FEEDBACK, text, 1.0, f"feedback-answer:{request_id}", pressing=True)


def _talking_points(score: int, on: dt.date, comment: str | None) -> str:
    lines = [
        "Talking points for a call:",
        f"- Thank them for answering (they scored us {score}/10 on {_day(on)}).",
    ]
    if comment:
        lines.append(f"- In their words: “{comment}”.")
    lines += [
        "- Ask what went wrong, listen, and apologise for it.",
        "- Say what you will do about it, and when.",
        "- When you mark this done, note what was agreed.",
    ]
    return "\n".join(lines)


def place_detractors(conn: Connection, day: dt.date, now: dt.datetime) -> int:
    """Put each answer of 0-6 given before `now` and not yet acted on first on the list of
    the client's owner (or the practice owner's member of staff), beyond the daily capacity,
    once; inside the caller's (the daily job's) transaction. The action is the answer's own,
    kept apart from the plan like a reminder's (store.actions.reminder_only): later plans
    leave it as it is until someone closes it. Returns how many were placed."""
    placed = 0
    fallback = q.first_owner_staff(conn)
    for r in q.unplaced_detractors(conn, now):
        if r.do_not_contact:
            continue
        member = r.owner_id if r.owner_id and q.staff_active(conn, r.owner_id) else fallback
        if member is None:
            continue  # nobody to call: it waits for an owner
        on = _aware(r.answered_at).date()
        signal = detractor_signal(r.id, r.score, on, r.comment)
        stored = {
            "code": signal.code.value,
            "explanation": signal.explanation,
            "reason_key": signal.reason_key,
        }
        action_id = conn.execute(
            insert(actions)
            .values(
                day=day,
                client_id=r.client_id,
                staff_id=member,
                status="open",
                priority=0.0,
                rank=0,
                channel="call",
                signals=json.dumps([stored]),
                reason_keys=json.dumps([signal.reason_key]),
                why=f"{signal.explanation}; first on the list to close the loop, beyond "
                "the daily capacity",
                draft=_talking_points(r.score, on, r.comment),
                created_at=now,
            )
            .returning(actions.c.id)
        ).scalar_one()
        if q.link_action(conn, r.id, action_id):
            placed += 1
    return placed


# --- NPS -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NpsLine:
    """One group's answers: a month ("2026-12"), a member of staff, or "all"."""

    group: str
    answers: int
    promoters: int
    passives: int
    detractors: int

    @property
    def nps(self) -> int | None:
        """% promoters (9-10) minus % detractors (0-6), rounded; None without answers."""
        scores = [10] * self.promoters + [7] * self.passives + [0] * self.detractors
        return net_promoter_score(scores)


@dataclass(frozen=True)
class Answer:
    id: int
    answered_on: dt.date
    visit_date: dt.date
    score: int
    comment: str | None
    staff: str | None
    client_id: str
    client_name: str
    action_id: int | None
    action_status: str | None


@dataclass(frozen=True)
class Nps:
    total: NpsLine
    by_month: list[NpsLine]
    by_staff: list[NpsLine]
    answers: list[Answer]


def _line(group: str, scores: list[int]) -> NpsLine:
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return NpsLine(group, len(scores), promoters, len(scores) - promoters - detractors, detractors)


def nps(
    engine: Engine,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    by: User | None = None,
) -> Nps:
    """NPS of the answers given from `since` to `until` (inclusive; UTC days), in total, by
    month and by member of staff (the client's owner when asked). Staff users see their own
    clients' answers only. The one function every surface (web, CSV, CLI) reports from."""
    start = dt.datetime.combine(since, dt.time(), dt.UTC) if since else None
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC) if until else None
    mine = by.staff if by is not None and not by.is_owner else None
    if by is not None and not by.is_owner and not by.staff:
        return Nps(_line("all", []), [], [], [])
    with reading(engine) as conn:
        rows = q.answers(conn, start, end, mine)
    found = [
        Answer(
            r.id,
            _aware(r.answered_at).date(),
            r.visit_date,
            r.score,
            r.comment,
            r.staff_name,
            r.external_id,
            r.client_name,
            r.action_id,
            r.action_status,
        )
        for r in rows
    ]
    months: dict[str, list[int]] = defaultdict(list)
    people: dict[str, list[int]] = defaultdict(list)
    for a in found:
        months[f"{a.answered_on:%Y-%m}"].append(a.score)
        people[a.staff or "(no owner)"].append(a.score)
    return Nps(
        _line("all", [a.score for a in found]),
        [_line(m, s) for m, s in sorted(months.items())],
        [_line(p, s) for p, s in sorted(people.items())],
        found,
    )


def nps_json(result: Nps) -> dict[str, Any]:
    def line(x: NpsLine) -> dict[str, Any]:
        return {**asdict(x), "nps": x.nps}

    return {
        "total": line(result.total),
        "by_month": [line(x) for x in result.by_month],
        "by_staff": [line(x) for x in result.by_staff],
        "answers": [
            {**asdict(a), "answered_on": a.answered_on.isoformat(), "visit_date": str(a.visit_date)}
            for a in result.answers
        ],
    }


def nps_csv(result: Nps) -> str:
    """One row per group: kind (total, month, staff), group, answers, promoters, passives,
    detractors, nps."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["kind", "group", "answers", "promoters", "passives", "detractors", "nps"])
    groups = [("total", result.total)]
    groups += [("month", x) for x in result.by_month] + [("staff", x) for x in result.by_staff]
    for kind, x in groups:
        nps_value = "" if x.nps is None else x.nps
        w.writerow([kind, x.group, x.answers, x.promoters, x.passives, x.detractors, nps_value])
    return out.getvalue()


def client_answers(engine: Engine, client_ref: str) -> list[Any]:
    """The client's feedback requests, newest first (for their page)."""
    with reading(engine) as conn:
        internal = queries.client_internal_id(conn, client_ref)
        if internal is None:
            raise NotFound(f"no client with id {client_ref!r}")
        return q.client_requests(conn, internal)
