"""Reading the types of pydantic models and dataclasses declared with `Annotated` metadata:
what a value at a path must be, in words, and its bounds. The policy's error messages and its
register (keepwarm.domain.policy, keepwarm.domain.policy_keys) are derived with these."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, get_args, get_origin

from pydantic.fields import FieldInfo


def dotted(path: Sequence[str | int]) -> str:
    """("occasions", 0, "month") -> "occasions[0].month"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def split(annotation: Any) -> tuple[Any, list[Any]]:
    """(the type, its metadata) of a possibly Annotated type; metadata flattened, with a
    pydantic Field's own constraints (ge, le) listed beside it."""
    metadata: list[Any] = []
    while get_origin(annotation) is Annotated:
        annotation, *more = get_args(annotation)
        metadata.extend(more)
    for item in list(metadata):
        if isinstance(item, FieldInfo):
            metadata.extend(item.metadata)
    return annotation, metadata


@functools.cache
def record_fields(cls: Any) -> dict[str, Any] | None:
    """A policy record's (Policy, FollowUpRule, Occasion) fields as name -> annotation, or None
    for anything else."""
    fields: dict[str, FieldInfo] | None = getattr(cls, "__pydantic_fields__", None)
    if fields is None:
        return None
    return {name: Annotated[f.annotation, f] for name, f in fields.items()}


def fields_of(annotation: Any) -> list[str]:
    return list(record_fields(split(annotation)[0]) or {})


def child(annotation: Any, part: str | int) -> Any:
    """The annotation of the value under `part` of a value of `annotation` (None when there is
    none): in a record, the field it names; in a map or a list, the values'."""
    base, _ = split(annotation)
    fields = record_fields(base)
    if fields is not None:
        return fields.get(str(part))
    if get_origin(base) in (Mapping, dict):
        return get_args(base)[1]
    if get_origin(base) is tuple:
        return get_args(base)[0]
    return None


def bounds(annotation: Any) -> tuple[float | None, float | None]:
    """The (ge, le) bounds of a number, None where open."""
    low = high = None
    for item in split(annotation)[1]:
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    return low, high


def expected(annotation: Any) -> str:
    """What a value at `annotation` must be, in words: "a whole number >= 1", "text"."""
    base, _ = split(annotation)
    if base is int or base is float:
        low, high = bounds(annotation)
        what = "a whole number" if base is int else "a number"
        if low is not None and high is not None:
            return f"{what} from {low} to {high}"
        return f"{what} >= {low}" if low is not None else what
    if base is str:
        return "text"
    if get_origin(base) is tuple:
        return "a list"
    return "an object with text keys"
