"""Finding likely duplicate clients (keepwarm.domain.duplicates over every client) and the
owner's "not the same person" answer, which hides a pair for good."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from keepwarm.domain.duplicates import DEFAULT_MIN_SCORE, Pair, Person, compare, find_pairs
from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.store import duplicates as store
from keepwarm.store import reading, writing
from keepwarm.store.queries import client_internal_id

__all__ = [
    "DEFAULT_MIN_SCORE",
    "Pair",
    "Person",
    "compare_clients",
    "find",
    "not_the_same",
    "pair_json",
]


@dataclass(frozen=True)
class Found:
    pairs: list[Pair]
    clients: int


def find(engine: Engine, *, min_score: float = DEFAULT_MIN_SCORE) -> Found:
    """Likely duplicate pairs scoring at least `min_score`, best first, without the pairs the
    owner said are two people."""
    if not 0.0 <= min_score <= 1.0:
        raise InvalidInput(f"min-score: a number from 0 to 1, not {min_score}")
    with reading(engine) as conn:
        people = store.people(conn)
        decided = store.decided_pairs(conn)
    return Found(find_pairs(people, min_score=min_score, decided=decided), len(people))


def _pair_ids(conn: Connection, a: str, b: str) -> tuple[int, int]:
    ids = []
    for ext in (a, b):
        internal = client_internal_id(conn, ext)
        if internal is None:
            raise NotFound(f"no client with id {ext!r}")
        ids.append(internal)
    if ids[0] == ids[1]:
        raise InvalidInput(f"two different clients are needed, not {a!r} twice")
    return ids[0], ids[1]


def compare_clients(engine: Engine, a: str, b: str) -> Pair:
    """The score and reasons of two clients (business ids), whatever their score."""
    with reading(engine) as conn:
        x, y = _pair_ids(conn, a, b)
        people = store.people_by_id(conn, [x, y])
    return compare(people[x], people[y])


def not_the_same(engine: Engine, a: str, b: str, *, by: str, now: dt.datetime) -> bool:
    """Record that clients `a` and `b` (business ids) are two people; False if already said."""
    with writing(engine) as conn:
        x, y = _pair_ids(conn, a, b)
        return store.add_decision(conn, x, y, by=by, now=now)


def pair_json(p: Pair) -> dict[str, object]:
    """A pair as `keepwarm duplicates --format json` and /duplicates.json give it."""
    return {
        "a": p.a.external_id,
        "b": p.b.external_id,
        "score": p.score,
        "reasons": list(p.reasons),
        "explanation": p.explanation,
    }
