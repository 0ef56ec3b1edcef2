"""The policy's one register: every key of the model is on the Settings page's form, in
`keepwarm policy set` and its help, and a bad value is refused the same way everywhere, with
its key and what it expects."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
import sqlalchemy as sa
from markupsafe import escape

from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.policy import Policy, PolicyError
from keepwarm.domain.policy_keys import POLICY_KEYS, PolicyKey, sections
from keepwarm.services.policy import get_policy


def _refusal(key: str, text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        Policy.from_text({key: text})
    return str(caught.value)


def _form(html: str) -> dict[str, str]:
    """The policy form's fields as the page shows them (a browser submitting it unchanged)."""
    form = html[html.find('action="/settings/policy"') :]
    fields = dict(
        re.findall(r'<input id="[^"]*" name="([^"]+)" type="[a-z]+"[^>]*value="([^"]*)"', form)
    )
    fields |= dict(re.findall(r'name="([^"]+)" rows="\d+">([^<]*)</textarea>', form))
    return fields


def _another(key: PolicyKey) -> tuple[str, Any]:
    """A value `key` accepts other than its default: (as typed, as the policy shows it)."""
    if key.kind == "whole":
        value = key.default + 1 if key.maximum is None or key.default < key.maximum else 1
        return str(value), value
    if key.kind == "number":
        value = (key.minimum + key.maximum) / 2 if key.maximum else key.default * 2
        return str(value), value
    if key.kind == "text":
        value = next(c for c in key.suggestions() if c != key.default) if key.choices else "x"
        return value, value
    if key.kind == "lines":
        return '["x"]', ["x"]
    if key.kind == "table":
        record = {c.name: c.minimum or 1 if c.kind != "text" else "x" for c in key.columns}
        key_name = record.pop("key", None)
        row = record["value"] if list(record) == ["value"] else record
        value = {key_name: row} if key.keyed else [row]
        return json.dumps(value), value
    value = {"birthday": {}}  # the templates: each is checked by rendering (tests/test_drafts.py)
    return json.dumps(value), value


def test_the_register_has_every_key_of_the_model_in_its_order() -> None:
    assert list(POLICY_KEYS) == [f.name for f in dataclasses.fields(Policy)]
    for key in POLICY_KEYS.values():
        assert key.label and key.help, key.name
        assert Policy.from_dict({key.name: key.default}) == Policy()


def test_a_key_is_read_from_text_by_its_type_in_the_model() -> None:
    typed = {name: _another(key)[0] for name, key in POLICY_KEYS.items() if key.scalar}
    policy = Policy.from_text(typed)
    for name, key in POLICY_KEYS.items():
        if key.scalar:
            assert getattr(policy, name) == _another(key)[1], name
    assert Policy.from_text({"currency_symbol": "12"}).currency_symbol == "12"  # text stays text
    with pytest.raises(
        InvalidInput, match="weekly_quota must be a whole number from 0 to 100000, got '2'"
    ):
        Policy.from_dict({"weekly_quota": "2"})  # a stored document is strict


BAD = [
    ("weekly_quota", "-3", "weekly_quota must be a whole number from 0 to 100000, got -3"),
    (
        "daily_capacity",
        "lots",
        "daily_capacity must be a whole number from 0 to 100000, got 'lots'",
    ),
    ("trend_min_change", "9", "trend_min_change must be a number from 0.05 to 5.0, got 9"),
    ("default_cadence_days", "0", "default_cadence_days must be a whole number from 1 to 100000"),
    ("lapsing_max_days", "9999999999", "lapsing_max_days must be a whole number from 0 to 100000"),
    ("time_zone", "Mars/Base", "time_zone: 'Mars/Base' is not a known zone"),
    ("country", "XX", "country: 'XX' is not a country keepwarm knows the holidays of"),
]


def test_a_bad_value_is_refused_the_same_way_by_the_form_and_the_command(
    web, cli, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    form = _form(owner.get("/settings/policy").text)
    for key, text, words in BAD:
        said = _refusal(key, text)
        assert said.startswith(f"policy: {words}"), said
        by_command = cli("policy", "set", key, text)
        assert by_command.exit_code == 1, by_command.output
        assert said in by_command.output
        by_form = owner.post("/settings/policy", form | {key: text})
        assert by_form.status_code == 400
        shown = re.search(rf'<span class="field-error" id="err-{key}">([^<]*)</span>', by_form.text)
        # next to the field, by its label (not the internal name), with the command's reason
        reason = said.removeprefix(f"policy: {key}").lstrip(": ")
        label = next(k.label for _, keys in sections() for k in keys if k.name == key)
        assert shown and shown.group(1) == escape(f"{label}: {reason}"), by_form.text
        assert f'id="{key}" name="{key}"' in by_form.text and 'aria-invalid="true"' in by_form.text
        assert "Nothing was saved" in by_form.text
        assert get_policy(engine) == Policy()


def test_every_key_is_on_the_form_and_in_policy_set_and_its_help(
    web, cli, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    page = owner.get("/settings/policy").text
    on_form = [key for _, keys in sections() for key in keys]
    assert {k.name for k in on_form} == {k.name for k in POLICY_KEYS.values() if k.section}
    for key in on_form:
        assert f">{escape(key.label)}" in page and escape(key.help) in page, key.name
        names = [f"{key.name}_{c.name}_0" for c in key.columns] or [key.name]
        for name in names:
            assert f'name="{name}"' in page, name
        if key.minimum is not None and key.numeric:
            assert re.search(rf'name="{key.name}" type="number"[^>]* min="{key.minimum}"', page)

    # The whole form changed at once: every value on it is read and saved.
    changed = {k.name: _another(k) for k in on_form if k.kind != "table"}
    typed = {name: "x" if v == ["x"] else text for name, (text, v) in changed.items()}
    saved = owner.post("/settings/policy", _form(page) | typed)
    assert saved.status_code == 303, saved.text
    stored = get_policy(engine).to_dict()
    assert {name: stored[name] for name in changed} == {n: v for n, (_, v) in changed.items()}

    help_text = cli("policy", "set", "--help").output
    for key in POLICY_KEYS.values():
        assert f"{key.name}:" in help_text, key.name
        result = cli("policy", "set", key.name, _another(key)[0])
        assert result.exit_code == 0, (key.name, result.output)
    shown = json.loads(cli("policy", "show", "--format", "json").output)
    assert shown == {name: _another(key)[1] for name, key in POLICY_KEYS.items()}


def test_an_unknown_key_is_refused_with_the_keys_there_are(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("policy", "set", "weekly_qouta", "3")
    assert result.exit_code == 1
    assert "unknown key 'weekly_qouta' (did you mean weekly_quota?)" in result.output
    result = cli("policy", "set", "nonsense", "1")
    assert result.exit_code == 1
    assert ", ".join(POLICY_KEYS) in result.output


def test_a_value_is_read_by_the_type_of_its_key(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("policy", "set", "currency_symbol", "12").exit_code == 0  # text stays text
    assert cli("policy", "set", "cadence_days.vip", "14").exit_code == 0  # a number in a map
    assert cli("policy", "set", "key_purchases", '["house purchase"]').exit_code == 0  # JSON
    shown = json.loads(cli("policy", "show", "--format", "json").output)
    assert shown["currency_symbol"] == "12"
    assert shown["cadence_days"]["vip"] == 14
    assert shown["key_purchases"] == ["house purchase"]
    refused = cli("policy", "set", "key_purchases", "house purchase")
    assert refused.exit_code == 1
    assert "key_purchases must be a list, got 'house purchase'" in refused.output
