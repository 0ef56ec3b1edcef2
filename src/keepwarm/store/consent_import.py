"""Consent from a clients file: per-channel columns (email_consent, sms_consent, post_consent,
phone_consent, with yes or no) are staged by line beside the clients, then turned into consent
events (source "import") only where the file differs from the client's current state, in one
INSERT ... SELECT (and one for their audit entries): re-importing the same file appends
nothing. An import's "yes" does not undo a refusal the client made themselves (unsubscribe
link, their request) or a bounce: it only undoes a refusal from an import or from staff. An
empty cell changes nothing. The caller owns the transaction."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
)

from keepwarm.domain.model import ImportProblem, ProblemCode
from keepwarm.store.tables import audit_log, clients, consent_events

# Each channel's column, as a file may name it (compared after normalise_header).
ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email_consent", "email consent", "consent email", "email opt in", "email ok"),
    "sms": (
        "sms_consent",
        "sms consent",
        "text consent",
        "texts consent",
        "consent sms",
        "sms opt in",
        "sms ok",
    ),
    "post": ("post_consent", "post consent", "mail consent", "consent post", "post ok"),
    "phone": ("phone_consent", "phone consent", "call consent", "consent phone", "phone ok"),
}
YES = {"yes", "y", "true", "1", "allowed", "allow", "opt in", "opted in", "ok", "x"}
NO = {"no", "n", "false", "0", "refused", "refuse", "opt out", "opted out", "none"}
# With no event, email, post and phone are allowed and texts are not (consent.refusal_of).
DEFAULT_ALLOWED = {"email": True, "sms": False, "post": True, "phone": True}
# Sources an import's "yes" may overrule.
OVERRULED = ("import", "staff")
BATCH = 5000

_meta = MetaData()
STAGE_CONSENT = Table(
    "kw_stage_consent",
    _meta,
    Column("line", Integer, primary_key=True),
    Column("channel", String(10), primary_key=True),
    Column("allowed", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
)


def normalise_header(name: str) -> str:
    """As an import reads a header: 'Email Consent' and 'email_consent' are the same."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def consent_columns(header: Sequence[str]) -> dict[str, tuple[int, str]]:
    """channel -> (column index, header as written) for the consent columns of `header`."""
    lookup = {
        normalise_header(alias): channel for channel, names in ALIASES.items() for alias in names
    }
    found: dict[str, tuple[int, str]] = {}
    for index, written in enumerate(header):
        channel = lookup.get(normalise_header(written))
        if channel is not None and channel not in found:
            found[channel] = (index, written)
    return found


def read_row(
    line: int, row: Sequence[str], columns: Mapping[str, tuple[int, str]]
) -> tuple[list[dict[str, Any]], list[ImportProblem]]:
    """The row's consent values to stage, and a problem per value that is not yes or no."""
    staged: list[dict[str, Any]] = []
    problems: list[ImportProblem] = []
    for channel, (index, written) in columns.items():
        raw = row[index] if index < len(row) else ""
        value = " ".join(raw.replace("-", " ").replace("_", " ").split()).casefold()
        if not value:
            continue
        if value in YES or value in NO:
            staged.append({"line": line, "channel": channel, "allowed": value in YES})
        else:
            problems.append(
                ImportProblem(
                    line,
                    written,
                    f"{raw!r} is not yes or no (consent to {channel}; leave it empty to keep "
                    "what keepwarm has)",
                    ProblemCode.INVALID_VALUE,
                )
            )
    return staged, problems


def create_stage(conn: Connection) -> None:
    STAGE_CONSENT.drop(conn, checkfirst=True)
    STAGE_CONSENT.create(conn)


def stage(conn: Connection, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        conn.execute(insert(STAGE_CONSENT), rows[start : start + BATCH])


def drop_stage(conn: Connection) -> None:
    STAGE_CONSENT.drop(conn, checkfirst=True)


def apply(conn: Connection, staged_clients: Table, *, actor: str, now: dt.datetime) -> int:
    """Append an "import" consent event (and its audit entry) wherever the staged value differs
    from the client's current state; returns how many."""
    s, sc, c, e = STAGE_CONSENT.c, staged_clients.c, clients.c, consent_events.c
    newest = (
        select(e.client_id, e.channel, func.max(e.id).label("id"))
        .group_by(e.client_id, e.channel)
        .subquery()
    )
    latest = consent_events.alias("latest")
    default = case(
        *((s.channel == ch, true() if ok else false()) for ch, ok in DEFAULT_ALLOWED.items()),
        else_=true(),
    )
    now_allowed = case((latest.c.id.is_(None), default), else_=latest.c.allowed)
    changes = (
        select(
            c.id.label("client_id"),
            s.channel,
            s.allowed,
            (c.name + literal(" (") + c.external_id + literal(")")).label("subject"),
        )
        .select_from(
            STAGE_CONSENT.join(staged_clients, sc.line == s.line)
            .join(clients, c.external_id == sc.id)
            .outerjoin(newest, and_(newest.c.client_id == c.id, newest.c.channel == s.channel))
            .outerjoin(latest, latest.c.id == newest.c.id)
        )
        .where(
            s.allowed != now_allowed,
            or_(
                s.allowed.is_(false()),
                latest.c.id.is_(None),
                latest.c.source.in_(OVERRULED),
            ),
        )
    ).subquery()
    details = (
        literal('{"channel": "')
        + changes.c.channel
        + literal('", "allowed": ')
        + case((changes.c.allowed, literal("true")), else_=literal("false"))
        + literal(', "source": "import"}')
    )
    conn.execute(
        insert(audit_log).from_select(
            ["at", "actor", "action", "client_id", "subject", "details"],
            select(
                literal(now, audit_log.c.at.type),
                literal(actor),
                literal("consent"),
                changes.c.client_id,
                changes.c.subject,
                details,
            ),
        )
    )
    result = conn.execute(
        insert(consent_events).from_select(
            ["client_id", "channel", "allowed", "source", "actor", "at"],
            select(
                changes.c.client_id,
                changes.c.channel,
                changes.c.allowed,
                literal("import"),
                literal(actor),
                literal(now, consent_events.c.at.type),
            ),
        )
    )
    return int(result.rowcount)
