"""The Import page: upload a CSV, see a preview (a dry run that writes nothing), confirm.

An upload is saved to a private temporary file and kept in `app.state.imports` under a random
id that only its uploader can open (anyone else gets 404). The preview lists every problem as
`FILE:LINE: column: reason`; only a clean preview offers Confirm. Files larger than
`BACKGROUND_BYTES` (or `app.state.import_background_bytes`) are checked and imported by a small
bounded pool of threads (`ImportWorkers`) while the page shows progress and refreshes itself.

A confirmed import is also recorded in the database (`services.import_runs`): if the server
stops while it runs, the page shows it failed after the restart (nothing was saved: an import
is one transaction), or done if its transaction had committed — never an upload that vanished.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.model import ImportKind, ImportProblem, ImportReport, ProblemCode, User
from keepwarm.ingest.values import DateOrder
from keepwarm.services.import_runs import find_run, finish_run, start_run
from keepwarm.services.importing import (
    ImportOptions,
    ImportPreview,
    import_file,
    importing_as,
    preview_file,
)
from keepwarm.web.auth import (
    CheckedForm,
    Form,
    Importer,
    business_today,
    checked_form,
    clock,
    engine_of,
)
from keepwarm.web.render import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

BACKGROUND_BYTES = 2 * 1024 * 1024  # larger files are checked and imported in a thread
KEEP_SECONDS = 3600  # uploads left unconfirmed are forgotten (and their files deleted)
SHOWN_PROBLEMS = 500
WORKER_THREADS = 2  # large files checked or imported at once; the rest wait their turn
WORKER_QUEUE = 8  # large files waiting or running at most; beyond that an upload is refused
_CHUNK = 1 << 20
KIND_LABELS = {
    ImportKind.CLIENTS: "Clients (one row per client)",
    ImportKind.ACTIVITIES: "Activities (visits, purchases, invoices)",
    ImportKind.TOUCHES: "Touches (calls, cards, emails you made)",
}
ENCODINGS = {
    "": "Detect automatically",
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252 (Excel on Windows)",
    "latin-1": "Latin-1 (ISO-8859-1)",
    "utf-16": "UTF-16",
}
DATE_ORDERS = {
    "": "Detect from the file",
    DateOrder.DAY_FIRST.value: "Day first (31/12/2025)",
    DateOrder.MONTH_FIRST.value: "Month first (12/31/2025)",
}


@dataclass
class Upload:
    """One uploaded file on its way through preview and import."""

    id: str
    user_id: int
    kind: ImportKind
    filename: str
    path: Path
    size: int
    sha256: str
    options: ImportOptions
    created: float = field(default_factory=time.monotonic)
    status: str = "checking"  # checking -> preview -> importing -> done | failed
    progress: tuple[int, int] = (0, 0)
    preview: ImportPreview | None = None
    report: ImportReport | None = None
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def forget_file(self) -> None:
        self.path.unlink(missing_ok=True)


class ImportWorkers:
    """The bounded pool that checks and imports large files: `threads` at once, at most
    `queue` accepted (running or waiting); beyond that `submit` refuses, so a burst of uploads
    cannot pile up threads or memory. `shutdown` at server stop drops what has not started
    (a confirmed import that never ran is settled as failed at the next start)."""

    def __init__(self, threads: int = WORKER_THREADS, queue: int = WORKER_QUEUE) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="keepwarm-import")
        self._slots = threading.BoundedSemaphore(queue)

    def submit(self, work: Callable[[], None]) -> Future[None]:
        if not self._slots.acquire(blocking=False):
            raise InvalidInput(
                "file: keepwarm is already checking or importing several large files; "
                "try again in a few minutes"
            )
        try:
            future = self._pool.submit(work)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _uploads(request: Request) -> dict[str, Upload]:
    return request.app.state.imports  # type: ignore[no-any-return]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _background_from(request: Request) -> int:
    return int(getattr(request.app.state, "import_background_bytes", BACKGROUND_BYTES))


def _purge(request: Request) -> None:
    """Forget uploads older than KEEP_SECONDS (not while they are being worked on)."""
    uploads = _uploads(request)
    cutoff = time.monotonic() - KEEP_SECONDS
    for key, upload in list(uploads.items()):
        if upload.created < cutoff and upload.status not in ("checking", "importing"):
            upload.forget_file()
            uploads.pop(key, None)


def _mine(request: Request, upload_id: str, user_id: int) -> Upload:
    upload = _uploads(request).get(upload_id)
    if upload is None or upload.user_id != user_id:
        raise NotFound("no such upload: it may have expired, or it is someone else's")
    return upload


def _size_guard(request: Request) -> None:
    """Refuse a body that is plainly too large before it is read and spooled to disk."""
    limit = _settings(request).import_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise InvalidInput(_too_large(limit))


def _too_large(limit: int) -> str:
    return (
        f"file: the file is larger than the limit of {limit:,} bytes "
        "(KEEPWARM_IMPORT_MAX_BYTES): split the file, or ask whoever runs keepwarm to raise it"
    )


async def _upload_form(request: Request, _: Annotated[None, Depends(_size_guard)]) -> Form:
    return await checked_form(request)


UploadForm = Annotated[Form, Depends(_upload_form)]


# --- pages ------------------------------------------------------------------------------------


def _form_page(request: Request, error: str = "", status: int = 200, **chosen: str) -> Response:
    settings = _settings(request)
    context = {
        "error": error,
        "kinds": KIND_LABELS,
        "encodings": ENCODINGS,
        "date_orders": DATE_ORDERS,
        "chosen_kind": chosen.get("kind", ImportKind.CLIENTS.value),
        "chosen_order": chosen.get("dates", ""),
        "chosen_encoding": chosen.get("encoding", ""),
        "max_size": _human(settings.import_max_bytes),
    }
    return render(request, "import.html", context, status_code=status)


def _human(size: int) -> str:
    for unit, step in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= step:
            return f"{size / step:,.1f} {unit}".replace(".0 ", " ")
    return f"{size:,} bytes"


@router.get("/import")
def import_page(request: Request, session: Importer) -> Response:
    return _form_page(request)


def _options(form: Form, kind: ImportKind, user: User) -> ImportOptions:
    """The form's choices; a staff user's touches file may name only them (as everywhere)."""
    order = form.text("dates")
    encoding = form.text("encoding")
    if order and order not in DATE_ORDERS:
        raise InvalidInput("dates: choose day first, month first or detect")
    if encoding and encoding not in ENCODINGS:
        raise InvalidInput("encoding: choose one of the listed encodings")
    return ImportOptions(
        encoding=encoding or None,
        date_order=DateOrder(order) if order else None,
        allow_future=form.text("allow_future") == "on",
        create_missing=kind is not ImportKind.CLIENTS and form.text("create_missing") == "on",
        max_problems=SHOWN_PROBLEMS,
        as_staff=importing_as(user),
        actor=user.email,
    )


@router.post("/import")
def upload(request: Request, session: Importer, form: UploadForm) -> Response:
    _purge(request)
    chosen = {k: form.text(k) for k in ("kind", "dates", "encoding")}
    try:
        kind = ImportKind(form.text("kind"))
    except ValueError:
        return _form_page(request, "kind: choose what the file holds", 400, **chosen)
    options = _options(form, kind, session.user)
    file = form.raw("file")
    name = getattr(file, "filename", None)
    if file is None or isinstance(file, str) or not name:
        return _form_page(request, "file: choose a CSV file to upload", 400, **chosen)
    limit = _settings(request).import_max_bytes
    path, size, sha256 = _save(file.file, limit)  # type: ignore[attr-defined]
    if path is None:
        return _form_page(request, _too_large(limit), 413, **chosen)
    filename = PurePath(name.replace("\\", "/")).name[:200] or "upload.csv"
    item = Upload(
        id=secrets.token_urlsafe(18),
        user_id=session.user.id,
        kind=kind,
        filename=filename,
        path=path,
        size=size,
        sha256=sha256,
        options=options,
    )
    _uploads(request)[item.id] = item
    try:
        _check(request, item)
    except InvalidInput:
        _uploads(request).pop(item.id, None)
        item.forget_file()
        raise
    return RedirectResponse(f"/import/{item.id}", status_code=303)


def _save(stream: Any, limit: int) -> tuple[Path | None, int, str]:
    """Copy the upload to a new private temporary file (mode 0600), with its SHA-256. Over
    `limit` bytes the file is deleted and (None, bytes read so far, "") returned."""
    fd, name = tempfile.mkstemp(prefix="keepwarm-import-", suffix=".csv")
    path = Path(name)
    size = 0
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    break
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size > limit:
        path.unlink(missing_ok=True)
        return None, size, ""
    return path, size, digest.hexdigest()


def _progress(item: Upload) -> Callable[[int, int], None]:
    def on_progress(done: int, total: int) -> None:
        item.progress = (done, total)

    return on_progress


def _start(
    request: Request,
    item: Upload,
    step: Callable[..., Any],
    finished: Callable[[Any], None],
    failed: Callable[[Exception], None],
) -> None:
    """Run `step` (preview_file or import_file) on the upload, then `finished(result)` or,
    on an error, `failed(error)`: now for a small file, in the worker pool for a large one.
    The upload's status says where it is; the page shows progress until it settles."""
    engine, settings = engine_of(request), _settings(request)
    today, now = business_today(request), clock()

    def work() -> None:
        try:
            result = step(
                engine,
                settings,
                item.kind,
                item.path,
                today=today,
                now=now,
                options=item.options,
                on_progress=_progress(item),
                filename=item.filename,
            )
        except Exception as exc:  # shown on the page, and logged with its traceback
            log.exception("import of %s (%s) failed", item.filename, item.kind.value)
            item.error, item.status = _failure(exc), "failed"
            failed(exc)
            return
        finished(result)

    if item.size > _background_from(request):
        _workers(request).submit(work)
    else:
        work()


