"""Logs: one configuration (text or JSON lines), a line per request, sign-ins and refusals,
the daily job's steps, imports, unhandled errors with their traceback, a CLI that is silent
unless --verbose, and never a password, token, cookie, CSRF value or note in any line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.logs import HANDLER_NAME, configure_logging
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.services.users import add_user, create_token
from web_support import PASSWORD, Web

CLIENTS = [
    "id,name,owner,email,notes",
    "C1,Ada Lovelace,Dana,ada@example.com,CLIENT-NOTE-must-not-be-logged",
    "C2,Grace Hopper,Sam,grace@example.com,",
    "C3,Alan Turing,Dana,alan@example.com,",
]
VISITS = [
    "client_id,date,amount,kind",
    *(f"C{i},2026-0{m}-1{i},50.00,visit" for i in (1, 2, 3) for m in (1, 3, 5, 7)),
]
_LOGGERS = ("keepwarm", "uvicorn.error", "sqlalchemy")


@pytest.fixture(autouse=True)
def _restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test configures logging as the server or the CLI would; put it back afterwards."""
    for where in ("keepwarm.web.auth.clock", "keepwarm.web.pages.clock", "keepwarm.web.api.clock"):
        monkeypatch.setattr(where, lambda: NOW)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def _capture(log_format: str = "text", level: str = "DEBUG") -> io.StringIO:
    """Logging as the server configures it, written to a buffer instead of stderr."""
    buffer = io.StringIO()
    configure_logging(Settings(log_level=level, log_format=log_format), stream=buffer)
    return buffer


def _write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _practice(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    for name in ("Dana", "Sam"):
        add_staff(engine, name, email=None, weekly_quota=10, now=NOW)
    for kind, lines in ((ImportKind.CLIENTS, CLIENTS), (ImportKind.ACTIVITIES, VISITS)):
        path = _write(folder, f"{kind.value}.csv", lines)
        assert import_file(engine, settings, kind, path, today=TODAY, now=NOW).ok


# --- the configuration ------------------------------------------------------------------------


def test_configuring_twice_leaves_one_handler_and_one_line_per_record() -> None:
    settings = Settings(log_level="INFO")
    configure_logging(settings)
    buffer = io.StringIO()
    configure_logging(settings, stream=buffer)
    ours = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    assert len(ours) == 1
    logging.getLogger("keepwarm.test").info("hello %s", "there")
    assert buffer.getvalue().count("hello there") == 1
    configure_logging(settings, verbose=False)  # the CLI without --verbose: silent
    ours = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    assert len(ours) == 1 and isinstance(ours[0], logging.NullHandler)


def test_the_level_setting_filters_and_other_libraries_stay_at_warning() -> None:
    buffer = _capture(level="WARNING")
    logging.getLogger("keepwarm.test").info("not shown")
    logging.getLogger("keepwarm.test").warning("shown")
    buffer = _capture(level="DEBUG")
    logging.getLogger("keepwarm.test").debug("debug shown")
    logging.getLogger("sqlalchemy.engine.Engine").info("INSERT ... parameters")
    logging.getLogger("somelibrary").info("chatter")
    text = buffer.getvalue()
    assert "debug shown" in text
    assert "parameters" not in text and "chatter" not in text


def test_a_request_is_one_line_with_method_path_status_and_duration(web_app) -> None:  # type: ignore[no-untyped-def]
    buffer = _capture("text", "INFO")
    client = TestClient(web_app, follow_redirects=False)
    assert client.get("/health?token=kw_query-secret").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    lines = buffer.getvalue().splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    for request in ("GET /health 200", "GET /no-such-page 404"):
        pattern = rf"^{stamp} INFO keepwarm\.web\.app: {request} \d+\.\d ms$"
        assert any(re.match(pattern, line) for line in lines), lines
    assert "kw_query-secret" not in buffer.getvalue() and "?" not in buffer.getvalue()


def test_json_lines_are_objects_with_time_level_logger_message_and_the_fields(web_app) -> None:  # type: ignore[no-untyped-def]
    buffer = _capture("json", "INFO")
    TestClient(web_app, follow_redirects=False).get("/health?next=/x")
    records = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    (request,) = [r for r in records if r.get("path") == "/health"]
    assert request["method"] == "GET" and request["status"] == 200
    assert isinstance(request["duration_ms"], float) and request["duration_ms"] >= 0
    assert request["level"] == "INFO" and request["logger"] == "keepwarm.web.app"
    assert request["message"].startswith("GET /health 200 ")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", request["time"])


def test_a_client_s_business_id_never_reaches_a_log_line(web_app) -> None:  # type: ignore[no-untyped-def]
    """An erasure cannot take a line back out of a log file, so none names a client."""
    buffer = _capture("text", "INFO")
    client = TestClient(web_app, follow_redirects=False)
    for path in ("/clients/C-1042", "/clients/C-1042/touches", "/api/v1/clients/C%2F1042"):
        client.get(path)
    written = buffer.getvalue()
    assert "1042" not in written
    assert "GET /clients/(client) " in written
    assert "GET /clients/(client)/touches " in written
    assert "GET /api/v1/clients/(client) " in written
    client.get("/clients")
    assert "GET /clients " in buffer.getvalue()


def test_a_forged_line_break_in_a_path_stays_on_one_line(web_app) -> None:  # type: ignore[no-untyped-def]
    buffer = _capture("text", "INFO")
    TestClient(web_app, follow_redirects=False).get("/a%0A2026-01-01 INFO keepwarm: forged")
    (line,) = [line for line in buffer.getvalue().splitlines() if "forged" in line]
    assert "GET /a\\n2026-01-01" in line


# --- errors -----------------------------------------------------------------------------------


def test_an_unhandled_error_is_logged_once_with_its_traceback(web_app) -> None:  # type: ignore[no-untyped-def]
    @web_app.get("/boom")
    def boom() -> None:
        raise RuntimeError("the kettle exploded")

    buffer = _capture("text", "INFO")
    answer = TestClient(web_app, raise_server_exceptions=False).get("/boom")
    assert answer.status_code == 500
    text = buffer.getvalue()
    assert "ERROR keepwarm.web.app: unhandled error in GET /boom" in text
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: the kettle exploded" in text
    assert re.search(r"WARNING keepwarm\.web\.app: GET /boom 500 [\d.]+ ms", text)

    # The ASGI server's own report of the same error is not written a second time.
    with pytest.raises(RuntimeError) as raised:
        TestClient(web_app).get("/boom")
    before = buffer.getvalue()
    logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=raised.value)
    logging.getLogger("uvicorn.error").error("Something else went wrong")
    after = buffer.getvalue()[len(before) :]
    assert "Exception in ASGI application" not in after
    assert "Something else went wrong" in after


