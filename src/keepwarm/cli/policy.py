"""`keepwarm policy`: see and change the business's settings for signals and plans."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from keepwarm.cli.common import DbOption, console, engine_for, now, user_errors
from keepwarm.domain.policy_keys import POLICY_KEYS
from keepwarm.services import policy as service

policy_app = typer.Typer(
    help="Cadences, quotas, lead times, recall and follow-up rules, occasions.\n\n"
    "Example: keepwarm policy set weekly_quota 3",
    no_args_is_help=True,
)


@policy_app.command("show")
def show(
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    db: DbOption = None,
) -> None:
    """Show the policy in force (keepwarm's defaults until you change them).

    Example: keepwarm policy show --format json
    """
    if output not in ("text", "json"):
        raise typer.BadParameter("choose text or json", param_hint="--format")
    with user_errors(), engine_for(db) as (_, engine):
        data = service.get_policy(engine).to_dict()
    if output == "json":
        console.print_json(json.dumps(data))
        return
    for line in _lines(data):
        console.print(line, markup=False)


def _lines(data: dict[str, Any], prefix: str = "") -> list[str]:
    lines = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            lines.extend(_lines(value, f"{prefix}{key}."))
        else:
            lines.append(f"{prefix}{key} = {json.dumps(value, ensure_ascii=False)}")
    return lines


def _keys_help() -> str:
    """The keys `policy set` takes, from the policy's register."""
    lines = []
    for key in POLICY_KEYS.values():
        default = json.dumps(key.default, ensure_ascii=False)
        what = f"{key.expected}; " if key.numeric else ""
        lines.append(f"- `{key.name}`: {key.help} ({what}default `{default}`)")
    return "\n".join(lines)


SET_HELP = (
    "Change one setting; a value keepwarm cannot use is refused and nothing changes.\n\n"
    "Example: keepwarm policy set cadence_days.key 30\n\n"
    "A number or text is typed as it is; a list or a map as JSON "
    """('["house purchase"]'); a key inside a map is dotted (cadence_days.vip, """
    "templates.birthday.letter), and null removes it. The keys:\n\n" + _keys_help()
)


@policy_app.command(  # a negative number is a value to refuse by name, not an option
    "set", help=SET_HELP, context_settings={"ignore_unknown_options": True}
)
def set_value(
    key: Annotated[str, typer.Argument(help="The setting, dotted for groups: cadence_days.key")],
    value: Annotated[str, typer.Argument(help="The new value (a number, text, or JSON).")],
    db: DbOption = None,
) -> None:
    with user_errors(), engine_for(db) as (_, engine):
        service.set_policy_value(engine, key, value, now=now())
    removed = "." in key and service.parse_value(key, value) is None
    console.print(f"Removed {key}." if removed else f"Set {key} = {value}.", markup=False)
