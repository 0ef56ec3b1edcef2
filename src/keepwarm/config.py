"""Settings: one register, parsed strictly from the environment, passed down explicitly.

Nothing here runs at import time; `load_settings(os.environ)` is called by the CLI (and later the
web app) and the resulting frozen `Settings` travels down to the services.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from typing import Any, TypeVar
from urllib.parse import urlsplit

from keepwarm.domain.errors import ConfigError

log = logging.getLogger(__name__)

RETIRED: Mapping[str, str] = {
    "KEEPWARM_CURRENCY_SYMBOL": "money is written with the policy's currency symbol, one for "
    "every page and list: set it on the Settings page or with "
    "`keepwarm policy set currency_symbol €`",
}
"""Variables keepwarm once read and no longer does, with what to do instead."""

T = TypeVar("T")


@dataclass(frozen=True)
class Setting:
    """One documented setting: its environment variable, default, parser and meaning."""

    field: str
    env: str
    default: Any
    parse: Callable[[str], Any]
    help: str


def _url(raw: str) -> str:
    raw = raw.strip()
    if not raw:
        raise ValueError("must not be empty")
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    if "://" not in raw:
        raise ValueError("expected a URL such as sqlite:///keepwarm.db or postgresql://host/db")
    return raw


def _positive_int(raw: str) -> int:
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        raise ValueError(f"expected a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"must be positive, got {value}")
    return value


def _region(raw: str) -> str:
    value = raw.strip().upper()
    if len(value) != 2 or not value.isalpha():
        raise ValueError(f"expected a two-letter country code such as US or GB, got {raw!r}")
    return value


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"expected DEBUG, INFO, WARNING or ERROR, got {raw!r}")
    return value


def _log_format(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("text", "json"):
        raise ValueError(f"expected text or json, got {raw!r}")
    return value


def _scheme_url(schemes: tuple[str, ...], example: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(f"expected a URL such as {example}, got {_redacted(value)!r}")
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError(f"the port of {_redacted(value)!r} is not a number") from None
        return value

    return parse


def _redacted(url: str) -> str:
    """`url` without its password, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def _mail_from(raw: str) -> str:
    name, address = parseaddr(raw.strip())
    if "@" not in address or " " in address:
        raise ValueError(
            f'expected a sender such as "Northside Physio <hello@example.com>", got {raw!r}'
        )
    return formataddr((name, address)) if name else address


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _loopback(host: str) -> bool:
    """A host only this machine reaches: localhost (or a name under it) or 127.x.x.x, ::1."""
    host = host.lower().rstrip(".")
    return (
        host in LOOPBACK_HOSTS
        or host.endswith(".localhost")
        or re.fullmatch(r"127(\.\d{1,3}){3}", host) is not None
    )


def _base_url(raw: str) -> str:
    """The address clients' links point to: HTTPS, as the unsubscribe link must be (RFC 8058);
    plain http:// only for loopback hosts (tests and trying keepwarm on this machine)."""
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"expected the address clients reach, such as https://keepwarm.example.com, got {raw!r}"
        )
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(
            f"must start with https:// (clients' unsubscribe links must be HTTPS), got {raw!r}; "
            "http:// is only for localhost and 127.0.0.1"
        )
    return value


def _setting(default: T, parse: Callable[[str], T], help: str) -> T:
    """A field of Settings: its default, how its variable's text is read, what it means."""
    return dataclasses.field(default=default, metadata={"parse": parse, "help": help})


@dataclass(frozen=True)
class Settings:
    """keepwarm's configuration; build it with `load_settings`. Each field is one setting, read
    from the variable KEEPWARM_<FIELD> (see SETTINGS)."""

    database_url: str = _setting(
        "sqlite:///keepwarm.db",
        _url,
        "Where keepwarm keeps its data. For PostgreSQL: `postgresql://user@host/dbname`.",
    )
    region: str = _setting(
        "US",
        _region,
        "Country used to read phone numbers written without an international prefix.",
    )
    import_max_bytes: int = _setting(
        2 * 1024**3,
        _positive_int,
        "Largest CSV file an import accepts, in bytes (2 GiB).",
    )
    import_max_rows: int = _setting(50_000_000, _positive_int, "Most data rows an import accepts.")
    import_max_field: int = _setting(
        100_000,
        _positive_int,
        "Longest single CSV field an import accepts, in characters.",
    )
    log_level: str = _setting(
        "INFO",
        _log_level,
        "How much the server and the daily job log: `DEBUG`, `INFO`, `WARNING` or `ERROR`. "
        "The CLI logs only with `--verbose`.",
    )
    log_format: str = _setting(
        "text",
        _log_format,
        "How log lines are written: `text`, or `json` for one JSON object per line.",
    )

    smtp_url: str | None = _setting(
        None,
        _scheme_url(("smtp", "smtps"), "smtp://user:password@mail.example.com:587"),
        "The mail server keepwarm sends email through: `smtp://user:password@host:587` "
        "(STARTTLS), `smtps://user:password@host:465` (TLS from the start), or "
        "`smtp://127.0.0.1:2525` for a local server without TLS. Unset: sending email is off.",
    )
    mail_from: str | None = _setting(
        None,
        _mail_from,
        "The practice as sender of every email, e.g. `Northside Physio <hello@example.com>`.",
    )
    base_url: str | None = _setting(
        None,
        _base_url,
        "The address clients' links point to (unsubscribe, feedback), e.g. "
        "`https://keepwarm.example.com`. HTTPS; `http://` only for localhost and 127.0.0.1.",
    )
    imap_url: str | None = _setting(
        None,
        _scheme_url(("imap", "imaps"), "imaps://user:password@mail.example.com:993"),
        "The sending mailbox, where bounces arrive: `imaps://user:password@host:993` "
        "(or `imap://...:143` with STARTTLS). Unset: bounces are not read.",
    )
    sms_url: str | None = _setting(
        None,
        _scheme_url(("http", "https"), "https://user:token@sms.example.com/send"),
        "The SMS gateway texts are posted to (JSON `to`, `body`, `reference`). Unset: texting "
        "is off.",
    )

    @property
    def mail_missing(self) -> tuple[str, ...]:
        """The variables sending email still needs (empty: email can be sent)."""
        needed = {"KEEPWARM_SMTP_URL": self.smtp_url, "KEEPWARM_MAIL_FROM": self.mail_from}
        needed["KEEPWARM_BASE_URL"] = self.base_url
        return tuple(name for name, value in needed.items() if not value)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(
        f.name, f"KEEPWARM_{f.name.upper()}", f.default, f.metadata["parse"], f.metadata["help"]
    )
    for f in dataclasses.fields(Settings)
)
"""The register of settings, derived from Settings: each one's variable, default and help
(the README's table is checked against it)."""


def redacted(url: str) -> str:
    """`url` with its password hidden, for pages, errors and logs."""
    return _redacted(url)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read every registered setting from `env`; a bad value raises ConfigError naming it. A
    retired variable still set is logged as a warning saying what replaced it."""
    for name, instead in RETIRED.items():
        if env.get(name):
            log.warning("%s is no longer read: %s", name, instead)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = env.get(setting.env)
        if raw is None or raw == "":
            values[setting.field] = setting.default
            continue
        try:
            values[setting.field] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.env}: {exc}") from None
    return Settings(**values)
