"""Campaigns: a message to an audience (keepwarm.services.audiences) in one or more waves, with
a share held out to tell whether it worked (keepwarm.services.campaign_results). A campaign keeps
its own copy of its audience's filters: a saved filter it starts from is copied in when it is
created or edited, so deleting or changing the saved filter later leaves the campaign alone.

Holdout. Each client gets a number from SHA-256 of "{campaign name}:{client's business id}",
read as a uniform value in [0, 1): clients under `holdout_share` are held out, and when that is
fewer than `holdout_min` the clients with the lowest numbers are held out until there are
`holdout_min`. The business id (not the internal id) keeps the assignment stable across a
re-import; the campaign's name makes campaigns independent. Below 2 * `holdout_min` clients
nobody is held out ("no holdout: too small to tell"): holding out half a small audience costs
the campaign its point and still could not tell. Members and arms are fixed when the first wave
goes.

Sending a wave (`send_wave`) happens in one transaction: the audience is evaluated again (a
consent withdrawn, a do-not-contact set since the preview or the last wave, leaves the client
out, with the reason), each treated member still in it gets one message (outbox key
"campaign:{campaign}:{wave}:{client}", at most once; the outbox asks consent again when it
delivers) or one letter in the practice's letters batch, and held-out members get nothing (a
row saying so). A second send of the same wave adds nothing. A sent campaign message is a
"mailing" touch: on the timeline, not personal, so nobody's cadence starts again.

Channels. A campaign carries a message per channel (email, sms, letter) in an order of
preference (`Campaign.messages`). Each treated member gets the wave once, on the first of those
channels they can receive (the address or number, consent for it, not bounced or unsubscribed:
the audience's rules, keepwarm.services.audiences), so a client without an email address gets
the letter; only a client who can receive none of them is left out, with each channel's
reason. The outbox key and the one send row per member and wave stay the same whatever the
channel, so nobody gets two channels in one wave. The channel is chosen again at each wave (an
email address added since the first wave is used). When the outbox later finds consent for
an email withdrawn, it does not send it, and nothing falls back to a letter: the wave has gone.

One per address: for letters, clients at the same normalised postal address get one letter;
for email and texts, the same email address or phone number gets one message (addresses are
compared within a channel). It also means one per household
(keepwarm.services.households): the household's first treated member gets it, on the channel
that member gets, addressed to the household ("The Morris family"); the others are skipped
("one per household: The Morris family gets it"), whatever channel they would have had;
held-out members stay held out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateError
from jinja2.exceptions import SecurityError
from sqlalchemy import Connection, Engine

from keepwarm.config import Settings
from keepwarm.domain.audience import Filters
from keepwarm.domain.errors import InvalidInput, KeepwarmError, NotFound
from keepwarm.domain.model import User
from keepwarm.messaging.sandbox import LimitedSandbox, render_limited
from keepwarm.services import audiences as audiences_svc
from keepwarm.services import households as households_svc
from keepwarm.services.outbox import new_message_id, require_setup
from keepwarm.services.printing import add_campaign_letter, normalised, practice_name
from keepwarm.services.reminders import actor_of
from keepwarm.store import campaigns as q
from keepwarm.store import outbox as outbox_q
from keepwarm.store import queries, reading, writing

log = logging.getLogger(__name__)

KINDS = ("win_back", "holiday", "welcome", "custom")
CHANNELS = ("email", "sms", "letter")
FIELDS = ("first_name", "name", "staff", "offer", "practice")
HELD_OUT = "held out: gets nothing, to compare with"
NO_LONGER = "no longer in the audience"
TOO_SMALL = "no holdout: too small to tell"
_ENV = LimitedSandbox()


@dataclass(frozen=True)
class Message:
    """A campaign's message on one channel: a subject (email) and a body, both templates."""

    channel: str
    subject: str | None
    body: str

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _messages_json(messages: Sequence[Message]) -> str:
    return json.dumps([m.as_json() for m in messages])


