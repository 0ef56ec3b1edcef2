"""The ASGI app: routers, templates, static files, security headers, the request log and
error pages."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from keepwarm.config import Settings
from keepwarm.domain.errors import (
    InvalidInput,
    KeepwarmError,
    NotAllowed,
    NotFound,
    SignInFailed,
)
from keepwarm.logs import loggable_path, mark_logged
from keepwarm.services import background
from keepwarm.services.daily_job import local_today, plan_made, run_daily
from keepwarm.services.database import open_database
from keepwarm.services.import_runs import settle_interrupted
from keepwarm.services.policy import get_policy
from keepwarm.services.users import user_count
from keepwarm.web import (
    api,
    audience_pages,
    audit,
    calendar_pages,
    campaign_results,
    campaigns,
    clients,
    duplicates,
    feedback,
    history,
    households,
    imports,
    outbox_api,
    outbox_pages,
    pages,
    password_reset,
    printing,
    privacy,
    reports,
    retention_pages,
    settings_pages,
    unsubscribe,
)
from keepwarm.web.auth import ApiUnauthorized, CsrfFailed, LoginRequired, clock, refused
from keepwarm.web.render import render

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeaders:
    """Adds the security headers to every response, and `Cache-Control: no-store` to all but
    static files (pages and API answers hold client data). Plain ASGI: no per-request task."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in _HEADERS if k not in names]
                if not static and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class RequestLog:
    """One line per request: method, path (never the query string: it can carry tokens),
    status and duration in ms; an unhandled error is logged first, with its traceback, and
    passed on (the server answers 500). Nothing of the headers or body is read. Plain ASGI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], loggable_path(scope["path"])
        status = 500  # unless a response starts

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        except Exception as exc:
            log.exception("unhandled error in %s %s", method, path)
            mark_logged(exc)
            raise
        finally:
            ms = round((time.perf_counter() - started) * 1000, 1)
            log.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "%s %s %d %.1f ms",
                method,
                path,
                status,
                ms,
                extra={"method": method, "path": path, "status": status, "duration_ms": ms},
            )


def create_app(
    settings: Settings, *, setup_code: str | None = None, daily_job: bool = False
) -> FastAPI:
    """The web app on the settings' database. `setup_code` is the one-time code the first-run
    page asks for (printed by `keepwarm serve`); `daily_job` makes the app plan each day itself
    (checked every five minutes), so the list is ready when staff arrive."""
    engine = open_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        settle_interrupted(engine, clock())  # imports a stopped server left running
        if daily_job:
            threading.Thread(
                target=_plan_each_day, args=(app, stop), name="keepwarm-daily", daemon=True
            ).start()
            threading.Thread(
                target=_background, args=(app, stop), name="keepwarm-background", daemon=True
            ).start()
        yield
        stop.set()
        app.state.import_workers.shutdown()
        for upload in list(app.state.imports.values()):  # unconfirmed uploads' temp files
            upload.forget_file()
        engine.dispose()

    app = FastAPI(
        title="keepwarm",
        version="1",
        description="Whom to contact today, why, and what to say.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.setup_code = setup_code
    app.state.imports = {}
    app.state.fresh_tokens = {}  # new API tokens waiting for their one showing (settings_pages)
    app.state.import_workers = imports.ImportWorkers()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        """The icon browsers ask for by this name (the pages link the same SVG)."""
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    for module in (pages, clients, history, imports, reports, settings_pages, calendar_pages):
        app.include_router(module.router)
    app.include_router(unsubscribe.router)  # public: the link's token is the key
    app.include_router(printing.router)
    app.include_router(outbox_pages.router)
    app.include_router(campaign_results.router)  # the owner's: did a campaign work?
    app.include_router(campaigns.router)  # the owner's campaigns: create, preview, send
    app.include_router(password_reset.router)  # public: forgot password, the link's page
    app.include_router(audience_pages.router)  # saving a filter of the Clients page
    app.include_router(retention_pages.router)  # the retention CSV of Reports
    app.include_router(audit.router)  # the owner's audit log: who did what
    app.include_router(feedback.router)  # public: a client's feedback link (token is the key)
    app.include_router(privacy.router)  # export one client (ZIP), erase one client
    app.include_router(duplicates.router)  # the owner's: find, merge, undo duplicate clients
    app.include_router(households.router)  # the owner's: suggested households, accept, reject
    app.include_router(api.router)
    app.include_router(outbox_api.router)
    _error_pages(app)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)  # outermost: it sees every error
    return app


def _plan_each_day(app: FastAPI, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            engine = app.state.engine
            day = local_today(get_policy(engine), clock())
            if not plan_made(engine, day):  # else nothing to do (and nothing to log) till then
                run_daily(engine, app.state.settings, day=day, now=clock())
        except KeepwarmError as exc:  # said in words (a newer day planned, an old schema)
            log.warning("the daily plan was not made: %s; it is retried in five minutes", exc)
        except Exception:  # keep serving; the next check tries again
            log.exception("the daily plan failed; it is retried in five minutes")
        stop.wait(300)


def _background(app: FastAPI, stop: threading.Event) -> None:
    """Deliver the outbox (and the other background work) every ~15 seconds."""
    while not stop.is_set():
        try:
            background.cycle(app.state.engine, app.state.settings, now_fn=clock)
        except Exception:  # keep serving; the next round tries again
            log.exception("background work failed; it is tried again shortly")
        stop.wait(background.INTERVAL)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        log.debug("not signed in: %s %s", request.method, loggable_path(request.url.path))
        if _is_api(request):
            return JSONResponse({"detail": "sign in or send an API token"}, status_code=401)
        if user_count(request.app.state.engine) == 0:
            return RedirectResponse("/setup", status_code=303)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)

    @app.exception_handler(ApiUnauthorized)
    async def api_unauthorized(request: Request, exc: ApiUnauthorized) -> Response:
        return JSONResponse(
            {"detail": "send a valid API token: Authorization: Bearer kw_..."},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return render(
            request,
            "error.html",
            {
                "title": "This form has expired",
                "problem": "Go back, reload the page and try again.",
            },
            status_code=403,
        )

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed) -> Response:
        refused(request, str(exc))
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return render(
            request, "error.html", {"title": "Not for you", "problem": str(exc)}, status_code=403
        )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return render(
            request, "error.html", {"title": "Not found", "problem": str(exc)}, status_code=404
        )

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=422)
        return render(
            request,
            "error.html",
            {"title": "That did not work", "problem": str(exc)},
            status_code=400,
        )

    @app.exception_handler(SignInFailed)
    async def sign_in_failed(request: Request, exc: SignInFailed) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=401)


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")
