"""Households: a family or a company, written to once ("The Morris family").

keepwarm suggests households from clients who share a postal address and a last name, or a
landline (a phone that is not a mobile); the owner accepts a suggestion (making the household,
or adding to a member's existing one) or rejects it (never suggested again). Suggestions are
found in one pass over the clients, grouped by key: no pair of clients is ever compared.

Every change of a client's household writes an audit entry ("household") for that client.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.model import User
from keepwarm.domain.search import fold
from keepwarm.services import audit
from keepwarm.services.consent import is_mobile
from keepwarm.store import households as store
from keepwarm.store import reading, writing
from keepwarm.store.households import Household, Member
from keepwarm.store.queries import client_internal_id

__all__ = [
    "Household",
    "HouseholdView",
    "Member",
    "Suggestion",
    "accept",
    "addressee",
    "addressees",
    "clients_household",
    "household_of_client",
    "households",
    "reject",
    "set_client_household",
    "set_household_of",
    "suggestions",
]

# A "household" larger than this is a shared number or address (a care home, a switchboard),
# not a family: not suggested.
MAX_MEMBERS = 8
COMMAND_LINE = "command line"


def addressee(name: str) -> str:
    """How a household is addressed: a bare surname ("Morris") as "The Morris family"; any
    other name (a company, "The Morris family" itself) as it is."""
    text = " ".join(name.split())
    return f"The {text} family" if text and " " not in text else text


def address_key(address: str) -> str:
    """A postal address compared for households: case, spaces, punctuation and accents
    ignored."""
    return " ".join(re.sub(r"[^\w]+", " ", fold(address)).split())


def _last_name(last_name: str | None, name: str) -> str | None:
    text = (last_name or "").strip() or (name.split()[-1] if name.split() else "")
    return text or None


def suggestion_key(ids: Sequence[int]) -> str:
    """A suggestion's key: its members' internal ids, sorted ("12-15-19"; at most
    MAX_MEMBERS of them, so it always fits)."""
    return "-".join(str(i) for i in sorted(ids))


@dataclass
class Suggestion:
    key: str
    members: list[Member]
    reasons: list[str]
    name: str  # the proposed name
    household: Household | None = None  # a member's household, which the others would join

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "reason": self.reason,
            "household": self.household.name if self.household else None,
            "members": [{"id": m.external_id, "name": m.name} for m in self.members],
        }


@dataclass
class HouseholdView:
    household: Household
    members: list[Member] = field(default_factory=list)

    @property
    def addressee(self) -> str:
        return addressee(self.household.name)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.household.name,
            "addressee": self.addressee,
            "members": [{"id": m.external_id, "name": m.name} for m in self.members],
        }


def _groups(candidates: Sequence[store.Candidate]) -> dict[tuple[str, ...], list[str]]:
    """Member ids (sorted) -> the reasons, from one pass over the clients."""
    by_address: dict[tuple[str, str], list[store.Candidate]] = defaultdict(list)
    by_phone: dict[str, list[store.Candidate]] = defaultdict(list)
    for c in candidates:
        last = _last_name(c.last_name, c.name)
        if c.address and last:
            key = address_key(c.address)
            if key:
                by_address[(key, fold(last))].append(c)
        if c.phone:
            by_phone[c.phone].append(c)
    out: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for group in by_address.values():
        if 2 <= len(group) <= MAX_MEMBERS:
            first = min(group, key=lambda c: c.id)
            last = _last_name(first.last_name, first.name)
            ids = tuple(str(c.id) for c in sorted(group, key=lambda c: c.id))
            reason = f"same address and last name: {' '.join(first.address.split())}, {last}"  # type: ignore[union-attr]
            out[ids].append(reason)
    for phone, group in by_phone.items():
        # Asked only of shared numbers: telling a mobile apart is the slow part.
        if 2 <= len(group) <= MAX_MEMBERS and not is_mobile(phone):
            ids = tuple(str(c.id) for c in sorted(group, key=lambda c: c.id))
            out[ids].append(f"same landline: {phone}")
    return out


def _proposed_name(cands: Sequence[store.Candidate]) -> str:
    lasts = Counter(
        last for c in cands if (last := _last_name(c.last_name, c.name)) is not None
    ).most_common()
    return addressee(lasts[0][0]) if lasts else "The family"


def _suggestions(conn: Connection) -> list[Suggestion]:
    candidates = store.candidates(conn)
    by_id = {c.id: c for c in candidates}
    decided = store.decided_keys(conn)
    found: list[tuple[list[store.Candidate], list[str]]] = []
    for ids, reasons in _groups(candidates).items():
        cands = [by_id[int(i)] for i in ids]
        homes = {c.household_id for c in cands}
        if len(homes) == 1 and None not in homes:
            continue  # already together
        if len(homes - {None}) > 1:
            continue  # in two households already: for the owner to sort out by hand
        if suggestion_key([c.id for c in cands]) not in decided:
            found.append((cands, reasons))
    named = store.client_names(conn, sorted({c.id for cands, _ in found for c in cands}))
    out: list[Suggestion] = []
    for cands, reasons in found:
        home = next((c.household_id for c in cands if c.household_id is not None), None)
        household = store.by_id(conn, home) if home is not None else None
        out.append(
            Suggestion(
                suggestion_key([c.id for c in cands]),
                [Member(c.id, *named[c.id]) for c in cands],
                reasons,
                household.name if household else _proposed_name(cands),
                household,
            )
        )
    out.sort(key=lambda s: (s.name.casefold(), s.key))
    return out


def suggestions(engine: Engine) -> list[Suggestion]:
    """Households keepwarm suggests, not yet accepted or rejected, by proposed name."""
    with reading(engine) as conn:
        return _suggestions(conn)


def households(engine: Engine) -> list[HouseholdView]:
    """Every household with members, by name."""
    with reading(engine) as conn:
        found = store.all_households(conn)
        members = store.members(conn, [h.id for h in found])
    return [HouseholdView(h, members[h.id]) for h in found]


def clients_household(conn: Connection, client_id: int) -> HouseholdView | None:
    """The client's household with its members (the client among them), or None."""
    hid = store.household_of(conn, client_id)
    if hid is None:
        return None
    household = store.by_id(conn, hid)
    if household is None:
        return None
    return HouseholdView(household, store.members(conn, [hid])[hid])


