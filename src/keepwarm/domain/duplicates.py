"""Likely duplicate clients: which pairs to compare (blocking on shared keys, so the work grows
with the number of clients, not its square) and how alike two clients are (a score from 0 to 1
and its reasons in words: "same phone, names differ only by a nickname (Kim / Kimberly)").

Pure: people in, pairs out. Names are compared folded (accents and case dropped, as the search
box does: keepwarm.domain.search), first names also through nicknames (the `nicknames`
package's table: Bob / Robert) and initials ("K. Morris"), and with `rapidfuzz` for typos.
Two people with different first names or different birthdays are never one person, whatever
they share (twins and spouses share an address, a last name and often a phone)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from nicknames import NickNamer
from rapidfuzz.distance import OSA

from keepwarm.domain.search import fold

DEFAULT_MIN_SCORE = 0.75
# A key shared by more clients than this says little (a clinic's own phone number on every
# record, a care home's address); its pairs are left out, which keeps finding near-linear.
MAX_BLOCK = 30


@dataclass(frozen=True)
class Person:
    """What finding compares of a client."""

    id: int
    external_id: str
    name: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    birthday: dt.date | None = None


@dataclass(frozen=True)
class Pair:
    """Two clients who are likely one person; `a` has the smaller internal id."""

    a: Person
    b: Person
    score: float
    reasons: tuple[str, ...]

    @property
    def explanation(self) -> str:
        text = ", ".join(self.reasons)
        return text[:1].upper() + text[1:]


class NameMatch(Enum):
    SAME = "same"
    NICKNAME = "nickname"
    INITIAL = "initial"
    TYPO = "typo"
    DIFFERENT = "different"
    UNKNOWN = "unknown"


_NON_DIGITS = re.compile(r"\D+")
_NON_WORD = re.compile(r"[^\w\s'-]+")
_NON_ADDRESS = re.compile(r"[^\w\s]+")


@lru_cache(maxsize=1)
def _namer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=65536)
def _name_family(first: str) -> frozenset[str]:
    """The names `first` is a nickname of, and its own nicknames (not the other names its
    nicknames stand for: Bill is William's and Robert's, yet William is not Robert)."""
    namer = _namer()
    return frozenset({*namer.canonicals_of(first), *namer.nicknames_of(first)})


def is_typo(x: str, y: str) -> bool:
    """Whether two different folded names differ by one slip (a letter missing, added,
    changed or two swapped), or two in a long name."""
    edits = OSA.distance(x, y, score_cutoff=2)
    return edits <= 1 or (edits == 2 and min(len(x), len(y)) >= 8)


def name_parts(p: Person) -> tuple[str, str]:
    """The folded first and last names ("" when unknown): the first and last names if the
    record has them, else the first and last words of the name."""
    first = _clean(p.first_name)
    last = _clean(p.last_name)
    if not first or not last:
        words = _clean(p.name).split()
        if words:
            first = first or (words[0] if len(words) > 1 else "")
            last = last or words[-1]
    return first, last


def _fold(text: str | None) -> str:
    """keepwarm.domain.search.fold, with a fast path for plain ASCII (most names)."""
    text = text or ""
    return text.lower() if text.isascii() else fold(text)


def _clean(text: str | None) -> str:
    return " ".join(_NON_WORD.sub(" ", _fold(text)).replace(".", " ").split())


def phone_key(phone: str | None) -> str | None:
    """The phone's last nine digits: "+44 7700 900123" and "07700 900123" are one number."""
    digits = _NON_DIGITS.sub("", phone or "")
    return digits[-9:] if len(digits) >= 6 else None


def email_key(email: str | None) -> str | None:
    text = (email or "").strip().casefold()
    return text if "@" in text else None


def address_key(address: str | None) -> str | None:
    text = " ".join(_NON_ADDRESS.sub(" ", _fold(address)).split())
    return text or None


@dataclass(frozen=True)
class Keys:
    """What is compared of a person, normalised once: folded first and last names, and the
    email, phone, address and birthday keys (None when absent)."""

    first: str
    last: str
    email: str | None
    phone: str | None
    address: str | None
    birthday: str | None


def keys_of(p: Person) -> Keys:
    first, last = name_parts(p)
    return Keys(
        first,
        last,
        email_key(p.email),
        phone_key(p.phone),
        address_key(p.address),
        p.birthday.isoformat() if p.birthday is not None else None,
    )


def blocking_keys(k: Keys) -> Iterator[str]:
    """The keys two people must share one of to be compared."""
    for prefix, value in (("e:", k.email), ("p:", k.phone), ("a:", k.address), ("b:", k.birthday)):
        if value is not None:
            yield prefix + value


def candidate_pairs(
    people: Iterable[Person], max_block: int = MAX_BLOCK, *, keys: list[Keys] | None = None
) -> set[tuple[int, int]]:
    """Index pairs (i < j, positions in `people`) that share a blocking key."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys if keys is not None else map(keys_of, people)):
        for key in blocking_keys(k):
            blocks[key].append(i)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        if 1 < len(members) <= max_block:
            pairs.update(itertools.combinations(members, 2))
    return pairs


def exact_key_pairs(people: Iterable[Person]) -> set[tuple[int, int]]:
    """The baseline: pairs with the same email or phone, nothing else compared."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(people):
        for key in (email_key(p.email), phone_key(p.phone)):
            if key is not None:
                blocks[key].append(i)
    return {pair for m in blocks.values() for pair in itertools.combinations(m, 2)}


