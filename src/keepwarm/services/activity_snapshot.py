"""Every activity, packed, without reading every activity back each morning.

The daily job needs every client's activities (the rhythm engine's summary: distinct days,
gaps, amounts in sliding windows) and each client's first, last and last-of-each-kind dates
(the signal rules). Those are what it keeps: a packed copy of every activity (client, day,
amount, kind; ~20 bytes each), stored in the database and brought up to date from the change
log that the database's own triggers write on every insert, update and delete of an activity.
A fold re-reads only the changed clients' activities, through the client index; it is stored
once enough clients changed (`STORE_FRACTION`), until then the change log keeps them. A full read
(`rebuild`, the first run, or when more than a quarter of the clients changed) replaces it,
and gives the same arrays: the tests check that after imports, edits, merges and erasures.

Consistency: the snapshot, the change log and the changed clients' activities are read in one
read transaction; the new snapshot is stored and exactly the change rows that were folded are
deleted in one write transaction, only if no other run stored a snapshot in between. A change
committed meanwhile keeps its log row for the next fold.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine

from keepwarm.domain.signals import NO_DAY, Days
from keepwarm.store import activity_snapshot as store
from keepwarm.store import reading, writing
from keepwarm.store.activity_snapshot import Packed
from keepwarm.store.facts import ActivityFacts
from keepwarm.store.rhythms import DAY_ZERO, client_ids

log = logging.getLogger(__name__)

REBUILD_FRACTION = 0.25
"""Above this share of changed clients, one full read is cheaper than reading them by id."""
STORE_FRACTION = 0.05
"""A fold is stored (and its change rows forgotten) once this share of the clients changed
since the stored copy: below it, re-reading those clients' activities each morning costs less
than rewriting the copy (at a million clients, 2,000 new activities touch every block)."""


class _LostRace(Exception):
    """Another run stored a snapshot first: store nothing."""


def current(
    engine: Engine,
    now: dt.datetime,
    *,
    rebuild: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[NDArray[np.int64], Packed]:
    """(every client's internal id ascending, every activity), as the database holds them now,
    from one read transaction; the snapshot is brought up to date and stored on the way."""
    started = time.perf_counter()
    with reading(engine) as conn:
        ids = client_ids(conn)
        missing = store.missing_triggers(conn)
        stored = None if missing else store.load(conn)
        seen, changed = store.changes(conn)
        known = 0 if stored is None else stored.packed.clients()
        full = rebuild or stored is None or changed.size > REBUILD_FRACTION * max(known, 1)
        if full:
            packed = store.read_all(conn, progress)
        else:
            assert stored is not None
            packed = stored.packed
            if changed.size:
                packed = packed.without(changed).plus(store.read_clients(conn, changed))
    version = None if stored is None else stored.version
    if missing:
        # Without them changes would go unseen: read everything every morning, store nothing.
        log.warning(
            "activities: the database lacks the change-log triggers %s (`keepwarm db check` "
            "lists them): every activity is read each morning until they are back",
            ", ".join(missing),
        )
    elif full or changed.size > STORE_FRACTION * max(known, 1):
        _store(engine, packed, version, seen, now, None if full else changed)
    log.info(
        "activities: %s in %.2f s (%d activities, %d changed client(s))",
        "read in full" if full else "brought up to date",
        time.perf_counter() - started,
        packed.size,
        int(changed.size),
        extra={"full": full, "activities": packed.size, "changed_clients": int(changed.size)},
    )
    return ids, packed


def _store(
    engine: Engine,
    packed: Packed,
    version: int | None,
    seen: list[int],
    now: dt.datetime,
    changed: NDArray[np.int64] | None,
) -> None:
    """Store the copy (every block, or those of the `changed` clients) and forget the change
    rows `seen`, in one transaction, unless another run stored a copy first."""
    try:
        with writing(engine) as conn:
            if not store.save(conn, packed, version=version, now=now, clients=changed):
                raise _LostRace
            store.forget_changes(conn, seen)
    except _LostRace:
        log.info("activities: another run stored the snapshot first; this one is not stored")


@dataclass(frozen=True)
class ActivityColumns:
    """The first, last and last-of-each-kind activity of the clients `ids` (sorted internal
    ids) as of one day, as ClientColumns' day numbers (`NO_DAY` for none)."""

    ids: NDArray[np.int64]
    first: Days
    last: Days
    last_by_kind: dict[str, Days]

    def facts(self, positions: NDArray[np.intp] | None = None) -> ActivityFacts:
        """The ActivityFacts of the clients at `positions` (all without), for the rules."""
        at = np.arange(self.ids.size) if positions is None else np.asarray(positions)
        at = at[self.first[at] != NO_DAY]
        dates = _dates(np.concatenate([self.first[at], self.last[at]]))
        ids = self.ids[at].tolist()
        spans = {
            cid: (dates[f], dates[la])
            for cid, f, la in zip(ids, self.first[at].tolist(), self.last[at].tolist(), strict=True)
        }
        by_kind: dict[int, dict[str, dt.date]] = {}
        for kind, days in self.last_by_kind.items():
            mine = at[days[at] != NO_DAY]
            found = days[mine]
            dates |= _dates(found)
            for cid, d in zip(self.ids[mine].tolist(), found.tolist(), strict=True):
                seen = by_kind.get(cid)
                if seen is None:
                    by_kind[cid] = {kind: dates[d]}
                else:
                    seen[kind] = dates[d]
        return ActivityFacts(spans, by_kind)


def activity_columns(
    packed: Packed, as_of: dt.date, ids: NDArray[np.int64] | None = None
) -> ActivityColumns:
    """`ActivityColumns` of the clients `ids` (sorted; every client with an activity without),
    counting only activities up to `as_of`."""
    cut = packed.day <= (as_of - DAY_ZERO).days
    client, day, kind = packed.client_id[cut], packed.day[cut] + _ORDINAL_ZERO, packed.kind[cut]
    if ids is None:
        ids = np.unique(client)
    first = np.full(ids.size, NO_DAY, dtype=np.int32)
    last = first.copy()
    if client.size:
        starts = np.flatnonzero(np.r_[True, client[1:] != client[:-1]])
        ends = np.r_[starts[1:], client.size] - 1
        at = np.searchsorted(ids, client[starts])
        known = (at < ids.size) & (ids[np.minimum(at, ids.size - 1)] == client[starts])
        first[at[known]] = day[starts][known]
        last[at[known]] = day[ends][known]
    by_kind: dict[str, Days] = {}
    for k, name in enumerate(packed.kinds):
        mine = kind == k
        if not mine.any():
            continue
        k_client, k_day = client[mine], day[mine]
        # rows are in (client, day) order: a client's last row of the kind is its latest day
        ends = np.flatnonzero(np.r_[k_client[1:] != k_client[:-1], True])
        at = np.searchsorted(ids, k_client[ends])
        known = (at < ids.size) & (ids[np.minimum(at, ids.size - 1)] == k_client[ends])
        days = np.full(ids.size, NO_DAY, dtype=np.int32)
        days[at[known]] = k_day[ends][known]
        by_kind[name] = days
    return ActivityColumns(ids, first, last, by_kind)


_ORDINAL_ZERO = DAY_ZERO.toordinal()


def _dates(days: NDArray[np.int32]) -> dict[int, dt.date]:
    """Each distinct day number as a date (a few thousand conversions, not millions)."""
    return {d: dt.date.fromordinal(d) for d in np.unique(days).tolist()}