def addressees(conn: Connection, client_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """For each of the clients in a household: (its id, how it is addressed)."""
    homes = store.households_of(conn, client_ids)
    names = store.names(conn, set(homes.values()))
    return {cid: (hid, addressee(names[hid])) for cid, hid in homes.items()}


def _actor(by: User | None) -> str:
    return by.email if by is not None else COMMAND_LINE


def _audit(
    conn: Connection,
    client_ids: Sequence[int],
    *,
    by: User | None,
    now: dt.datetime,
    details: dict[str, Any],
) -> None:
    for cid in client_ids:
        audit.record(
            conn,
            actor=_actor(by),
            action="household",
            now=now,
            client_id=cid,
            subject=audit.client_subject(conn, cid),
            details=details,
        )


def _clean_name(name: str) -> str:
    text = " ".join(name.split())
    if not text:
        raise InvalidInput("name: give the household a name (e.g. 'The Morris family')")
    if len(text) > 400:
        raise InvalidInput("name: at most 400 characters")
    return text


def _find(conn: Connection, key: str) -> Suggestion:
    for s in _suggestions(conn):
        if s.key == key:
            return s
    raise NotFound(f"no household suggestion {key!r} (see `keepwarm households suggest`)")


def accept(
    engine: Engine, key: str, *, name: str | None = None, by: User | None, now: dt.datetime
) -> HouseholdView:
    """Accept a suggestion: its members join a member's household (renamed if `name` is
    given), or a new one named `name` (else the proposed name)."""
    with writing(engine) as conn:
        s = _find(conn, key)
        chosen = _clean_name(name) if name is not None else s.name
        clash = store.named(conn, chosen)
        if s.household is not None:
            hid = s.household.id
            if chosen != s.household.name:
                if clash is not None and clash.id != hid:
                    raise InvalidInput(_taken(clash))
                store.rename(conn, hid, chosen)
        else:
            if clash is not None:
                raise InvalidInput(_taken(clash))
            hid = store.create(conn, key=f"s:{s.key}", name=chosen, now=now)
        joining = [m.id for m in s.members]
        store.set_household(conn, joining, hid, now)
        store.record_decision(
            conn, key=s.key, decision="accepted", household_id=hid, by=_actor(by), now=now
        )
        _audit(
            conn,
            joining,
            by=by,
            now=now,
            details={"household": chosen, "suggestion": "accepted", "reason": s.reason},
        )
        view = clients_household(conn, joining[0])
    assert view is not None
    return view


def _taken(clash: Household) -> str:
    return (
        f"name: a household called {clash.name!r} exists already ({clash.members} members); "
        "give this one another name (e.g. with the street)"
    )


def reject(engine: Engine, key: str, *, by: User | None, now: dt.datetime) -> Suggestion:
    """Reject a suggestion: never suggested again."""
    with writing(engine) as conn:
        s = _find(conn, key)
        store.record_decision(
            conn, key=s.key, decision="rejected", household_id=None, by=_actor(by), now=now
        )
        _audit(
            conn,
            [m.id for m in s.members],
            by=by,
            now=now,
            details={"household": s.name, "suggestion": "rejected", "reason": s.reason},
        )
    return s


def set_client_household(
    conn: Connection,
    client_id: int,
    name: str | None,
    *,
    by: User | None,
    now: dt.datetime,
) -> HouseholdView | None:
    """Put the client in the household called `name` (made if new), or in none (`name`
    None), in the caller's transaction, with its audit entry."""
    before = store.household_of(conn, client_id)
    old = store.by_id(conn, before) if before is not None else None
    if name is None:
        hid = None
    else:
        chosen = _clean_name(name)
        found = store.named(conn, chosen)
        hid = (
            found.id
            if found is not None
            else store.create(conn, key=fold(chosen), name=chosen, now=now)
        )
    if hid != before:
        store.set_household(conn, [client_id], hid, now)
        after = store.by_id(conn, hid) if hid is not None else None
        _audit(
            conn,
            [client_id],
            by=by,
            now=now,
            details={
                "household": after.name if after else None,
                "before": old.name if old else None,
            },
        )
    return clients_household(conn, client_id)


def set_household_of(
    engine: Engine, client_ref: str, name: str | None, *, by: User | None, now: dt.datetime
) -> tuple[str, HouseholdView | None]:
    """Put the client with business id `client_ref` in the household called `name` (made if
    new), or in none; (the client's name, their household)."""
    with writing(engine) as conn:
        internal = client_internal_id(conn, client_ref)
        if internal is None:
            raise NotFound(f"no client with id {client_ref!r}")
        client_name = store.client_names(conn, [internal])[internal][1]
        return client_name, set_client_household(conn, internal, name, by=by, now=now)


def household_of_client(engine: Engine, client_ref: str) -> HouseholdView | None:
    """The household of the client with business id `client_ref`, with its members."""
    with reading(engine) as conn:
        internal = client_internal_id(conn, client_ref)
        return clients_household(conn, internal) if internal is not None else None
