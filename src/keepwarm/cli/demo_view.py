"""`keepwarm demo`: build the sample practice and show what it holds."""

from __future__ import annotations


def run_demo(db: str, seed: int) -> None:
    raise NotImplementedError
