"""Audiences: the clients a `Filters` picks for a channel today, who is left out and why, and
the saved filters staff pick them from.

`audience` runs in the caller's connection, so a campaign wave evaluates it again inside the
transaction that sends (a consent withdrawn since the preview excludes the client). The filters
run in SQL (keepwarm.store.audiences); value tiers and segments, when asked for, from the
rhythms once per call (keepwarm.services.segments); consent is read for a batch of clients per
query and judged by the same rules as `keepwarm.services.consent.refusal`.

Erased clients do not exist yet (the erasure issue, 15, will delete or blank them; an erased
client must then be left out here too).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from keepwarm.domain.audience import Filters
from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.policy import Policy
from keepwarm.services.consent import refusal_of
from keepwarm.services.segments import standings
from keepwarm.store import audiences as store
from keepwarm.store import reading, writing
from keepwarm.store.audiences import AudienceRow
from keepwarm.store.consent import ConsentEvent
from keepwarm.store.policy import load_policy_data

CHANNELS = ("email", "sms", "letter", "post")
_BATCH = 500


def consent_channel(channel: str) -> str:
    """The consent channel of a sending channel: a letter or card goes by post."""
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: one of email, sms, letter, not {channel!r}")
    return "post" if channel == "letter" else channel


@dataclass(frozen=True)
class Excluded:
    """A client the filters pick who may not be contacted by the channel, and why."""

    client: AudienceRow
    reason: str


@dataclass(frozen=True)
class Audience:
    """The clients to contact (`members`) and those the filters pick but who are left out.
    With several channels, `via` says which one each member gets it by (the first they can
    receive) and `channel` is the first of `channels`."""

    filters: Filters
    channel: str
    members: list[AudienceRow]
    excluded: list[Excluded]
    via: dict[int, str] = field(default_factory=dict)
    channels: tuple[str, ...] = ()

    def by_channel(self) -> dict[str, int]:
        """How many members each channel reaches, in the order of preference."""
        counts = Counter(self.via.get(m.id, self.channel) for m in self.members)
        return {c: counts[c] for c in self.channels or (self.channel,) if counts[c]}

    def excluded_by_reason(self) -> dict[str, list[AudienceRow]]:
        out: dict[str, list[AudienceRow]] = {}
        for e in self.excluded:
            out.setdefault(_reason_kind(e.reason), []).append(e.client)
        return out


def _reason_kind(reason: str) -> str:
    """A refusal grouped for counting: dates and addresses dropped ("unsubscribed"); with
    several channels, each channel's part ("email: unsubscribed; letter: no postal address")."""
    if "; " in reason:
        return "; ".join(_reason_kind(part) for part in reason.split("; "))
    channel, sep, rest = reason.partition(": ")
    if sep and channel in CHANNELS:
        return f"{channel}: {_reason_kind(rest)}"
    return _one_reason_kind(reason)


def _one_reason_kind(reason: str) -> str:
    if reason.startswith("unsubscribed"):
        return "unsubscribed"
    if reason.startswith("the address") and "bounced" in reason:
        return "bounced"
    if reason.startswith("refused in the imported file"):
        return "refused in the imported file"
    if reason.startswith("the client asked not to be contacted"):
        return "the client asked not to be contacted this way"
    return reason


def _policy(conn: Connection) -> Policy:
    data = load_policy_data(conn)
    return Policy() if data is None else Policy.from_dict(data)


def resolve(conn: Connection, filters: Filters) -> Filters:
    """The filters with the saved filter they start from merged in (one level)."""
    if filters.saved is None:
        return filters
    found = store.saved_filter(conn, filters.saved)
    if found is None:
        raise NotFound(f"saved: no saved filter {filters.saved!r} (see `keepwarm segment list`)")
    base = Filters.from_dict(json.loads(found[1]))
    # A saved filter never starts from another one (saving copies that one's values in).
    return filters.merged_over(dataclasses.replace(base, saved=None))


def matching(conn: Connection, filters: Filters, *, today: dt.date) -> list[AudienceRow]:
    """Every client the filters pick, do-not-contact included (callers exclude)."""
    filters = resolve(conn, filters)
    rows = store.select_clients(conn, filters, today=today, policy=_policy(conn))
    if filters.value_tiers or filters.segments:
        known = standings(conn)
        rows = [
            r
            for r in rows
            if (not filters.value_tiers or known.of(r.id).tier in filters.value_tiers)
            and (not filters.segments or known.of(r.id).segment in filters.segments)
        ]
    return rows


def _refusal(row: AudienceRow, events: dict[str, ConsentEvent], channel: str) -> str | None:
    # keepwarm.services.consent.refusal's rules, on a row and events read in a batch.
    return refusal_of(row, events, channel)


def _first_channel(
    row: AudienceRow, events: dict[str, ConsentEvent], channels: Sequence[str]
) -> tuple[str | None, str]:
    """The first of `channels` the client can receive (None, and why, when none): one channel
    says its reason as it is; several say each ("email: no email address; letter: no postal
    address"), or one reason when it is the same for all (do not contact)."""
    reasons: list[str] = []
    for channel in channels:
        why = _refusal(row, events, consent_channel(channel))
        if why is None:
            return channel, ""
        reasons.append(why)
    if len(set(reasons)) == 1:
        return None, reasons[0]
    return None, "; ".join(f"{c}: {why}" for c, why in zip(channels, reasons, strict=True))