def _workers(request: Request) -> ImportWorkers:
    return request.app.state.import_workers  # type: ignore[no-any-return]


def _check(request: Request, item: Upload) -> None:
    """(Re)run the preview: a dry run that rolls back. After an error the file is deleted."""
    before = item.status, item.progress, item.preview
    item.status, item.progress, item.preview = "checking", (0, item.size), None

    def finished(preview: ImportPreview) -> None:
        item.preview, item.status = preview, "preview"

    try:
        _start(request, item, preview_file, finished, lambda _: item.forget_file())
    except InvalidInput:  # the pool is full: nothing started, the upload is as it was
        item.status, item.progress, item.preview = before
        raise


def _failure(exc: Exception) -> str:
    return str(exc) or exc.__class__.__name__


@router.get("/import/{upload_id}")
def upload_page(request: Request, upload_id: str, session: Importer) -> Response:
    if upload_id not in _uploads(request):
        return _settled_page(request, upload_id, session.user.id)
    item = _mine(request, upload_id, session.user.id)
    if item.status in ("checking", "importing"):
        done, total = item.progress
        context = {"item": item, "done": done, "total": max(total, item.size, 1)}
        return render(request, "import_progress.html", context, headers={"Refresh": "2"})
    if item.status == "preview" and item.preview is not None:
        return render(request, "import_preview.html", _preview_context(item))
    return render(request, "import_done.html", _report_context(item))


