"""Settings are parsed strictly: a bad value is an error naming the variable."""

from __future__ import annotations

import pytest

from keepwarm.config import SETTINGS, Settings, load_settings
from keepwarm.domain.errors import ConfigError
from keepwarm.ingest.source import Limits


def test_no_environment_means_a_sqlite_file_here() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.database_url == "sqlite:///keepwarm.db"


def test_the_register_and_the_settings_type_agree() -> None:
    defaults = Settings()
    for setting in SETTINGS:
        assert getattr(defaults, setting.field) == setting.default
        assert setting.help


def test_the_import_limits_default_to_the_settings() -> None:
    defaults = Settings()
    limits = Limits()
    assert (limits.max_bytes, limits.max_rows, limits.max_field) == (
        defaults.import_max_bytes,
        defaults.import_max_rows,
        defaults.import_max_field,
    )


def test_a_plain_postgresql_url_uses_psycopg() -> None:
    settings = load_settings({"KEEPWARM_DATABASE_URL": "postgresql://db.local/keepwarm"})
    assert settings.database_url == "postgresql+psycopg://db.local/keepwarm"


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("KEEPWARM_IMPORT_MAX_ROWS", "lots", "whole number"),
        ("KEEPWARM_IMPORT_MAX_BYTES", "-5", "positive"),
        ("KEEPWARM_REGION", "USA", "two-letter"),
        ("KEEPWARM_DATABASE_URL", "keepwarm.db", "URL"),
    ],
)
def test_a_bad_value_is_an_error_that_names_the_variable(
    variable: str, value: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value})
    assert str(caught.value).startswith(variable + ":")
    assert fragment in str(caught.value)


def test_values_are_read_and_normalised() -> None:
    settings = load_settings({"KEEPWARM_REGION": "gb", "KEEPWARM_IMPORT_MAX_ROWS": "1_000"})
    assert settings.region == "GB"
    assert settings.import_max_rows == 1000


@pytest.mark.parametrize(
    "value",
    ["http://keepwarm.example.com", "http://10.0.0.5:8000", "http://127.0.0.1.example.com"],
)
def test_a_plain_http_base_url_is_refused_unless_it_is_this_machine(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"KEEPWARM_BASE_URL": value})
    assert str(caught.value).startswith("KEEPWARM_BASE_URL:")
    assert "https://" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "https://keepwarm.example.com/",
        "http://localhost:8000",
        "http://127.0.0.1:8000",
        "http://[::1]:8000",
        "http://app.localhost",
    ],
)
def test_an_https_or_loopback_base_url_is_accepted(value: str) -> None:
    assert load_settings({"KEEPWARM_BASE_URL": value}).base_url == value.rstrip("/")