def audience(
    conn: Connection, filters: Filters, *, today: dt.date, channel: str | Sequence[str]
) -> Audience:
    """The clients `filters` pick who may be contacted by `channel` (email, sms, letter) now,
    and those left out with the reason, evaluated in the caller's transaction. Given several
    channels in an order of preference, each client is reached by the first they can receive
    (`Audience.via`) and left out only when they can receive none."""
    channels = (channel,) if isinstance(channel, str) else tuple(channel)
    if not channels:
        raise InvalidInput("channel: at least one of email, sms, letter")
    for c in channels:
        consent_channel(c)
    rows = matching(conn, filters, today=today)
    members: list[AudienceRow] = []
    excluded: list[Excluded] = []
    via: dict[int, str] = {}
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        events = store.latest_consent(conn, [r.id for r in batch])
        for r in batch:
            chosen, why = _first_channel(r, events.get(r.id, {}), channels)
            if chosen is None:
                excluded.append(Excluded(r, why))
            else:
                members.append(r)
                via[r.id] = chosen
    return Audience(filters, channels[0], members, excluded, via, channels)


@dataclass(frozen=True)
class ExcludedGroup:
    reason: str
    count: int
    sample: list[AudienceRow]


@dataclass(frozen=True)
class Preview:
    """What an audience would be: how many, a few of them, who is left out and why."""

    filters: Filters
    description: str
    channel: str
    count: int
    sample: list[AudienceRow]
    excluded_count: int
    excluded: list[ExcludedGroup] = field(default_factory=list)
    # with several channels: how many each reaches, in the order of preference
    by_channel: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        def row(r: AudienceRow) -> dict[str, object]:
            return {"client": r.ref, "name": r.name, "owner": r.owner}

        return {
            "filters": self.filters.to_dict(),
            "description": self.description,
            "channel": self.channel,
            "count": self.count,
            "by_channel": self.by_channel,
            "sample": [row(r) for r in self.sample],
            "excluded_count": self.excluded_count,
            "excluded": [
                {"reason": g.reason, "count": g.count, "sample": [row(r) for r in g.sample]}
                for g in self.excluded
            ],
        }


def preview(
    engine: Engine,
    filters: Filters,
    *,
    today: dt.date,
    channel: str | Sequence[str],
    sample: int = 10,
) -> Preview:
    """The audience's size, a sample, and the excluded counted by reason with a sample each."""
    with reading(engine) as conn:
        found = audience(conn, filters, today=today, channel=channel)
    groups = found.excluded_by_reason()
    counts = Counter({k: len(v) for k, v in groups.items()})
    return Preview(
        filters,
        filters.describe(),
        found.channel,
        len(found.members),
        found.members[:sample],
        len(found.excluded),
        [ExcludedGroup(k, n, groups[k][:sample]) for k, n in counts.most_common()],
        found.by_channel(),
    )


# --- saved filters -------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedFilter:
    name: str
    filters: Filters
    created_by: str
    created_at: dt.datetime

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "filters": self.filters.to_dict(),
            "description": self.filters.describe(),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


def _saved(row: tuple[str, str, str, dt.datetime]) -> SavedFilter:
    return SavedFilter(row[0], Filters.from_dict(json.loads(row[1])), row[2], row[3])


def save_filter(
    engine: Engine, name: str, filters: Filters, *, actor: str, now: dt.datetime
) -> SavedFilter:
    """Save (or replace) the named filter. A saved filter holds its values, never a reference
    to another saved filter (that one's values are copied in)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("name: a name of 1 to 200 characters, e.g. 'lapsed vip'")
    with writing(engine) as conn:
        flat = resolve(conn, filters)
        store.save_filter(conn, name, json.dumps(flat.to_dict()), actor, now)
    return SavedFilter(name, flat, actor, now)


def saved_filters(engine: Engine) -> list[SavedFilter]:
    with reading(engine) as conn:
        return [_saved(r) for r in store.saved_filter_list(conn)]


def get_saved_filter(engine: Engine, name: str) -> SavedFilter:
    with reading(engine) as conn:
        row = store.saved_filter(conn, name)
    if row is None:
        raise NotFound(f"no saved filter {name!r} (see `keepwarm segment list`)")
    return _saved(row)


def delete_saved_filter(engine: Engine, name: str) -> None:
    with writing(engine) as conn:
        if not store.delete_filter(conn, name):
            raise NotFound(f"no saved filter {name!r} (see `keepwarm segment list`)")


def matching_clients(engine: Engine, filters: Filters, *, today: dt.date) -> list[AudienceRow]:
    """Every client the filters pick (before any channel's exclusions), by name."""
    with reading(engine) as conn:
        return matching(conn, filters, today=today)


def resolved(engine: Engine, filters: Filters) -> Filters:
    """The filters with the saved filter they start from merged in."""
    with reading(engine) as conn:
        return resolve(conn, filters)


def count(engine: Engine, filters: Filters, *, today: dt.date) -> int:
    """How many clients the filters pick (before any channel's exclusions)."""
    with reading(engine) as conn:
        return len(matching(conn, filters, today=today))


def refs(rows: Sequence[AudienceRow]) -> list[str]:
    """The business's ids of `rows`, in order."""
    return [r.ref for r in rows]
