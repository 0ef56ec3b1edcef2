"""The rhythm engine's packed copy of every activity, and the change log that keeps it current.

`activity_changes` is written by the database's triggers (migration 0030) on every insert,
update and delete of an activity, so whatever path changed an activity (an import, a merge of
two clients, an erasure, a cascade) names its client there. `activity_snapshot` holds every
activity as four arrays (client, day number, amount in cents, kind), sorted by client then day.
Never commits: keepwarm.services.activity_snapshot owns the transactions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from keepwarm.store.rhythms import day_number_sql, streaming_cursor
from keepwarm.store.tables import activity_changes, activity_snapshot

_CHUNK = 200_000
_IN_LIST = 5_000  # within every database's limit of parameters


@dataclass(frozen=True)
class Packed:
    """Every activity: internal client id, day number (days since 1900-01-01), amount in cents
    (0 when missing) and kind (an index into `kinds`, -1 for none), sorted by client then
    day (the order within one day is not kept: nothing computed from it depends on it)."""

    client_id: NDArray[np.int64]
    day: NDArray[np.int64]
    cents: NDArray[np.int64]
    kind: NDArray[np.int32]
    kinds: tuple[str, ...]

    @property
    def size(self) -> int:
        return int(self.client_id.size)

    def clients(self) -> int:
        """How many clients have activities here (they are sorted: no sort needed)."""
        if self.size == 0:
            return 0
        return int(np.count_nonzero(self.client_id[1:] != self.client_id[:-1])) + 1

    @classmethod
    def empty(cls) -> Packed:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, none, np.zeros(0, dtype=np.int32), ())

    def sorted(self) -> Packed:
        """The same activities in (client, day) order."""
        if self.size < 2:
            return self
        order = np.lexsort((self.day, self.client_id))
        return dataclasses.replace(
            self,
            client_id=self.client_id[order],
            day=self.day[order],
            cents=self.cents[order],
            kind=self.kind[order],
        )

    def without(self, clients: NDArray[np.int64]) -> Packed:
        """These activities less every one of `clients`."""
        keep = ~np.isin(self.client_id, clients)
        return dataclasses.replace(
            self,
            client_id=self.client_id[keep],
            day=self.day[keep],
            cents=self.cents[keep],
            kind=self.kind[keep],
        )

    def plus(self, other: Packed) -> Packed:
        """Both sets of activities, with one vocabulary of kinds, sorted. When `other` holds
        only clients without activities here (a fold: the changed clients were taken out
        first), its rows are slotted in place instead of sorting everything again."""
        kinds = tuple(sorted(set(self.kinds) | set(other.kinds)))
        mine = _recode(self.kind, self.kinds, kinds)
        theirs = _recode(other.kind, other.kinds, kinds)
        at = np.searchsorted(self.client_id, other.client_id)
        clash = at < self.size
        if not clash.any() or not np.any(self.client_id[at[clash]] == other.client_id[clash]):
            return Packed(
                np.insert(self.client_id, at, other.client_id),
                np.insert(self.day, at, other.day),
                np.insert(self.cents, at, other.cents),
                np.insert(mine, at, theirs),
                kinds,
            )
        return Packed(
            np.concatenate([self.client_id, other.client_id]),
            np.concatenate([self.day, other.day]),
            np.concatenate([self.cents, other.cents]),
            np.concatenate([mine, theirs]),
            kinds,
        ).sorted()

    def clients_between(self, low: int, high: int) -> Packed:
        """The activities of the clients with internal ids in [low, high)."""
        start, stop = np.searchsorted(self.client_id, [low, high])
        return dataclasses.replace(
            self,
            client_id=self.client_id[start:stop],
            day=self.day[start:stop],
            cents=self.cents[start:stop],
            kind=self.kind[start:stop],
        )

    @classmethod
    def joined(cls, parts: Sequence[Packed]) -> Packed:
        """Blocks of clients in ascending order, one after the other, as one."""
        kinds = tuple(sorted({k for part in parts for k in part.kinds}))
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.client_id for p in parts]),
            np.concatenate([p.day for p in parts]),
            np.concatenate([p.cents for p in parts]),
            np.concatenate([_recode(p.kind, p.kinds, kinds) for p in parts]),
            kinds,
        )

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        np.savez(
            out,
            client_id=self.client_id,
            day=self.day.astype(np.int32),
            cents=self.cents,
            kind=self.kind,
            kinds=np.array(self.kinds, dtype=np.str_),
        )
        return out.getvalue()

    @classmethod
    def from_bytes(cls, payload: bytes) -> Packed:
        with np.load(io.BytesIO(payload), allow_pickle=False) as data:
            return cls(
                data["client_id"].astype(np.int64),
                data["day"].astype(np.int64),
                data["cents"].astype(np.int64),
                data["kind"].astype(np.int32),
                tuple(str(k) for k in data["kinds"]),
            )


def _recode(kind: NDArray[np.int32], old: Sequence[str], new: Sequence[str]) -> NDArray[np.int32]:
    if tuple(old) == tuple(new):
        return kind
    position = {name: i for i, name in enumerate(new)}
    table = np.array([position[name] for name in old] + [-1], dtype=np.int32)
    return table[kind]  # -1 indexes the appended -1: no kind stays no kind


BLOCK_CLIENTS = 65_536
"""Clients per stored block, by internal id: at about 20 activities a client a block is about
30 MB, far inside PostgreSQL's limit of 1 GB for one value whatever the size of the business,
and a fold rewrites only the blocks whose clients changed."""


@dataclass(frozen=True)
class Stored:
    packed: Packed
    version: int


def load(conn: Connection) -> Stored | None:
    """The stored copy, or None when there is none (block 0 carries the version)."""
    s = activity_snapshot.c
    head = conn.execute(select(s.version).where(s.block == 0)).first()
    if head is None:
        return None
    sql = "SELECT payload FROM activity_snapshot ORDER BY block"
    cursor = streaming_cursor(conn, "keepwarm_snapshot")
    if conn.dialect.name == "postgresql":
        cursor.execute(sql, binary=True)  # the bytes as they are, not hex text twice the size
    else:
        cursor.execute(sql)
    parts = []
    while row := cursor.fetchone():  # one block at a time
        parts.append(Packed.from_bytes(bytes(row[0])))
    cursor.close()
    return Stored(Packed.joined(parts), int(head.version))


def save(
    conn: Connection,
    packed: Packed,
    *,
    version: int | None,
    now: dt.datetime,
    clients: NDArray[np.int64] | None = None,
) -> bool:
    """Store `packed` in place of the copy at `version` (None: there was none): every block, or
    only the blocks of `clients` (those that changed). False when another run stored a copy
    first (this transaction must then change nothing else)."""
    s = activity_snapshot.c
    if version is None:
        if conn.execute(select(s.block)).first() is not None:
            return False
        head = insert(activity_snapshot).values(
            block=0, version=1, built_at=now, activities=0, payload=Packed.empty().to_bytes()
        )
        try:
            with conn.begin_nested():  # two first runs at once (PostgreSQL): one stores
                conn.execute(head)
        except IntegrityError:
            return False
    else:
        guard = update(activity_snapshot).where(s.block == 0, s.version == version)
        if conn.execute(guard.values(version=version + 1, built_at=now)).rowcount != 1:
            return False
    if clients is None:
        conn.execute(delete(activity_snapshot).where(s.block != 0))
        blocks = {0, *np.unique(packed.client_id // BLOCK_CLIENTS).tolist()}
    else:
        blocks = set(np.unique(clients // BLOCK_CLIENTS).tolist())
    for block in sorted(blocks):
        part = packed.clients_between(block * BLOCK_CLIENTS, (block + 1) * BLOCK_CLIENTS)
        values: dict[str, Any] = {
            "built_at": now,
            "activities": part.size,
            "payload": part.to_bytes(),
        }
        if block == 0:
            conn.execute(update(activity_snapshot).where(s.block == 0).values(**values))
            continue
        conn.execute(delete(activity_snapshot).where(s.block == block))
        if part.size:
            conn.execute(insert(activity_snapshot).values(block=block, version=0, **values))
    return True


TRIGGERS = ("activities_changes_insert", "activities_changes_update", "activities_changes_delete")
"""The triggers that write the change log (migration 0030)."""


def missing_triggers(conn: Connection) -> list[str]:
    """The change-log triggers this database lacks (a restore made without them, say)."""
    if conn.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'activities'"
    else:
        sql = (
            "SELECT tgname FROM pg_trigger "
            "WHERE tgrelid = to_regclass('activities') AND NOT tgisinternal"
        )
    found = {row[0] for row in conn.exec_driver_sql(sql)}
    return [name for name in TRIGGERS if name not in found]


def changes(conn: Connection) -> tuple[list[int], NDArray[np.int64]]:
    """The change log: its row ids, and the clients they name (distinct, ascending)."""
    rows = conn.execute(select(activity_changes.c.id, activity_changes.c.client_id)).all()
    ids = [r[0] for r in rows]
    clients = np.unique(np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)))
    return ids, clients


def forget_changes(conn: Connection, ids: Sequence[int]) -> None:
    """Delete exactly the change rows `ids` (folded into a stored snapshot): a change committed
    since they were read, even one with a smaller id on PostgreSQL, stays for the next fold."""
    if not ids:
        return
    if conn.dialect.name == "sqlite":
        # one writer at a time, ids in commit order, never reused (AUTOINCREMENT): a range
        conn.execute(delete(activity_changes).where(activity_changes.c.id <= max(ids)))
        return
    for start in range(0, len(ids), 100_000):
        conn.exec_driver_sql(
            "DELETE FROM activity_changes WHERE id = ANY(%s)", (list(ids[start : start + 100_000]),)
        )


def read_all(conn: Connection, on_progress: Callable[[int], None] | None = None) -> Packed:
    """Every activity, read in chunks."""
    sql = (
        f"SELECT client_id, {day_number_sql(conn)}, COALESCE(amount_cents, 0), kind FROM activities"
    )
    return _read(conn, sql, (), on_progress)


def read_clients(conn: Connection, clients: NDArray[np.int64]) -> Packed:
    """Every activity of `clients`, through the activities' client index."""
    parts = [Packed.empty()]
    marker = "?" if conn.dialect.name == "sqlite" else "%s"
    for start in range(0, clients.size, _IN_LIST):
        some = clients[start : start + _IN_LIST].tolist()
        sql = (
            f"SELECT client_id, {day_number_sql(conn)}, COALESCE(amount_cents, 0), kind "
            f"FROM activities WHERE client_id IN ({', '.join([marker] * len(some))})"
        )
        parts.append(_read(conn, sql, tuple(some), None))
    out = parts[0]
    for part in parts[1:]:
        out = out.plus(part)
    return out


