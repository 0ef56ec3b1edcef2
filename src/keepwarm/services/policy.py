"""The business's policy: read it (defaults until changed) and change one setting at a time.

A change is validated by building the whole Policy from the edited document (the model reads
what was typed), so a bad value is refused with the key it belongs to and nothing is saved.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, Engine

from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.policy import RENAMED, Policy
from keepwarm.domain.policy_keys import scalar_at
from keepwarm.messaging.drafts import check_templates
from keepwarm.services import audit
from keepwarm.store import reading, writing
from keepwarm.store.policy import load_policy_data, save_policy_data
from keepwarm.store.queries import list_staff, policy_in, record_quota_change


def _save(conn: Connection, policy: Policy, now: dt.datetime, actor: str) -> None:
    """Save the policy (audited: which settings changed, old and new values of the simple
    ones); when its default weekly quota changes, every member who follows the default gets
    the new quota from today on (earlier weeks keep the old one)."""
    before = policy_in(conn)
    save_policy_data(conn, policy.to_dict(), now)
    old, new = before.to_dict(), policy.to_dict()
    changed: dict[str, Any] = {}
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            simple = not isinstance(old.get(key), dict | list) and not isinstance(
                new.get(key), dict | list
            )
            changed[key] = {"old": old.get(key), "new": new.get(key)} if simple else "changed"
    if changed:
        audit.record(
            conn, actor=actor, action="settings", now=now, subject="policy", details=changed
        )
    if before.weekly_quota != policy.weekly_quota:
        today = policy.local_date(now)
        for member in list_staff(conn):
            if member.weekly_quota is None:
                record_quota_change(conn, member, before.weekly_quota, policy.weekly_quota, today)


def get_policy(engine: Engine) -> Policy:
    with reading(engine) as conn:
        data = load_policy_data(conn)
    return Policy() if data is None else Policy.from_dict(data)


def parse_value(key: str, raw: str) -> Any:
    """A value typed at the command line for `key`: the text itself for a key that holds one
    number or text (the model reads it: "30", "Europe/London"); JSON for a list or a map
    ('["house purchase"]', '{"vip": 14}'), else the text, for the model to refuse by name.
    `null` for a key inside a group (cadence_days.vip) is None: remove it."""
    path = key.strip().split(".")
    if len(path) > 1 and raw.strip() == "null":
        return None
    if scalar_at(path):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def edited(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of `data` with `key` (dotted for nested settings, e.g. cadence_days.key) set to
    `value`; a nested key set to None is removed."""
    out = copy.deepcopy(data)
    *path, last = key.split(".")
    node = out
    for part in path:
        if part not in node and value is not None:
            node[part] = {}  # a new group (e.g. templates.birthday); the model checks its name
        if not isinstance(node.get(part), dict):
            raise InvalidInput(f"{key}: {part!r} is not a group of settings")
        node = node[part]
    if path and value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return out


def set_policy_value(
    engine: Engine, key: str, raw: str, *, now: dt.datetime, actor: str = "command line"
) -> Policy:
    """Change one setting and save the policy; returns the policy now in force."""
    top = key.strip().split(".")[0]
    if top in RENAMED:
        raise InvalidInput(f"policy: {top} is now called {RENAMED[top]}")
    with writing(engine) as conn:
        data = Policy.from_dict(load_policy_data(conn) or {}).to_dict()
        policy = Policy.from_text(edited(data, key.strip(), parse_value(key, raw)))
        check_templates(policy.template_sources())
        _save(conn, policy, now, actor)
    return policy


def save_policy(
    engine: Engine, data: dict[str, Any], *, now: dt.datetime, actor: str = "command line"
) -> Policy:
    """Validate a whole edited policy document and save it, in one transaction: a bad value
    raises InvalidInput naming its key and nothing is saved. Returns the policy now in force."""
    policy = Policy.from_dict(data)
    check_templates(policy.template_sources())
    with writing(engine) as conn:
        _save(conn, policy, now, actor)
    return policy


def update_policy(
    engine: Engine, changes: dict[str, Any], *, now: dt.datetime, actor: str = "command line"
) -> Policy:
    """Replace the top-level settings in `changes` (whole values: a map given here is the new
    map; values may be text as typed in a form, read by the model) in the stored policy,
    validated as a whole, in one transaction; settings not named in `changes` (e.g. the
    templates) keep their stored values. A bad value raises PolicyError naming its key."""
    with writing(engine) as conn:
        data = Policy.from_dict(load_policy_data(conn) or {}).to_dict()
        data.update(changes)
        policy = Policy.from_text(data)
        check_templates(policy.template_sources())
        _save(conn, policy, now, actor)
    return policy


def set_template(
    engine: Engine,
    code: str,
    form: str,
    text: str | None,
    *,
    now: dt.datetime,
    actor: str = "command line",
) -> Policy:
    """Save the owner's own template for a signal code and form ("letter" or "call"), or with
    `text` None remove it (back to the default). A template that cannot render is refused with
    InvalidInput and nothing changes."""
    if text is not None and not text.strip():
        raise InvalidInput(f"templates.{code}.{form}: the template is empty (use the default)")
    with writing(engine) as conn:
        data = load_policy_data(conn) or Policy().to_dict()
        own = data.get("templates", {}).get(code)
        if text is None and not (isinstance(own, dict) and form in own):
            return Policy.from_dict(data)  # already the default
        data = edited(data, f"templates.{code}.{form}", text)
        if not data["templates"][code]:
            del data["templates"][code]
        policy = Policy.from_dict(data)
        check_templates(policy.template_sources())
        _save(conn, policy, now, actor)
    return policy
