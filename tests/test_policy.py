"""`keepwarm policy`: the defaults until changed, one setting at a time, stored in the database,
and a bad value refused with its key while nothing changes."""

from __future__ import annotations

import json

from keepwarm.domain.policy import Policy


def _shown(cli) -> dict:  # type: ignore[no-untyped-def]
    result = cli("policy", "show", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_new_database_shows_the_default_policy(cli) -> None:  # type: ignore[no-untyped-def]
    assert _shown(cli) == Policy().to_dict()


def test_a_setting_changed_is_stored_and_shown(cli, engine) -> None:  # type: ignore[no-untyped-def]
    result = cli("policy", "set", "weekly_quota", "3")
    assert result.exit_code == 0, result.output
    assert "Set weekly_quota = 3." in result.output
    assert _shown(cli)["weekly_quota"] == 3
    with engine.connect() as conn:
        stored = json.loads(conn.exec_driver_sql("SELECT data FROM policy").scalar())
    assert stored["weekly_quota"] == 3


def test_a_cadence_for_a_tag_can_be_added_and_removed(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("policy", "set", "cadence_days.vip", "14").exit_code == 0
    assert _shown(cli)["cadence_days"]["vip"] == 14
    result = cli("policy", "set", "cadence_days.vip", "null")
    assert result.exit_code == 0
    assert "Removed cadence_days.vip." in result.output
    assert "vip" not in _shown(cli)["cadence_days"]


def test_a_bad_value_is_refused_with_its_key_and_changes_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    before = _shown(cli)
    for key, value in [("weekly_quota", "lots"), ("nonsense", "1"), ("time_zone", "Mars/Base")]:
        result = cli("policy", "set", key, value)
        assert result.exit_code == 1
        assert key in result.output
    assert _shown(cli) == before


def test_the_text_view_lists_every_setting_by_its_dotted_key(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("policy", "show")
    assert result.exit_code == 0
    assert "weekly_quota = 2" in result.output
    assert "cadence_days.prospect = 90" in result.output