def _settled_page(request: Request, upload_id: str, user_id: int) -> Response:
    """An import this server process no longer holds (it restarted): as recorded."""
    run = find_run(engine_of(request), upload_id)
    if run is None or run.user_id != user_id:
        raise NotFound("no such upload: it may have expired, or it is someone else's")
    context = {"item": run, "settled": True, "report": None, "problems": [], "hidden": 0}
    return render(request, "import_done.html", context)


def _problem_line(problem: ImportProblem, filename: str) -> str:
    """`FILE:LINE: column: reason`, in this page's words where it offers the remedy (the
    reasons name the command line's options)."""
    if problem.code is ProblemCode.DATE_ORDER_UNKNOWN:
        problem = dataclasses.replace(
            problem,
            reason=f"{problem.value!r} could be day/month or month/day and no date in the "
            "file tells: choose the date order below and check again",
        )
    return problem.format(filename)


def _problem_lines(report: ImportReport) -> list[str]:
    return [_problem_line(p, report.filename) for p in report.problems]


def _preview_context(item: Upload) -> dict[str, Any]:
    preview = item.preview
    assert preview is not None
    report = preview.report
    return {
        "item": item,
        "preview": preview,
        "report": report,
        "problems": _problem_lines(report),
        "hidden": report.problem_count - len(report.problems),
        "delimiter": _delimiter_name(report.delimiter),
        "encodings": ENCODINGS,
        "date_orders": DATE_ORDERS,
        "chosen_order": item.options.date_order.value if item.options.date_order else "",
        "chosen_encoding": item.options.encoding or "",
        "kind_label": KIND_LABELS[item.kind],
    }


