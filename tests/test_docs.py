"""The docs match the code: the quick start, CI, every setting, every command."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from keepwarm.cli import app
from keepwarm.config import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_the_quick_start_has_one_command_to_run_the_demo_and_one_to_run_the_tests() -> None:
    commands = _quick_start_commands()
    assert any("keepwarm demo" in c and "pip install" in c for c in commands)
    assert any("pytest" in c and ".[test]" in c for c in commands)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = next(c for c in _quick_start_commands() if "pytest" in c)
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def test_every_setting_is_documented_with_its_default() -> None:
    for setting in SETTINGS:
        row = next(
            (line for line in README.splitlines() if line.startswith(f"| `{setting.env}`")), None
        )
        assert row is not None, f"{setting.env} is not in the README"
        assert f"`{setting.default}`" in row, f"{setting.env}: default not documented"


def _leaf_commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    command = typer.main.get_command(group)
    out: list[tuple[str, ...]] = []

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        subcommands = getattr(cmd, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        else:
            out.append(path)

    walk(command, prefix)
    return out


def test_every_command_named_in_the_readme_exists() -> None:
    known = {" ".join(path) for path in _leaf_commands(app)}
    mentioned = re.findall(r"(?:bin/|`)keepwarm ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", README)
    assert len(mentioned) > 10
    for first, second in mentioned:
        group = [k.split() for k in known if k.split()[0] == first]
        assert group, f"README mentions unknown command {first!r}"
        if any(len(parts) > 1 for parts in group):
            assert [first, second] in group, f"README mentions unknown {first} {second}"
