"""Merging two clients into one, and undoing it, each in one transaction with its audit
entries (one per client: personal data of a client goes only into that client's entry).

A merge moves every row of the other client to the kept one (keepwarm.store.client_merge),
fills the kept client's empty fields from the other's, deletes the other's row, makes the
other's business id an alias of the kept client (so re-importing either export updates the
merged client), and keeps a snapshot of everything undo needs."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete

from keepwarm.domain.duplicates import compare
from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.services import audit
from keepwarm.store import client_merge as store
from keepwarm.store import duplicates as dup_store
from keepwarm.store import reading, writing
from keepwarm.store.queries import client_internal_id
from keepwarm.store.rhythms import refresh_standing_cuts
from keepwarm.store.tables import client_merges, clients

__all__ = ["MergeDone", "MergeSummary", "merge_clients", "merge_history", "undo_merge"]


@dataclass(frozen=True)
class MergeDone:
    merge_id: int
    kept: str
    merged: str
    moved: dict[str, int]
    set_aside: dict[str, int]
    filled: tuple[str, ...]


@dataclass(frozen=True)
class MergeSummary:
    id: int
    kept: str
    kept_name: str
    merged: str
    score: float | None
    explanation: str
    merged_by: str
    merged_at: dt.datetime
    undone_by: str | None
    undone_at: dt.datetime | None


def merge_clients(engine: Engine, keep: str, other: str, *, by: str, now: dt.datetime) -> MergeDone:
    """Merge client `other` into client `keep` (business ids), in one transaction."""
    with writing(engine) as conn:
        kept_id = client_internal_id(conn, keep)
        other_id = client_internal_id(conn, other)
        if kept_id is None:
            raise NotFound(f"no client with id {keep!r}")
        if other_id is None:
            raise NotFound(f"no client with id {other!r}")
        if kept_id == other_id:
            raise InvalidInput(f"a client cannot be merged with itself ({keep!r})")
        people = dup_store.people_by_id(conn, [kept_id, other_id])
        pair = compare(people[kept_id], people[other_id])
        kept_row = store.client_row(conn, kept_id)
        other_row = store.client_row(conn, other_id)
        assert kept_row is not None and other_row is not None
        moved, aside = store.move_rows(conn, kept_id, other_id)
        before, after = store.fill_kept(conn, kept_row, other_row, now)
        filled = sorted(name for name in before if name != "updated_at")
        conn.execute(delete(clients).where(clients.c.id == other_id))
        refresh_standing_cuts(conn)  # the merged client's rhythm went with them
        snapshot: dict[str, Any] = {
            "merged": store.encode_client(other_row),
            "moved": moved,
            "set_aside": aside,
            "kept_before": store.encode_client(before),
            "kept_after": store.encode_client(after),
        }
        merge_id = store.write_merge(
            conn,
            kept=kept_row,
            other=other_row,
            score=pair.score,
            explanation=pair.explanation,
            snapshot=snapshot,
            by=by,
            now=now,
        )
        details = {
            "merge_id": merge_id,
            "moved": {k: len(v) for k, v in moved.items()},
            "set_aside": {k: len(v) for k, v in aside.items()},
        }
        audit.record(
            conn,
            actor=by,
            action="merge",
            now=now,
            client_id=kept_id,
            subject=f"{kept_row['name']} ({kept_row['external_id']})",
            details={**details, "role": "kept", "filled": filled},
        )
        audit.record(
            conn,
            actor=by,
            action="merge",
            now=now,
            client_id=other_id,
            subject=f"{other_row['name']} ({other_row['external_id']})",
            details={**details, "role": "merged into another client"},
        )
    return MergeDone(
        merge_id,
        keep,
        other,
        {k: len(v) for k, v in moved.items()},
        {k: len(v) for k, v in aside.items()},
        tuple(filled),
    )


def undo_merge(engine: Engine, merge_id: int, *, by: str, now: dt.datetime) -> MergeSummary:
    """Undo merge `merge_id`, in one transaction, or refuse (InvalidInput) saying why."""
    with writing(engine) as conn:
        merge = store.merge_row(conn, merge_id)
        if merge is None:
            raise NotFound(
                f"no merge {merge_id} (if its kept client was erased, the merge went with them)"
            )
        if merge["undone_at"] is not None:
            raise InvalidInput(
                f"merge {merge_id} was already undone by {merge['undone_by']} "
                f"on {merge['undone_at']:%d %b %Y}"
            )
        snapshot = json.loads(merge["snapshot"])
        problems = store.undo_problems(conn, merge, snapshot)
        if problems:
            raise InvalidInput(f"merge {merge_id} cannot be undone: " + "; ".join(problems))
        store.undo_rows(conn, merge, snapshot, now)
        refresh_standing_cuts(conn)  # the merged client's rhythm is back
        conn.execute(
            client_merges.update()
            .where(client_merges.c.id == merge_id)
            .values(undone_by=by, undone_at=now)
        )
        for client_id in (merge["kept_id"], merge["merged_id"]):
            audit.record(
                conn,
                actor=by,
                action="merge-undone",
                now=now,
                client_id=client_id,
                subject=audit.client_subject(conn, client_id),
                details={"merge_id": merge_id},
            )
        summary = _summaries(store.merges(conn, limit=None, merge_id=merge_id))[0]
    return summary


def _summaries(rows: list[dict[str, Any]]) -> list[MergeSummary]:
    return [
        MergeSummary(
            r["id"],
            r["kept_external_id"],
            r["kept_name"],
            r["merged_external_id"],
            r["score"],
            r["explanation"],
            r["merged_by"],
            r["merged_at"],
            r["undone_by"],
            r["undone_at"],
        )
        for r in rows
    ]


def merge_history(engine: Engine, *, limit: int = 100) -> list[MergeSummary]:
    """Past merges, newest first."""
    with reading(engine) as conn:
        return _summaries(store.merges(conn, limit=limit))


def merged_into(engine: Engine, ref: str) -> str | None:
    """The business id of the client that `ref`, a client merged away, lives on in (its
    alias); None when `ref` is a client of its own or unknown."""
    with reading(engine) as conn:
        if client_internal_id(conn, ref) is not None:
            return None
        return store.alias_target(conn, ref)
