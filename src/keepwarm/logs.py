"""keepwarm's one logging configuration: standard `logging`, text or JSON lines on stderr.

Every module logs through its own logger (`log = logging.getLogger(__name__)`), so all of
keepwarm's records are under the `keepwarm` logger; `configure_logging` is the one place that
says where records go and how they look:

- the server (`keepwarm serve`, or any ASGI server through `keepwarm.web.serve`) always logs,
  at `settings.log_level`, in `settings.log_format`;
- the CLI logs only with `--verbose` (then at `settings.log_level`, to stderr), and is silent
  otherwise, warnings included: a command reports its own errors in words.

What a line may hold: method, path (never the query string), status, durations, counts, user
names (email addresses), file names. Never a password, token, cookie, CSRF value, one-time code,
or the text of a client note, touch note or email: callers pass only the fields they mean to
show, and nothing logs a request's headers, form or body.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
from typing import IO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from keepwarm.config import Settings

HANDLER_NAME = "keepwarm"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JSON_FIELDS = "{asctime}{levelname}{name}{message}"
_JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
_LOGGED = "_keepwarm_logged"
_OURS = ("keepwarm", "uvicorn.error")


def configure_logging(
    settings: Settings, *, verbose: bool | None = None, stream: IO[str] | None = None
) -> logging.Handler:
    """Configure logging for the server (`verbose=None`: always on) or the CLI (`verbose`: on
    with --verbose, else silent). Safe to call again: it replaces the handler it installed
    before, and leaves any other handler (a test's capture) alone.

    On: keepwarm's loggers and the server's own (uvicorn's start-up and error lines) at
    `settings.log_level`, other libraries' at WARNING or above, one line per record on `stream`
    (default: whatever sys.stderr is when a record is written) in `settings.log_format`.
    Returns the installed handler."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    handler: logging.Handler
    if verbose is False:
        handler = logging.NullHandler()  # so not even logging's last resort prints a warning
        handler.set_name(HANDLER_NAME)
        root.addHandler(handler)
        return handler
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(formatter(settings.log_format))
    handler.addFilter(_OursOrWarnings())
    handler.addFilter(_NotTwice())
    handler.set_name(HANDLER_NAME)
    root.addHandler(handler)
    level = logging.getLevelNamesMapping()[settings.log_level]
    root.setLevel(max(level, logging.WARNING))
    logging.getLogger("keepwarm").setLevel(level)
    logging.getLogger("uvicorn.error").setLevel(level)
    return handler


def formatter(log_format: str) -> logging.Formatter:
    """Text: `time LEVEL logger: message` (and the traceback, if any, on the lines after).
    JSON: one object per line with time (ISO 8601 in UTC, to the millisecond), level, logger,
    message, the extra
    fields the call passed, and exc_info (the traceback) when there is one."""
    if log_format == "json":
        json_lines = JsonFormatter(
            _JSON_FIELDS,
            style="{",
            rename_fields=_JSON_NAMES,
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's, with ANSI codes
            json_ensure_ascii=False,
        )
        json_lines.converter = time.gmtime
        json_lines.default_time_format = "%Y-%m-%dT%H:%M:%S"
        json_lines.default_msec_format = "%s.%03dZ"
        return json_lines
    return logging.Formatter(TEXT_FORMAT)


def printable(text: str) -> str:
    """`text` with control characters escaped, so a path or a file name cannot break a log
    line in two (a request for /a%0Afake-line)."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


# Paths whose tail is a secret (a private feed's, a reset, unsubscribe or feedback link's token).
_SECRET_TAIL = ("/calendar/", "/reset/", "/unsubscribe/", "/feedback/")
# A client's business id in a path (their page, its forms, the API): personal data, which an
# erasure must not leave behind in log files, so it is never written.
_CLIENT_PATH = re.compile(
    r"^(?P<base>(?:/api/v\d+)?/clients/)(?P<ref>.+?)"
    r"(?P<rest>/(?:consent|delete|touches|erase|export|household))?$"
)


def loggable_path(path: str) -> str:
    """`path` as log lines write it: printable (control characters escaped), a secret token
    written as "(token)", a client's business id as "(client)" (`/clients/(client)/touches`)."""
    for prefix in _SECRET_TAIL:
        if path.startswith(prefix):
            return prefix + "(token)"
    found = _CLIENT_PATH.match(path)
    if found:
        path = found["base"] + "(client)" + (found["rest"] or "")
    return printable(path)


def mark_logged(exc: BaseException) -> None:
    """Note that `exc` was logged with its traceback, so the server does not log it again."""
    with contextlib.suppress(AttributeError, TypeError):  # a type that takes no attributes
        setattr(exc, _LOGGED, True)


class _Stderr(logging.StreamHandler[IO[str]]):
    """Writes to whatever sys.stderr is when a record is emitted (as logging's own last-resort
    handler does), so a runner that swaps stderr (a test's) gets the lines."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass  # always the current sys.stderr


class _OursOrWarnings(logging.Filter):
    """keepwarm's records and the server's (uvicorn.error) at the level their loggers let
    through; any other library's at WARNING or above only, even when something lowers the root
    logger's level (SQLAlchemy's INFO lines carry each statement's parameters)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith(_OURS)


class _NotTwice(logging.Filter):
    """Drops the server's own report of an error that keepwarm's request log has written with
    its traceback already (uvicorn's "Exception in ASGI application")."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not getattr(exc, _LOGGED, False)
