"""How a client is found by the search box: one normalised text per client, and the query's
terms, both folded the same way (Unicode NFKD, accents and other combining marks dropped,
case folded, whitespace collapsed). A client matches when every term of the query appears
somewhere in their text, in any order: "rocher adelaide" finds "Adélaïde Rocher", "1043"
finds the client whose id is "C-10432"."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """`text` without accents, case folded, its whitespace collapsed to single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def search_text(client_id: str, name: str | None, email: str | None) -> str:
    """The stored text a client is searched by: their name, email and id, folded."""
    return fold(" ".join(part for part in (name, email, client_id) if part))


def search_terms(query: str) -> list[str]:
    """The query's terms, folded, without repeats (a term inside another is dropped: the
    longer one already requires it)."""
    terms = sorted(set(fold(query).split()), key=len, reverse=True)
    kept: list[str] = []
    for term in terms:
        if not any(term in longer for longer in kept):
            kept.append(term)
    return kept