@dataclass(frozen=True)
class StartingPoint:
    """A built-in campaign to start from: its audience, its channels in order of preference,
    and a draft message for every channel (the form offers the others to tick)."""

    key: str
    kind: str
    title: str
    channels: tuple[str, ...]
    drafts: Mapping[str, tuple[str | None, str]]  # channel: (subject, body)
    offer: str | None
    one_per_address: bool
    waves_hint: str

    @property
    def channel(self) -> str:
        return self.channels[0]

    def messages(self) -> list[Message]:
        return [Message(c, *self.drafts[c]) for c in self.channels]

    def filters(self, today: dt.date, *, welcome_days: int = 30) -> Filters:
        if self.kind == "win_back":
            return Filters(signals=("lapsing", "win_back"))
        if self.kind == "welcome":
            # new clients: their first visit (not their latest) within `welcome_days`
            return Filters(
                statuses=("active",), first_visit_after=today - dt.timedelta(days=welcome_days)
            )
        return Filters(statuses=("active",))


_SIGNED = "{{ staff }}{% if practice %}, {{ practice }}{% endif %}"
_MISS_YOU = (
    "Dear {{ first_name }},\n\nIt has been a while, and we were thinking of you. "
    "{% if offer %}{{ offer }}.{% endif %}\n\nWe would love to see you again.\n\n" + _SIGNED
)
_SEASONS = (
    "Dear {{ first_name }},\n\nWarm wishes for the holidays and the new year, and thank "
    "you for being with us.\n\n" + _SIGNED
)
_WELCOME = (
    "Dear {{ first_name }},\n\nThank you for choosing us. If anything is unclear or you "
    "would like to book your next visit, just reply to this email.\n\n" + _SIGNED
)
_WELCOME_LETTER = (
    "Dear {{ first_name }},\n\nThank you for choosing us. If anything is unclear or you "
    "would like to book your next visit, just call us.\n\n" + _SIGNED
)

STARTING_POINTS: dict[str, StartingPoint] = {
    "win-back": StartingPoint(
        "win-back",
        "win_back",
        "Win back clients gone quiet",
        ("email", "letter"),
        {
            "email": ("We miss you, {{ first_name }}", _MISS_YOU),
            "sms": (
                None,
                "Hi {{ first_name }}, we miss you{% if practice %} at {{ practice }}{% endif %}."
                "{% if offer %} {{ offer }}.{% endif %}",
            ),
            "letter": (None, _MISS_YOU),
        },
        "15% off your next session until 31 March",
        False,
        "three waves around the occasion (e.g. two weeks before, one week before, the day)",
    ),
    "holiday-cards": StartingPoint(
        "holiday-cards",
        "holiday",
        "Holiday cards",
        ("letter",),
        {
            "email": ("Season's greetings", _SEASONS),
            "sms": (None, "Warm wishes for the holidays, {{ first_name }}! {{ staff }}"),
            "letter": (None, _SEASONS),
        },
        None,
        True,
        "one wave, early December",
    ),
    "welcome": StartingPoint(
        "welcome",
        "welcome",
        "Welcome series for new clients",
        ("email", "letter"),
        {
            "email": ("Welcome, {{ first_name }}", _WELCOME),
            "sms": (
                None,
                "Welcome, {{ first_name }}, and thank you for choosing us. Reply to book.",
            ),
            "letter": (None, _WELCOME_LETTER),
        },
        None,
        False,
        "two or three waves a few weeks apart",
    ),
}


@dataclass(frozen=True)
class Wave:
    on: dt.date
    sent_at: dt.datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }


@dataclass(frozen=True)
class Campaign:
    """A campaign as list and show give it."""

    name: str
    kind: str
    filters: Filters
    channel: str  # the first channel's message: channel, subject, body
    subject: str | None
    body: str
    offer: str | None
    holdout_share: float
    holdout_min: int
    return_days: int
    one_per_address: bool
    waves: tuple[Wave, ...]
    treated: int
    held_out: int
    created_by: str
    created_at: dt.datetime
    messages: tuple[Message, ...] = ()  # every channel's, in the order of preference

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(m.channel for m in self.messages) or (self.channel,)

    @property
    def channels_text(self) -> str:
        """ "email", "email, else letter"."""
        return ", else ".join(self.channels)

    def message(self, channel: str) -> Message:
        found = next((m for m in self.messages if m.channel == channel), None)
        return found or Message(self.channel, self.subject, self.body)

    @property
    def status(self) -> str:
        """draft (no wave gone), waves sent (some), done (all)."""
        gone = sum(1 for w in self.waves if w.sent_at is not None)
        if gone == 0:
            return "draft"
        return "done" if gone == len(self.waves) else "waves sent"

    @property
    def next_wave(self) -> Wave | None:
        return next((w for w in self.waves if w.sent_at is None), None)

    @property
    def audience_text(self) -> str:
        return self.filters.describe()

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "audience": self.filters.to_dict(),
            "audience_text": self.audience_text,
            "channel": self.channel,
            "subject": self.subject,
            "body": self.body,
            "channels": list(self.channels),
            "messages": [m.as_json() for m in self.messages],
            "offer": self.offer,
            "holdout_share": self.holdout_share,
            "holdout_min": self.holdout_min,
            "return_days": self.return_days,
            "one_per_address": self.one_per_address,
            "waves": [w.as_json() for w in self.waves],
            "treated": self.treated,
            "held_out": self.held_out,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Send:
    """What one wave did for one member: sent (outbox id or print item) or skipped, why."""

    wave: dt.date
    client: str
    name: str
    outbox_id: int | None
    print_item_id: int | None
    skipped: str | None
    state: str | None
    channel: str | None = None  # what it went by (None for a skip)

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "wave": self.wave.isoformat()}