def _report_context(item: Upload) -> dict[str, Any]:
    report = item.report
    return {
        "item": item,
        "report": report,
        "problems": _problem_lines(report) if report else [],
        "hidden": (report.problem_count - len(report.problems)) if report else 0,
    }


def _delimiter_name(delimiter: str) -> str:
    names = {",": "comma (,)", ";": "semicolon (;)", "\t": "tab", "|": "vertical bar (|)"}
    return names.get(delimiter, repr(delimiter) if delimiter else "not found")


@router.post("/import/{upload_id}/options")
def change_options(
    request: Request, upload_id: str, session: Importer, form: CheckedForm
) -> Response:
    item = _mine(request, upload_id, session.user.id)
    with item.lock:
        if item.status == "preview":
            item.options = _options(form, item.kind, session.user)
            _check(request, item)
    return RedirectResponse(f"/import/{item.id}", status_code=303)


@router.post("/import/{upload_id}/confirm")
def confirm(request: Request, upload_id: str, session: Importer, form: CheckedForm) -> Response:
    item = _mine(request, upload_id, session.user.id)
    with item.lock:  # a double click imports once
        if item.status != "preview" or item.preview is None or not item.preview.report.ok:
            return RedirectResponse(f"/import/{item.id}", status_code=303)
        item.status, item.progress = "importing", (0, item.size)
    engine = engine_of(request)
    start_run(
        engine,
        item.id,
        user_id=item.user_id,
        kind=item.kind,
        filename=item.filename,
        sha256=item.sha256,
        now=clock(),
    )

    def finished(report: ImportReport) -> None:
        item.report, item.status = report, "done" if report.ok else "failed"
        message = "" if report.ok else f"{report.problem_count:,} problem(s)"
        _settle(engine, item, ok=report.ok, message=message)

    def failed(exc: Exception) -> None:
        _settle(engine, item, ok=False, message=item.error)

    try:
        _start(request, item, import_file, finished, failed)
    except InvalidInput:  # the pool is full: nothing started, the preview stands
        item.status = "preview"
        finish_run(engine, item.id, ok=False, message="not started: keepwarm was busy", now=clock())
        raise
    return RedirectResponse(f"/import/{item.id}", status_code=303)


def _settle(engine: Any, item: Upload, *, ok: bool, message: str) -> None:
    item.forget_file()
    finish_run(engine, item.id, ok=ok, message=message, now=clock())


@router.post("/import/{upload_id}/cancel")
def cancel(request: Request, upload_id: str, session: Importer, form: CheckedForm) -> Response:
    item = _mine(request, upload_id, session.user.id)
    with item.lock:
        if item.status not in ("checking", "importing"):
            item.forget_file()
            _uploads(request).pop(item.id, None)
    return RedirectResponse("/import", status_code=303)
