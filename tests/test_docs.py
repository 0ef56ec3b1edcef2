"""The docs match the code: the quick start, CI, every setting, every policy key, every command.

The README's tables of settings and of policy keys are generated from their registers
(keepwarm.config.SETTINGS, keepwarm.domain.policy_keys.POLICY_KEYS); the tests below fail when
they drift. `KEEPWARM_UPDATE_DOCS=1 .venv/bin/pytest tests/test_docs.py` rewrites them."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import typer.main

from keepwarm.cli import app
from keepwarm.config import SETTINGS
from keepwarm.domain.policy_keys import POLICY_KEYS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
UPDATE_DOCS = os.environ.get("KEEPWARM_UPDATE_DOCS", "") == "1"


def _default(value: object) -> str:
    return "not set" if value is None else f"`{value}`"


def settings_table() -> list[str]:
    """The README's table of environment variables, from the settings' register."""
    return [
        "| Variable | Default | Meaning |",
        "| --- | --- | --- |",
        *(f"| `{s.env}` | {_default(s.default)} | {s.help} |" for s in SETTINGS),
    ]


def policy_table() -> list[str]:
    """The README's table of policy keys, from the policy's register."""
    rows = ["| Key | Default | Meaning |", "| --- | --- | --- |"]
    for key in POLICY_KEYS.values():
        default = json.dumps(key.default, ensure_ascii=False)
        what = f" ({key.expected})" if key.numeric else ""
        rows.append(f"| `{key.name}` | `{default}` | {key.help}{what} |")
    return rows


def _table_lines(text: str, header: str) -> tuple[int, int]:
    """(first, end) line numbers of the table that starts with `header` in `text`."""
    lines = text.splitlines()
    start = lines.index(header)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


@pytest.mark.parametrize("table", [settings_table, policy_table], ids=["settings", "policy"])
def test_the_readme_tables_are_the_registers(table) -> None:  # type: ignore[no-untyped-def]
    expected = table()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert expected[0] in text.splitlines(), f"the README has no table headed {expected[0]!r}"
    start, end = _table_lines(text, expected[0])
    lines = text.splitlines()
    if UPDATE_DOCS and lines[start:end] != expected:
        lines[start:end] = expected
        (ROOT / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return
    assert lines[start:end] == expected, (
        "the README's table differs from the register; "
        "KEEPWARM_UPDATE_DOCS=1 .venv/bin/pytest tests/test_docs.py rewrites it"
    )


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
        assert f"| {_default(setting.default)} |" in row, f"{setting.env}: default not documented"


def test_every_policy_key_is_documented_with_its_default_and_help() -> None:
    section = README.split("## Your practice's policy", 1)[1].split("\n## ", 1)[0]
    for key in POLICY_KEYS.values():
        row = next(
            (line for line in section.splitlines() if line.startswith(f"| `{key.name}`")), None
        )
        assert row is not None, f"policy key {key.name} is not in the README"
        assert f"`{json.dumps(key.default, ensure_ascii=False)}`" in row, key.name
        assert key.help and key.help in row, key.name


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


def _readme_command_lines() -> list[str]:
    """Every `keepwarm ...` line of the README's bash blocks, as typed (prompt paths such as
    `.venv/bin/` or `~/keepwarm-env/bin/` taken off, comments and redirections cut)."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            found = re.match(r"\s*(?:[~./\w-]*/bin/)?(keepwarm .*)", line)
            if found:
                text = re.split(r"\s+#\s", found.group(1))[0]
                lines.append(re.split(r"\s[>|]\s", text)[0].strip())
    return lines


def _parse(args: list[str]) -> tuple[str, ...]:
    """Parse `args` as `keepwarm` would, without running anything: an unknown command, option
    or a missing argument raises a usage error. Returns the command's path."""
    command = typer.main.get_command(app)
    path: tuple[str, ...] = ()
    while hasattr(command, "resolve_command"):  # a group: find the subcommand
        ctx = command.make_context("keepwarm", list(args))
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        name, sub, args = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        command, path = sub, (*path, name)
    command.make_context(" ".join(path), list(args))
    return path


def test_every_command_line_in_the_readme_is_a_valid_keepwarm_command() -> None:
    import shlex

    lines = _readme_command_lines()
    assert len(lines) > 20
    for line in lines:
        _parse(shlex.split(line)[1:])


def test_running_it_for_a_practice_works_from_any_folder_after_install() -> None:
    section = README.split("## Run it for your practice", 1)[1].split("\n## ", 1)[0]
    assert ".venv/" not in section  # a path that exists only inside the repository
    assert "pip install" in section and "activate" in section
    commands = [line for line in _readme_command_lines() if line in section]
    assert {"keepwarm init", "keepwarm serve"} <= set(commands)