@dataclass(frozen=True)
class Member:
    client: str
    name: str
    arm: str


@dataclass(frozen=True)
class CampaignDetail:
    campaign: Campaign
    members: tuple[Member, ...]
    sends: tuple[Send, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            **self.campaign.as_json(),
            "members": [dataclasses.asdict(m) for m in self.members],
            "sends": [s.as_json() for s in self.sends],
        }


# ---------------------------------------------------------------- holdout


def holdout_score(campaign: str, client_ref: str) -> float:
    """The client's uniform number in [0, 1) for this campaign (see the module docstring)."""
    digest = hashlib.sha256(f"{campaign}:{client_ref}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def held_out(campaign: str, refs: Sequence[str], share: float, minimum: int) -> set[str]:
    """The business ids held out of `refs` (see the module docstring): deterministic, the same
    for the same campaign name and clients whatever their order."""
    if not refs or share <= 0:
        return set()
    if len(refs) < 2 * minimum:
        return set()
    scored = sorted((holdout_score(campaign, r), r) for r in set(refs))
    out = {r for s, r in scored if s < share}
    if len(out) < minimum:
        out = {r for _, r in scored[:minimum]}
    return out


def _held_out_members(conn: Connection, name: str) -> set[str]:
    """The business ids held out once the first wave fixed the arms."""
    return {m.ref for m in q.members(conn, _row(conn, name).id) if m.arm == "holdout"}


def holdout_note(audience_size: int, share: float, minimum: int) -> str | None:
    """Why nothing is held out, in words (None when some are)."""
    if share <= 0:
        return "no holdout: the share held out is 0, so the results cannot tell"
    if audience_size < 2 * minimum:
        return f"{TOO_SMALL} (fewer than {2 * minimum} clients)"
    return None


# ---------------------------------------------------------------- templates


def render(source: str, values: Mapping[str, object], what: str = "body") -> str:
    """Render a campaign template in the drafts' sandbox with its limits; InvalidInput naming
    `what` when it cannot."""
    try:
        text = render_limited(_ENV.from_string(source), dict(values))
    except (TemplateError, SecurityError, ArithmeticError, LookupError, TypeError) as exc:
        raise InvalidInput(f"{what}: {exc} (fields: {', '.join(FIELDS)})") from None
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _values(
    name: str, staff: str | None, offer: str | None, practice: str | None
) -> dict[str, object]:
    return {
        "first_name": name.split()[0] if name.split() else name,
        "name": name,
        "staff": staff or practice or "",
        "offer": offer or "",
        "practice": practice or "",
    }


# ---------------------------------------------------------------- create, edit, read


def _check_messages(messages: Sequence[Message], offer: str | None) -> None:
    """Each message's channel known and once, an email's subject, a body, templates that
    render; errors name the field, and the channel when there are several."""
    if not messages:
        raise InvalidInput("channel: a campaign needs at least one channel")
    seen: set[str] = set()
    sample = _values("Alex Sample", "Sam", offer, "The Practice")
    for m in messages:
        if m.channel not in CHANNELS:
            raise InvalidInput(f"channel: one of email, sms, letter, not {m.channel!r}")
        if m.channel in seen:
            raise InvalidInput(f"channel: {m.channel} is given twice")
        seen.add(m.channel)
        which = "" if len(messages) == 1 else f" ({m.channel})"
        if m.channel == "email" and not (m.subject or "").strip():
            raise InvalidInput(f"subject{which}: an email campaign needs a subject line")
        if not (m.body or "").strip():
            raise InvalidInput(f"body{which}: the message is empty")
        render(m.body, sample, f"body{which}")
        if m.subject:
            render(m.subject, sample, f"subject{which}")


def _cleaned(messages: Sequence[Message]) -> list[Message]:
    return [
        Message(m.channel.strip(), (m.subject or "").strip() or None, (m.body or "").strip())
        for m in messages
    ]


def _check(values: Mapping[str, Any]) -> None:
    name = values["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200 or "/" in name:
        raise InvalidInput("name: a campaign needs a name (up to 200 characters, no '/')")
    if values["kind"] not in KINDS:
        raise InvalidInput(f"kind: one of {', '.join(KINDS)}, not {values['kind']!r}")
    _check_messages(values["messages"], values.get("offer"))
    share = values["holdout_share"]
    if not isinstance(share, int | float) or not 0 <= share < 1:
        raise InvalidInput(f"holdout_share: a share from 0 to under 1 (0.1 is 10%), not {share}")
    if not isinstance(values["holdout_min"], int) or values["holdout_min"] < 0:
        raise InvalidInput("holdout_min: a whole number, 0 or more")
    days = values["return_days"]
    if not isinstance(days, int) or not 1 <= days <= 730:
        raise InvalidInput(f"return_days: from 1 to 730 days, not {days}")


def _waves_checked(days: Sequence[dt.date]) -> list[dt.date]:
    if not days:
        raise InvalidInput("waves: a campaign needs at least one wave date")
    out = sorted(set(days))
    if len(out) > 12:
        raise InvalidInput("waves: at most 12 waves")
    return out


def create(
    engine: Engine,
    name: str,
    *,
    kind: str,
    filters: Filters,
    channel: str | None = None,
    subject: str | None = None,
    body: str | None = None,
    messages: Sequence[Message] | None = None,
    offer: str | None = None,
    waves: Sequence[dt.date],
    holdout_share: float = 0.10,
    holdout_min: int = 10,
    return_days: int = 60,
    one_per_address: bool = False,
    by: User | None,
    now: dt.datetime,
) -> Campaign:
    """Create a campaign (nothing is sent). Raises InvalidInput naming the field. A saved
    filter the audience starts from is copied in: the campaign keeps its own audience, whatever
    later happens to the saved filter. The message is either one (`channel`, `subject`,
    `body`) or `messages`, one per channel in the order of preference (the module docstring)."""
    if messages is None:
        messages = [Message(channel or "email", subject, body or "")]
    elif channel is not None or subject is not None or body is not None:
        raise InvalidInput("channel: give either one message or messages, not both")
    cleaned = _cleaned(messages)
    values: dict[str, Any] = {
        "name": name.strip(),
        "kind": kind,
        "messages": cleaned,
        "offer": (offer or "").strip() or None,
        "holdout_share": float(holdout_share),
        "holdout_min": holdout_min,
        "return_days": return_days,
        "one_per_address": one_per_address,
    }
    _check(values)
    days = _waves_checked(waves)
    values |= _message_columns(cleaned)
    with writing(engine) as conn:
        if q.get_campaign(conn, values["name"]) is not None:
            raise InvalidInput(f"name: there is already a campaign called {values['name']!r}")
        values["audience"] = _own_copy(conn, filters)
        campaign_id = q.insert_campaign(
            conn, **values, created_by=actor_of(by), created_at=now, updated_at=now
        )
        q.replace_waves(conn, campaign_id, days)
    log.info(
        "campaign %s created (%s, %s waves)",
        campaign_id,
        ", ".join(m.channel for m in cleaned),
        len(days),
    )
    return get(engine, values["name"])


def _message_columns(messages: Sequence[Message]) -> dict[str, Any]:
    """The columns a campaign's messages are stored in: all of them as JSON, the first again
    in `channel`, `subject` and `body`."""
    first = messages[0]
    return {
        "messages": _messages_json(messages),
        "channel": first.channel,
        "subject": first.subject,
        "body": first.body,
    }


def _stored_messages(row: Any) -> tuple[Message, ...]:
    """A campaign row's messages (a row from before migration 0029 has its one channel's)."""
    found = json.loads(row.messages or "[]")
    if not found:
        return (Message(row.channel, row.subject, row.body),)
    return tuple(Message(m["channel"], m.get("subject"), m["body"]) for m in found)


def _own_copy(conn: Connection, filters: Filters) -> str:
    """The audience as stored: the filters with the saved filter they start from copied in
    (NotFound when there is no such saved filter), as JSON."""
    return json.dumps(audiences_svc.resolve(conn, filters).to_dict(), sort_keys=True)


def _audience_filters(conn: Connection, campaign: Campaign) -> Filters:
    """The campaign's own filters. A campaign made before campaigns kept their own copy may
    still start from a saved filter: it is looked up, and when it is gone the error names the
    campaign and the filter (InvalidInput)."""
    if campaign.filters.saved is None:
        return campaign.filters
    try:
        return audiences_svc.resolve(conn, campaign.filters)
    except NotFound:
        raise InvalidInput(
            f"campaign {campaign.name!r}: its audience starts from the saved filter "
            f"{campaign.filters.saved!r}, which no longer exists; save a filter of that name "
            "again (keepwarm segment save), or, before its first wave, give the campaign "
            "its own audience"
        ) from None


def from_starting_point(key: str, *, today: dt.date, welcome_days: int = 30) -> dict[str, Any]:
    """The keyword arguments of `create` a starting point gives (kind, filters, messages,
    offer, one_per_address); the caller adds name and waves."""
    start = STARTING_POINTS.get(key)
    if start is None:
        raise InvalidInput(f"from: one of {', '.join(STARTING_POINTS)}, not {key!r}")
    return {
        "kind": start.kind,
        "filters": start.filters(today, welcome_days=welcome_days),
        "messages": start.messages(),
        "offer": start.offer,
        "one_per_address": start.one_per_address,
    }


def edit(
    engine: Engine,
    name: str,
    *,
    now: dt.datetime,
    waves: Sequence[dt.date] | None = None,
    filters: Filters | None = None,
    **changes: Any,
) -> Campaign:
    """Change a campaign while no wave has gone (InvalidInput after). `messages` replaces
    every channel's; `channel`, `subject` or `body` change the first one's."""
    allowed = {
        "channel",
        "subject",
        "body",
        "messages",
        "offer",
        "holdout_share",
        "holdout_min",
        "return_days",
        "one_per_address",
    }
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise InvalidInput(f"{unknown[0]}: not something a campaign has")
    with writing(engine) as conn:
        row = _row(conn, name)
        if any(w.sent_at is not None for w in q.waves(conn, row.id)):
            raise InvalidInput(f"campaign {name!r}: a wave has gone, it can no longer change")
        messages = list(_stored_messages(row))
        if "messages" in changes:
            messages = list(changes.pop("messages"))
        first = {k: changes.pop(k) for k in ("channel", "subject", "body") if k in changes}
        if first and messages:
            messages[0] = dataclasses.replace(messages[0], **first)
        messages = _cleaned(messages)
        values = {k: getattr(row, k) for k in (*allowed - {"messages"}, "name", "kind")}
        values.update(changes)
        values["messages"] = messages
        if filters is not None:
            changes["audience"] = _own_copy(conn, filters)
        _check(values)
        changes |= _message_columns(messages)
        q.update_campaign(conn, row.id, **changes, updated_at=now)
        if waves is not None:
            q.replace_waves(conn, row.id, _waves_checked(waves))
    return get(engine, name)


def _row(conn: Any, name: str) -> Any:
    row = q.get_campaign(conn, name)
    if row is None:
        raise NotFound(f"no campaign called {name!r} (see `keepwarm campaign list`)")
    return row


def _campaign(
    row: Any, wave_rows: Sequence[Any], counts: Mapping[tuple[int, str], int]
) -> Campaign:
    return Campaign(
        row.name,
        row.kind,
        Filters.from_dict(json.loads(row.audience or "{}")),
        row.channel,
        row.subject,
        row.body,
        row.offer,
        float(row.holdout_share),
        int(row.holdout_min),
        int(row.return_days),
        bool(row.one_per_address),
        tuple(Wave(w.on, w.sent_at) for w in wave_rows),
        counts.get((row.id, "treated"), 0),
        counts.get((row.id, "holdout"), 0),
        row.created_by,
        row.created_at,
        _stored_messages(row),
    )


def campaigns(engine: Engine) -> list[Campaign]:
    """Every campaign, oldest first."""
    with reading(engine) as conn:
        counts = q.member_counts(conn)
        by_campaign: dict[int, list[Any]] = {}
        for w in q.all_waves(conn):
            by_campaign.setdefault(w.campaign_id, []).append(w)
        return [_campaign(r, by_campaign.get(r.id, []), counts) for r in q.all_campaigns(conn)]


def get(engine: Engine, name: str) -> Campaign:
    with reading(engine) as conn:
        row = _row(conn, name)
        return _campaign(row, q.waves(conn, row.id), q.member_counts(conn))


def detail(engine: Engine, name: str) -> CampaignDetail:
    """The campaign with its members (arm) and every wave's sends and skips."""
    with reading(engine) as conn:
        row = _row(conn, name)
        campaign = _campaign(row, q.waves(conn, row.id), q.member_counts(conn))
        members = tuple(Member(m.ref, m.name, m.arm) for m in q.members(conn, row.id))
        sends = tuple(
            Send(
                s.wave,
                s.ref,
                s.name,
                s.outbox_id,
                s.print_item_id,
                s.skipped_reason,
                s.outbox_state,
                None if s.skipped_reason else "letter" if s.print_item_id else s.outbox_channel,
            )
            for s in q.sends(conn, row.id)
        )
    return CampaignDetail(campaign, members, sends)


# ---------------------------------------------------------------- preview


@dataclass(frozen=True)
class CampaignPreview:
    """Who the next wave would reach: the audience preview, how many would be held out (or why
    nobody is), how many pieces go out on each channel, and the message (each channel's) for
    the first client in the sample."""

    campaign: Campaign
    audience: audiences_svc.Preview
    holdout: int
    holdout_note: str | None
    subject: str | None
    body: str
    # one per household or address: treated clients who get nothing, per reason
    shared: dict[str, int] = field(default_factory=dict)
    # the pieces the wave would send on each channel, in the order of preference
    by_channel: dict[str, int] = field(default_factory=dict)
    # each channel's message, rendered for the first client in the sample
    messages: tuple[Message, ...] = ()

    @property
    def pieces(self) -> int:
        """How many messages or letters the wave would send."""
        return self.audience.count - self.holdout - sum(self.shared.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.name,
            **self.audience.as_json(),
            "holdout": self.holdout,
            "treated": self.audience.count - self.holdout,
            "pieces": self.pieces,
            "shared": self.shared,
            "by_channel": self.by_channel,
            "holdout_note": self.holdout_note,
            "message": {"subject": self.subject, "body": self.body},
            "messages": [m.as_json() for m in self.messages],
        }


def preview(
    engine: Engine, settings: Settings, name: str, *, today: dt.date, sample: int = 10
) -> CampaignPreview:
    """The campaign's audience today, its holdout and a rendered message; nothing is sent.
    Once the first wave has gone the arms are fixed: the holdout shown is the members'."""
    campaign = get(engine, name)
    with reading(engine) as conn:
        filters = _audience_filters(conn, campaign)
    found = audiences_svc.preview(
        engine, filters, today=today, channel=campaign.channels, sample=sample
    )
    with reading(engine) as conn:
        everyone = audiences_svc.audience(conn, filters, today=today, channel=campaign.channels)
        refs = [m.ref for m in everyone.members]
        if campaign.waves and campaign.waves[0].sent_at is not None:
            holdout, note = campaign.held_out, None
            out = _held_out_members(conn, campaign.name)
        else:
            out = held_out(campaign.name, refs, campaign.holdout_share, campaign.holdout_min)
            holdout = len(out)
            note = holdout_note(len(refs), campaign.holdout_share, campaign.holdout_min)
        shared: dict[str, int] = {}
        pieces = dict.fromkeys(campaign.channels, 0)
        homes = _OnePerHome(conn, campaign, [m.id for m in everyone.members])
        for m in sorted(everyone.members, key=lambda m: m.id):  # the wave's order
            if m.ref in out:
                continue
            why = homes.skip(m.id, m, everyone.via[m.id])
            if why is not None:
                why = why.split(":")[0]  # "one per household", "one per address"
                shared[why] = shared.get(why, 0) + 1
            else:
                pieces[everyone.via[m.id]] += 1
    first = found.sample[0] if found.sample else None
    values = _values(
        first.name if first else "Alex Sample",
        first.owner if first else None,
        campaign.offer,
        practice_name(settings),
    )
    rendered = tuple(
        Message(
            m.channel,
            render(m.subject, values, "subject") if m.subject else None,
            render(m.body, values, "body"),
        )
        for m in campaign.messages or (campaign.message(campaign.channel),)
    )
    return CampaignPreview(
        campaign,
        found,
        holdout,
        note,
        rendered[0].subject,
        rendered[0].body,
        shared,
        {c: n for c, n in pieces.items() if n},
        rendered,
    )


# ---------------------------------------------------------------- sending


@dataclass
class WaveReport:
    """What sending a wave did."""

    campaign: str
    wave: dt.date
    queued: int = 0
    letters: int = 0
    held_out: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    already: bool = False
    failed: str | None = None  # why the daily job could not send it (nothing was)
    by_channel: dict[str, int] = field(default_factory=dict)  # what went on each channel

    def summary(self) -> str:
        if self.failed is not None:
            return f"{self.campaign}: the wave of {self.wave} was not sent: {self.failed}"
        if self.already:
            return f"{self.campaign}: the wave of {self.wave} had already gone; nothing new."
        parts = []
        if self.queued or not self.letters:
            parts.append(f"{self.queued} message(s) queued")
            if self.letters:  # several channels: say which
                parts[0] += (
                    " ("
                    + ", ".join(f"{n} {c}" for c, n in self.by_channel.items() if c != "letter")
                    + ")"
                )
        if self.letters:
            parts.append(f"{self.letters} letter(s) in the letters to print")
        parts.append(f"{self.held_out} held out")
        parts += [f"{n} skipped ({why})" for why, n in sorted(self.skipped.items())]
        return f"{self.campaign}, wave of {self.wave}: " + ", ".join(parts) + "."

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "wave": self.wave.isoformat()}


def _address_key(
    channel: str, email: str | None, phone: str | None, address: str | None
) -> str | None:
    if channel == "letter":
        return normalised(address) if address else None
    value = email if channel == "email" else phone
    return value.strip().casefold() if value else None


class _OnePerHome:
    """One piece per household, else per address (`one_per_address`): the first treated member
    of a household gets it, on their channel, addressed to the household; the others, and
    anyone at an address (of the channel they would get) that already gets one, are skipped
    with the reason. Without `one_per_address` nobody is. The wave and its preview both ask,
    so the preview's count is what the wave sends."""

    def __init__(self, conn: Connection, campaign: Campaign, client_ids: Sequence[int]) -> None:
        self.on = campaign.one_per_address
        self.homes = households_svc.addressees(conn, list(client_ids)) if self.on else {}
        self.addresses: set[str] = set()
        self.sent_homes: dict[int, str] = {}

    def addressee(self, client_id: int) -> str | None:
        """The household's name when the client gets it for their household."""
        return self.homes[client_id][1] if client_id in self.homes else None

    def skip(self, client_id: int, member: Any, channel: str) -> str | None:
        """Why the treated `member`, reached by `channel`, gets nothing (None: they get it);
        call in send order."""
        if not self.on:
            return None
        key = _address_key(channel, member.email, member.phone, member.address)
        key = f"{channel}:{key}" if key is not None else None
        if client_id in self.homes:
            home, to = self.homes[client_id]
            if home in self.sent_homes:
                return f"one per household: {self.sent_homes[home]} gets it"
            self.sent_homes[home] = to
        elif key is not None and key in self.addresses:
            return "one per address: someone there already gets it"
        if key is not None:
            self.addresses.add(key)
        return None


def send_wave(
    engine: Engine,
    settings: Settings,
    name: str,
    *,
    day: dt.date,
    now: dt.datetime,
    by: User | None,
    early: bool = False,
) -> WaveReport:
    """Send the campaign's next wave that has not gone, when its date is `day` or earlier (or
    at once with `early`), in one transaction (see the module docstring). Raises NotFound and
    InvalidInput (nothing due, sending not set up)."""
    campaign = get(engine, name)
    for channel in campaign.channels:
        if channel != "letter":
            require_setup(settings, channel)
    wave = campaign.next_wave
    if wave is None:
        last = campaign.waves[-1].on if campaign.waves else day
        return WaveReport(name, last, already=True)
    if wave.on > day and not early:
        raise InvalidInput(f"campaign {name!r}: the next wave is on {wave.on}, not due yet")
    practice = practice_name(settings)
    report = WaveReport(name, wave.on)
    with writing(engine) as conn:
        row = _row(conn, name)
        wave_row = next(w for w in q.waves(conn, row.id) if w.on == wave.on)
        if wave_row.sent_at is not None:  # another sender got there first
            report.already = True
            return report
        filters = _audience_filters(conn, campaign)
        found = audiences_svc.audience(conn, filters, today=day, channel=campaign.channels)
        members = {m.client_id: m.arm for m in q.members(conn, row.id)}
        if not members:
            refs = [m.ref for m in found.members]
            out = held_out(name, refs, campaign.holdout_share, campaign.holdout_min)
            arms = [(m.id, "holdout" if m.ref in out else "treated") for m in found.members]
            q.add_members(conn, row.id, arms, now)
            members = dict(arms)
        reachable = {m.id: m for m in found.members}
        reasons = {e.client.id: e.reason for e in found.excluded}
        done = q.sent_clients(conn, wave_row.id)
        # One per address also means one per household, addressed to the household.
        homes = _OnePerHome(conn, campaign, list(reachable))
        for client_id, arm in sorted(members.items()):
            if client_id in done:
                continue
            skipped: str | None = None
            member = reachable.get(client_id)
            if arm == "holdout":
                skipped = HELD_OUT
                report.held_out += 1
            elif member is None:
                skipped = reasons.get(client_id, NO_LONGER)
            else:
                skipped = homes.skip(client_id, member, found.via[client_id])
            if skipped is not None:
                if arm != "holdout":
                    report.skipped[skipped] = report.skipped.get(skipped, 0) + 1
                q.add_send(
                    conn,
                    wave_id=wave_row.id,
                    client_id=client_id,
                    skipped_reason=skipped,
                    created_at=now,
                )
                continue
            assert member is not None
            # the first of the campaign's channels the member can receive, one per wave
            channel = found.via[client_id]
            message = campaign.message(channel)
            report.by_channel[channel] = report.by_channel.get(channel, 0) + 1
            household = homes.addressee(client_id)
            to_name = household or member.name
            values = _values(to_name, member.owner, campaign.offer, practice)
            if household is not None:
                # "Dear Morris family," (the envelope says "The Morris family"), never "Dear The"
                values["first_name"] = household.removeprefix("The ")
            body = render(message.body, values, "body")
            outbox_id: int | None = None
            item_id: int | None = None
            if channel == "letter":
                item_id = add_campaign_letter(
                    conn, member.id, to_name, member.address or "", body, by=by, now=now
                )
                report.letters += 1
            else:
                staff = queries.staff_by_name(conn, member.owner) if member.owner else None
                staff_id = staff.id if staff is not None else None
                outbox_id = outbox_q.insert_message(
                    conn,
                    key=f"campaign:{row.id}:{wave_row.id}:{client_id}",
                    kind="campaign",
                    channel=channel,
                    client_id=client_id,
                    staff_id=staff_id,
                    action_id=None,
                    to_address=member.email if channel == "email" else member.phone,
                    reply_to=queries.staff_reply_to(conn, staff_id),
                    subject=render(message.subject or "", values, "subject")
                    if channel == "email"
                    else None,
                    body=body,
                    personal=False,
                    bulk=True,
                    message_id=new_message_id(settings),
                    token=secrets.token_urlsafe(24),
                    state="queued",
                    created_by=actor_of(by),
                    created_at=now,
                    updated_at=now,
                )
                report.queued += 1
            q.add_send(
                conn,
                wave_id=wave_row.id,
                client_id=client_id,
                outbox_id=outbox_id,
                print_item_id=item_id,
                created_at=now,
            )
        q.mark_wave_sent(conn, wave_row.id, now)
    log.info(
        "campaign %s: wave of %s sent (%s queued, %s letters, %s held out, %s skipped)",
        row.id,
        wave.on,
        report.queued,
        report.letters,
        report.held_out,
        sum(report.skipped.values()),
    )
    return report


def send_due(
    engine: Engine, settings: Settings, *, day: dt.date, now: dt.datetime
) -> list[WaveReport]:
    """Every campaign's next wave that is due by `day` (for the daily job). Each campaign is on
    its own: one that cannot send (sending not set up, its audience broken, any error) is
    logged with its name, gets a report saying why (`failed`) and is left for the next run,
    and the others still go."""
    out: list[WaveReport] = []
    for c in campaigns(engine):
        wave = c.next_wave
        if wave is None or wave.on > day:
            continue
        try:
            out.append(send_wave(engine, settings, c.name, day=day, now=now, by=None))
        except KeepwarmError as exc:
            log.warning("campaign %r: wave of %s not sent: %s", c.name, wave.on, exc)
            out.append(WaveReport(c.name, wave.on, failed=str(exc)))
        except Exception as exc:
            log.exception("campaign %r: wave of %s not sent", c.name, wave.on)
            out.append(WaveReport(c.name, wave.on, failed=f"{type(exc).__name__} (see the log)"))
    return out
