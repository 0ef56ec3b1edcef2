"""The register of policy keys, derived from the `Policy` model: what the Settings page's form,
`keepwarm policy set` and the docs table need to know of each key (label, help, unit, section,
bounds, choices, the columns of a table). Nothing here is declared twice: a key added to
`Policy` appears in the form, the command's help and the docs table."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, get_origin

from pydantic.fields import FieldInfo

from keepwarm.domain.annotations import bounds, child, expected, record_fields, split
from keepwarm.domain.policy import Policy, Shown, at

SCALARS = {int: "whole", float: "number", str: "text"}


@dataclass(frozen=True)
class Column:
    """One column of a table on the form: a map's key ("key"), its value ("value"), or a field
    of a record (a follow-up rule, an occasion)."""

    name: str
    label: str
    kind: str  # "text", "whole" or "number"
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class PolicyKey:
    """One key of the policy as people meet it.

    `kind` is "text", "whole" (number), "number" (a fraction), "lines" (a list of text),
    "table" (a map or list of rows: `columns`, keyed by the first when `keyed`) or "nested"
    (the templates, edited on their own page). `section` is the form's section ("" for none).
    """

    name: str
    label: str
    help: str
    default: Any
    kind: str
    expected: str
    unit: str
    section: str
    minimum: float | None
    maximum: float | None
    choices: Callable[[], Collection[str]] | None
    columns: tuple[Column, ...]
    keyed: bool

    @property
    def scalar(self) -> bool:
        """One number or text (not a list, a map or a table)."""
        return self.kind in SCALARS.values()

    @property
    def numeric(self) -> bool:
        return self.kind in ("whole", "number")

    def suggestions(self) -> list[str]:
        """The values to suggest as someone types (none when any value of the type goes)."""
        return sorted(self.choices()) if self.choices else []


def kind(annotation: Any) -> str:
    """How a value of `annotation` is typed in: "whole", "number", "text", "lines", "table",
    "nested"."""
    base, _ = split(annotation)
    if base in SCALARS:
        return SCALARS[base]
    inner = split(child(annotation, 0))[0]  # a list's items, a map's values
    if get_origin(base) is tuple:
        return "lines" if inner is str else "table"
    return "table" if inner in SCALARS or record_fields(inner) else "nested"


def scalar_at(path: Sequence[str | int]) -> bool:
    """Whether the value at `path` of a policy document is one number or text (not a list or
    a map); False for a path the policy does not have."""
    annotation = at(path)
    return annotation is not None and split(annotation)[0] in SCALARS


def _column(name: str, label: str, annotation: Any) -> Column:
    low, high = bounds(annotation)
    return Column(name, label, SCALARS[split(annotation)[0]], low, high)


def _columns(annotation: Any, shown: Shown) -> tuple[tuple[Column, ...], bool]:
    keyed = get_origin(split(annotation)[0]) is not tuple
    values = child(annotation, 0)
    fields = record_fields(split(values)[0])
    if fields is None:
        columns = [_column("value", shown.value, values)]
    else:
        columns = [_column(n, _info(a).title or n, a) for n, a in fields.items()]
    if keyed:
        columns.insert(0, Column("key", shown.key, "text"))
    return tuple(columns), keyed


def _info(annotation: Any) -> FieldInfo:
    return next(m for m in split(annotation)[1] if isinstance(m, FieldInfo))


def _key(name: str, annotation: Any, default: Any) -> PolicyKey:
    info = _info(annotation)
    shown = next((m for m in split(annotation)[1] if isinstance(m, Shown)), Shown())
    how = kind(annotation)
    columns, keyed = _columns(annotation, shown) if how == "table" else ((), False)
    low, high = bounds(annotation)
    return PolicyKey(
        name=name,
        label=info.title or name,
        help=info.description or "",
        default=default,
        kind=how,
        expected=expected(annotation),
        unit=shown.unit,
        section=shown.section,
        minimum=low,
        maximum=high,
        choices=shown.choices,
        columns=columns,
        keyed=keyed,
    )


def _register() -> dict[str, PolicyKey]:
    defaults = Policy().to_dict()
    fields = record_fields(Policy) or {}
    return {name: _key(name, annotation, defaults[name]) for name, annotation in fields.items()}


POLICY_KEYS: dict[str, PolicyKey] = _register()
"""Every policy key, in the model's order."""


def sections() -> list[tuple[str, list[PolicyKey]]]:
    """The form's sections in order, each with its keys (keys edited elsewhere left out)."""
    out: dict[str, list[PolicyKey]] = {}
    for key in POLICY_KEYS.values():
        if key.section:
            out.setdefault(key.section, []).append(key)
    return list(out.items())