def _read(
    conn: Connection,
    sql: str,
    params: tuple[Any, ...],
    on_progress: Callable[[int], None] | None,
) -> Packed:
    """The rows of `sql` (client, day, cents, kind) packed, in chunks: on PostgreSQL through a
    server-side cursor, so the driver never holds every row at once; each chunk's kinds become
    numbers as they arrive (not a Python string per activity)."""
    cursor = streaming_cursor(conn, "keepwarm_activities")
    cursor.execute(sql, params)
    numbers: list[NDArray[np.int64]] = []
    codes: list[NDArray[np.int32]] = []
    seen: dict[str, int] = {}
    done = 0
    while chunk := cursor.fetchmany(_CHUNK):
        numbers.append(np.array([r[:3] for r in chunk], dtype=np.int64).reshape(-1, 3))
        codes.append(
            np.fromiter(
                (-1 if r[3] is None else seen.setdefault(r[3], len(seen)) for r in chunk),
                dtype=np.int32,
                count=len(chunk),
            )
        )
        done += len(chunk)
        if on_progress is not None:
            on_progress(done)
    cursor.close()
    table = np.concatenate(numbers) if numbers else np.zeros((0, 3), dtype=np.int64)
    kind = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32)
    vocabulary = tuple(sorted(seen))
    kind = _recode(kind, tuple(seen), vocabulary)  # dicts keep the order of arrival
    client, day, cents = table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy()
    return Packed(client, day, cents, kind, vocabulary).sorted()
