"""The `keepwarm` command: a thin shell over keepwarm.services."""

from keepwarm.cli.app import app, main

__all__ = ["app", "main"]