# --- the daily job and imports ----------------------------------------------------------------


def test_the_daily_job_logs_its_steps_with_counts_that_match_its_result(
    engine: sa.Engine, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _practice(engine, settings, tmp_path)
    caplog.set_level(logging.INFO, logger="keepwarm")
    result = run_daily(engine, settings, day=TODAY, now=NOW)
    steps = {r.step: r for r in caplog.records if r.name == "keepwarm.services.daily_job"}
    assert list(steps) == ["rhythms learned", "signals", "plan", "write", "done"]
    assert steps["rhythms learned"].clients == 3
    assert steps["signals"].clients_with_signals == result.clients_with_signals
    assert steps["plan"].waiting == result.waiting
    assert steps["write"].actions == result.actions
    done = steps["done"]
    assert (done.actions, done.waiting, done.clients_with_signals) == (
        result.actions,
        result.waiting,
        result.clients_with_signals,
    )
    assert all(isinstance(r.seconds, float) and r.seconds >= 0 for r in steps.values())
    assert f"daily job {TODAY}: done in " in done.getMessage()
    assert f"actions {result.actions}, waiting {result.waiting}" in done.getMessage()

    caplog.clear()
    again = run_daily(engine, settings, day=TODAY, now=NOW)
    assert again.already_planned
    assert [r.getMessage() for r in caplog.records] == [f"daily job {TODAY}: already planned"]


def test_an_import_logs_its_file_kind_rows_and_outcome(
    engine: sa.Engine, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="keepwarm")
    good = _write(tmp_path, "clients.csv", CLIENTS)
    bad = _write(tmp_path, "broken.csv", ["id,name", "C9,", "C9,Nameless Twin"])
    import_file(engine, settings, ImportKind.CLIENTS, good, today=TODAY, now=NOW)
    refused = import_file(engine, settings, ImportKind.CLIENTS, bad, today=TODAY, now=NOW)
    assert not refused.ok
    first, second = [r for r in caplog.records if r.name == "keepwarm.services.importing"]
    assert (first.kind, first.file, first.rows, first.outcome) == (
        "clients",
        str(good),
        3,
        "imported",
    )
    assert first.getMessage().startswith(f"import of clients {good}: 3 rows, imported: 3 added")
    assert (second.file, second.rows, second.outcome) == (str(bad), 2, "refused")
    assert second.problems == refused.problem_count > 0
    assert f"refused: {refused.problem_count} problem(s)" in second.getMessage()
    assert "CLIENT-NOTE" not in caplog.text


# --- the CLI ----------------------------------------------------------------------------------


def test_the_cli_logs_to_stderr_only_with_verbose(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, "clients.csv", CLIENTS)
    quiet = cli("import", "clients", str(path), "--dry-run")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    verbose = cli("--verbose", "import", "clients", str(path))
    assert verbose.exit_code == 0, verbose.output
    assert re.search(
        r"INFO keepwarm\.services\.importing: import of clients .*3 rows", verbose.stderr
    )
    assert "import of clients" not in verbose.stdout  # the command's own output is unchanged
    again = cli("import", "clients", str(path))  # silent again without the flag
    assert again.exit_code == 0 and again.stderr == ""


# --- what is never logged ---------------------------------------------------------------------


def test_no_password_token_cookie_csrf_value_or_note_is_ever_logged(
    web_app, engine: sa.Engine, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _practice(engine, settings, tmp_path)
    owner = add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    token = create_token(engine, owner.id, "script", now=NOW)
    for log_format in ("text", "json"):
        buffer = _capture(log_format, "DEBUG")  # what the server writes at its most verbose
        caplog.set_level(logging.DEBUG)  # and every record of every library, at any level
        wrong_password = f"Wrong-{log_format}-password-9f8e7d"
        touch_note = f"TOUCH-NOTE-{log_format}-she is pregnant"
        api_note = f"API-NOTE-{log_format}-private matter"
        forged_csrf = f"forged-csrf-{log_format}-value"

        web = Web(web_app)
        assert web.sign_in("owner@example.com", wrong_password).status_code == 401
        pre_token = web.client.cookies.get("kw_pre")
        assert pre_token
        assert web.sign_in("owner@example.com").status_code == 303
        touch = {"channel": "call", "date": "2026-11-24", "note": touch_note, "staff": "Dana"}
        assert web.post("/clients/C1/touches", touch).status_code == 303
        forged = web.client.post("/clients/C1/touches", data={**touch, "csrf_token": forged_csrf})
        assert forged.status_code == 403
        assert web.get(f"/today?token={token}").status_code == 200
        api = TestClient(web_app, headers={"Authorization": f"Bearer {token}"})
        assert api.get("/api/v1/clients").status_code == 200
        body = {"client_id": "C2", "date": "2026-11-24", "channel": "call", "note": api_note}
        assert api.post("/api/v1/touches", json={**body, "staff": "Sam"}).status_code == 201
        bad = TestClient(web_app).get("/api/v1/clients", headers={"Authorization": "Bearer kw_x"})
        assert bad.status_code == 401

        secrets = [
            PASSWORD,
            wrong_password,
            token,
            token.removeprefix("kw_"),
            touch_note,
            api_note,
            "she is pregnant",
            "private matter",
            "CLIENT-NOTE",
            forged_csrf,
            web.token,
            pre_token,
            *(value for value in web.client.cookies.values() if value),
        ]
        written = buffer.getvalue()
        # (httpx's records are the test's browser's, which sent the token in a query string)
        server = [r for r in caplog.records if not r.name.startswith("httpx")]
        records = "\n".join(caplog.handler.format(r) for r in server)
        for secret in secrets:
            assert secret not in written, f"{secret!r} was logged ({log_format})"
            assert secret not in records, f"{secret!r} is in a log record"

        for line in (
            "POST /login 401",
            "POST /login 303",
            "sign-in failed for owner@example.com from testclient: wrong password",
            "signed in: owner@example.com from testclient",
            "POST /clients/(client)/touches 303",
            "POST /clients/(client)/touches 403",
            "refused POST /clients/(client)/touches to owner@example.com: a form without its "
            "session's CSRF token",
            "GET /today 200",
            "GET /api/v1/clients 200",
            "POST /api/v1/touches 201",
            "refused GET /api/v1/clients to someone not signed in: an unknown or revoked API token",
            "GET /api/v1/clients 401",
        ):
            assert line in written, f"{line!r} not logged ({log_format}):\n{written}"
        if log_format == "json":
            assert all(json.loads(line) for line in written.splitlines())
        caplog.clear()


def test_a_refusal_by_role_is_logged_with_who_and_why(web, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    staff: Web = web("dana@example.com", role="staff", staff="Dana")
    buffer = _capture("text", "INFO")
    assert staff.get("/settings").status_code == 403
    text = buffer.getvalue()
    assert "refused GET /settings to dana@example.com: only the owner can open settings" in text
    assert re.search(r"GET /settings 403 [\d.]+ ms", text)


def test_throttled_sign_ins_are_logged_as_refusals(web_app, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    buffer = _capture("text", "INFO")
    web = Web(web_app)
    for _ in range(6):
        web.sign_in("owner@example.com", "not-the-password-123")
    assert web.sign_in("owner@example.com").status_code == 401  # throttled even when right
    text = buffer.getvalue()
    assert text.count("sign-in failed for owner@example.com") == 5
    assert "refused an attempt for owner@example.com from testclient: too many failed" in text
    assert "not-the-password-123" not in text and PASSWORD not in text
