"""What remains of an erased client: keyed hashes of their normalised identifiers.

An identifier is normalised so that the same person written another way by another export
hashes the same: a business id and an email case folded and trimmed, a phone reduced to its
digits (with a leading +), a name folded (keepwarm.domain.search.fold) and joined to the
birthday (a name alone is too common to be an identifier). Each is hashed with HMAC-SHA256
keyed by the database's "erasure" secret, with its kind in the message, so the digest says
nothing without the secret and one kind never matches another."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable

from keepwarm.domain.search import fold

KINDS = ("id", "email", "phone", "name_birthday")


def normalised_id(value: str | None) -> str | None:
    text = " ".join((value or "").split()).casefold()
    return text or None


def normalised_email(value: str | None) -> str | None:
    text = (value or "").strip().casefold()
    return text if "@" in text else None


def normalised_phone(value: str | None) -> str | None:
    text = (value or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 5:
        return None
    return ("+" if text.startswith("+") else "") + digits


def normalised_name_birthday(name: str | None, birthday: dt.date | str | None) -> str | None:
    folded = fold(name or "")
    if not folded or not birthday:
        return None
    day = birthday.isoformat() if isinstance(birthday, dt.date) else str(birthday)[:10]
    return f"{folded}|{day}"


def identifiers(
    *,
    ids: Iterable[str | None] = (),
    email: str | None = None,
    phone: str | None = None,
    name: str | None = None,
    birthday: dt.date | str | None = None,
) -> list[tuple[str, str]]:
    """(kind, normalised value) for each identifier a client has, without repeats."""
    found: list[tuple[str, str]] = [
        ("id", v) for v in (normalised_id(i) for i in ids) if v is not None
    ]
    for kind, value in (
        ("email", normalised_email(email)),
        ("phone", normalised_phone(phone)),
        ("name_birthday", normalised_name_birthday(name, birthday)),
    ):
        if value is not None:
            found.append((kind, value))
    return list(dict.fromkeys(found))


def digest(secret: str, kind: str, value: str) -> str:
    """HMAC-SHA256 of the normalised `value` of `kind`, keyed by `secret`, in hex."""
    message = f"{kind}\x00{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
