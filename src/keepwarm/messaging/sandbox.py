"""The sandbox the owner's templates render in: no way out, and bounded work and size.

Jinja2's `SandboxedEnvironment` keeps a template away from Python's internals; on top of it a
draft may not grow past `MAX_CHARS` (text multiplied, or output written), loop more than
`MAX_STEPS` times over `range`, nor run longer than `MAX_SECONDS`. A template that would is
refused with a `SecurityError`, when it is saved (tried on a sample client) and whenever a
draft is written from it. Drafts are a few hundred characters: the limits leave a wide margin.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

MAX_CHARS = 20_000
MAX_STEPS = 10_000
MAX_SECONDS = 1.0


class _Budget:
    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def spend(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise SecurityError(f"the template loops more than {MAX_STEPS:,} times")
        if time.monotonic() > self.deadline:
            raise SecurityError(f"the template takes longer than {MAX_SECONDS:g} s")


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("budget", default=None)


def _charge(steps: int = 1) -> None:
    budget = _budget.get()
    if budget is not None:
        budget.spend(steps)


def _bounded_range(*args: int) -> Iterator[int]:
    for value in range(*args):
        _charge()
        yield value


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


class LimitedSandbox(SandboxedEnvironment):
    """A sandbox whose `range` counts against the render's budget and whose `*` and `**` may
    not build huge values."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, keep_trailing_newline=False)
        self.globals["range"] = _bounded_range

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            size = _sized(left) if isinstance(right, int) else _sized(right)
            times = right if isinstance(right, int) else left
            if size is not None and isinstance(times, int) and size * times > MAX_CHARS:
                raise SecurityError(f"the template builds a value over {MAX_CHARS:,} long")
        if operator == "**" and isinstance(right, int | float) and abs(right) > 100:
            raise SecurityError("the template raises to a power over 100")
        return super().call_binop(context, operator, left, right)


def render_limited(template: Template, values: dict[str, object]) -> str:
    """Render within the limits: at most `MAX_CHARS` of output, `MAX_STEPS` loop steps over
    `range` and `MAX_SECONDS`; SecurityError beyond any of them."""
    token = _budget.set(_Budget())
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate(values):
            size += len(chunk)
            if size > MAX_CHARS:
                raise SecurityError(f"the draft would be over {MAX_CHARS:,} characters long")
            _charge(0)
            out.append(chunk)
        return "".join(out)
    finally:
        _budget.reset(token)