def first_name_match(x: str, y: str) -> NameMatch:
    if not x or not y:
        return NameMatch.UNKNOWN
    if x == y:
        return NameMatch.SAME
    if len(x) == 1 or len(y) == 1:
        return NameMatch.INITIAL if x[0] == y[0] else NameMatch.DIFFERENT
    if y in _name_family(x) or x in _name_family(y):
        return NameMatch.NICKNAME
    if is_typo(x, y):
        return NameMatch.TYPO
    return NameMatch.DIFFERENT


def last_name_match(x: str, y: str) -> NameMatch:
    if not x or not y:
        return NameMatch.UNKNOWN
    if x == y:
        return NameMatch.SAME
    if is_typo(x, y):
        return NameMatch.TYPO
    return NameMatch.DIFFERENT


def _shown(first: str | None) -> str:
    return (first or "").title()


def compare(a: Person, b: Person) -> Pair:
    """How likely `a` and `b` are one person, and why."""
    return compare_keys(a, keys_of(a), b, keys_of(b))


def compare_keys(a: Person, ka: Keys, b: Person, kb: Keys) -> Pair:
    """`compare`, with each person's keys already made."""
    if b.id < a.id:
        a, b, ka, kb = b, a, kb, ka
    fa, la, fb, lb = ka.first, ka.last, kb.first, kb.last
    first = first_name_match(fa, fb)
    last = last_name_match(la, lb)
    reasons: list[str] = []
    same_email = ka.email is not None and ka.email == kb.email
    same_phone = ka.phone is not None and ka.phone == kb.phone
    same_address = ka.address is not None and ka.address == kb.address
    birthdays = a.birthday is not None and b.birthday is not None
    same_birthday = birthdays and a.birthday == b.birthday
    if same_email:
        reasons.append("same email")
    if same_phone:
        reasons.append("same phone")
    if same_birthday:
        reasons.append("same birthday")
    if same_address:
        reasons.append("same address")
    pair = (_shown(fa), _shown(fb))
    if first is NameMatch.SAME and last is NameMatch.SAME:
        reasons.append("same name")
    elif first is NameMatch.NICKNAME:
        reasons.append(f"names differ only by a nickname ({pair[0]} / {pair[1]})")
    elif first is NameMatch.INITIAL:
        reasons.append(f"one name has an initial ({pair[0]} / {pair[1]})")
    elif first is NameMatch.TYPO:
        reasons.append(f"first names differ by a typo ({pair[0]} / {pair[1]})")
    elif first is NameMatch.DIFFERENT:
        reasons.append(f"different first names ({pair[0]} / {pair[1]})")
    if last is NameMatch.TYPO:
        reasons.append(f"last names differ by a typo ({_shown(la)} / {_shown(lb)})")
    elif last is NameMatch.DIFFERENT:
        reasons.append(f"different last names ({_shown(la)} / {_shown(lb)})")
    if birthdays and not same_birthday:
        reasons.append("different birthdays")
    score = _score(first, last, same_email or same_phone, same_birthday, same_address)
    if birthdays and not same_birthday:
        score = min(score, 0.2)
    return Pair(a, b, round(score, 3), tuple(reasons))


_FIRST_WEIGHT = {
    NameMatch.SAME: 0.92,
    NameMatch.NICKNAME: 0.88,
    NameMatch.TYPO: 0.84,
    NameMatch.INITIAL: 0.8,
    NameMatch.UNKNOWN: 0.7,
    NameMatch.DIFFERENT: 0.0,
}


def _score(
    first: NameMatch, last: NameMatch, contact: bool, birthday: bool, address: bool
) -> float:
    names = _FIRST_WEIGHT[first]
    if last is NameMatch.TYPO:
        names -= 0.06
    elif last is not NameMatch.SAME:
        names = 0.0
    if names == 0.0:
        # Different people who share a family's email, phone or address.
        return 0.45 if contact else 0.1
    if contact:
        return min(0.99, names + 0.07 + 0.02 * (birthday + address))
    if birthday or address:
        return min(0.98, names + 0.05 * (birthday and address))
    return 0.4


def find_pairs(
    people: list[Person],
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    decided: set[tuple[int, int]] | None = None,
) -> list[Pair]:
    """Pairs scoring at least `min_score`, best first, without those in `decided` (internal
    ids, smaller first: pairs the owner said are two people)."""
    decided = decided or set()
    keys = [keys_of(p) for p in people]
    found: list[Pair] = []
    for i, j in candidate_pairs(people, keys=keys):
        a, b = people[i], people[j]
        if (min(a.id, b.id), max(a.id, b.id)) in decided:
            continue
        ka, kb = keys[i], keys[j]
        if ka.birthday and kb.birthday and ka.birthday != kb.birthday and min_score > 0.2:
            continue  # different birthdays: never above 0.2 (see compare)
        pair = compare_keys(a, ka, b, kb)
        if pair.score >= min_score:
            found.append(pair)
    found.sort(key=lambda p: (-p.score, p.a.id, p.b.id))
    return found


__all__ = [
    "DEFAULT_MIN_SCORE",
    "NameMatch",
    "Pair",
    "Person",
    "blocking_keys",
    "candidate_pairs",
    "compare",
    "exact_key_pairs",
    "find_pairs",
    "keys_of",
    "name_parts",
]
