"""Every client's rhythm as columns: what the rhythm engine learned, held the way it was
computed (one list per `Rhythm` field), stored without becoming a `Rhythm` per client, and
read as one when a client's rhythm is needed (the few the rules and the planner look at).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from keepwarm.domain.model import Rhythm

FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Rhythm))
"""The columns of a `RhythmTable`: `Rhythm`'s fields, in its order."""


class RhythmTable(Mapping[int, Rhythm]):
    """Rhythms by internal client id, held as columns.

    `client_ids` ascending; `columns` one list per `Rhythm` field (FIELDS), each value at its
    client's position, as `Rhythm` holds it (dates as dates, None where unknown). Reading a
    client (`table[client_id]`) builds their `Rhythm` from those values: the same value
    whichever way it is read."""

    __slots__ = ("_ordered", "client_ids", "columns")

    def __init__(self, client_ids: NDArray[np.int64], columns: Mapping[str, Sequence[Any]]):
        missing = set(FIELDS) - set(columns)
        if missing:
            raise ValueError(f"a rhythm table needs every field; missing {sorted(missing)}")
        for name in FIELDS:
            if len(columns[name]) != client_ids.size:
                raise ValueError(
                    f"column {name} has {len(columns[name])} values, not "
                    f"one per client ({client_ids.size})"
                )
        if client_ids.size > 1 and not bool(np.all(client_ids[1:] > client_ids[:-1])):
            raise ValueError("a rhythm table's client ids must be ascending and distinct")
        self.client_ids = client_ids
        self.columns: Mapping[str, Sequence[Any]] = {name: columns[name] for name in FIELDS}
        self._ordered = tuple(self.columns.values())  # in `Rhythm`'s order of fields

    @classmethod
    def empty(cls) -> RhythmTable:
        return cls(np.zeros(0, dtype=np.int64), {name: [] for name in FIELDS})

    @classmethod
    def of(cls, rhythms: Mapping[int, Rhythm]) -> RhythmTable:
        """The table of rhythms held one per client (e.g. read back from the store)."""
        ids = sorted(rhythms)
        return cls(
            np.array(ids, dtype=np.int64),
            {name: [getattr(rhythms[i], name) for i in ids] for name in FIELDS},
        )

    def positions(self, client_ids: NDArray[np.int64]) -> NDArray[np.intp]:
        """Each of `client_ids`' position in the table, -1 for a client without a rhythm."""
        at = np.searchsorted(self.client_ids, client_ids)
        found = at < self.client_ids.size
        found[found] = self.client_ids[at[found]] == client_ids[found]
        return np.where(found, at, -1).astype(np.intp)

    def values_at(self, name: str, at: NDArray[np.intp], missing: Any = None) -> list[Any]:
        """The column `name` at positions `at` (from `positions`), `missing` where -1."""
        column = self.columns[name]
        return [column[i] if i >= 0 else missing for i in at.tolist()]

    def __getitem__(self, client_id: int) -> Rhythm:
        at = int(np.searchsorted(self.client_ids, client_id))
        if at >= self.client_ids.size or int(self.client_ids[at]) != client_id:
            raise KeyError(client_id)
        return Rhythm(*[column[at] for column in self._ordered])

    def __iter__(self) -> Iterator[int]:
        return iter(self.client_ids.tolist())

    def __len__(self) -> int:
        return int(self.client_ids.size)

    def __contains__(self, client_id: object) -> bool:
        if not isinstance(client_id, int | np.integer):
            return False
        at = int(np.searchsorted(self.client_ids, client_id))
        return at < self.client_ids.size and int(self.client_ids[at]) == client_id
