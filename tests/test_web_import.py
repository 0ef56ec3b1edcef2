"""The Import page: upload, preview (a dry run that writes nothing), confirm, progress."""

from __future__ import annotations

import re
import threading
import time

import pytest

from conftest import NOW, table_snapshot
from keepwarm.services.clients import find_clients
from keepwarm.services.import_runs import find_run
from keepwarm.web.imports import ImportWorkers

GOOD = (
    "Customer ID,Name,Email,Status,Favourite colour\r\n"
    "C1,Ann Smith,ann@example.com,active,blue\r\n"
    "C2,Bob Jones,bob@example.com,prospect,green\r\n"
    "C3,Cleo Park,cleo@example.com,active,red\r\n"
)
BAD = (  # an unusable email is kept as written and flagged; an unknown status is refused
    "Customer ID,Name,Email,Status\r\n"
    "C1,Ann Smith,ann@example.com,active\r\n"
    "C2,Bob Jones,bob@example.com,sleeping\r\n"
    "C3,Cleo Park,cleo@example.com,active\r\n"
)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock, the one thing mocked.
    monkeypatch.setattr("keepwarm.web.imports.clock", lambda: NOW)


@pytest.fixture(autouse=True)
def forget_uploads(web_app):  # type: ignore[no-untyped-def]
    """Delete the temporary files of uploads a test left unconfirmed."""
    yield
    for item in web_app.state.imports.values():
        item.forget_file()


def upload(client, content: str | bytes, kind: str = "clients", name: str = "clients.csv", **data):  # type: ignore[no-untyped-def]
    body = content.encode() if isinstance(content, str) else content
    return client.post("/import", {"kind": kind, **data}, files={"file": (name, body, "text/csv")})


def preview_of(client, content: str | bytes, **kwargs):  # type: ignore[no-untyped-def]
    answer = upload(client, content, **kwargs)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(r"/import/[A-Za-z0-9_-]{20,}", location)
    return location, client.get(location)


def imported(client, content: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
    location, page = preview_of(client, content, **kwargs)
    assert 'id="confirm"' in page.text, page.text
    client.post(location + "/confirm")
    assert "<h1>Imported" in client.get(location).text


def test_good_file_previews_then_imports_on_confirm(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    form = owner.get("/import")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text and 'type="file"' in form.text

    before = table_snapshot(engine)
    location, page = preview_of(owner, GOOD)
    assert page.status_code == 200
    html = page.text
    assert '<dd id="encoding-found">utf-8</dd>' in html
    assert "comma (,)" in html
    # Every column and what it maps to (aliases), the unknown one marked unused.
    assert "<td>Customer ID</td><td>id</td>" in html
    assert "<td>Email</td><td>email</td>" in html
    assert re.search(r"<td>Favourite colour</td><td><span class=\"muted\">not used", html)
    # The first rows as parsed, with their line numbers.
    assert '<th scope="row">2</th><td>C1</td><td>Ann Smith</td>' in html
    assert "<td>cleo@example.com</td>" in html
    assert "3 added" in html
    assert 'id="confirm"' in html
    assert table_snapshot(engine) == before  # the preview wrote nothing

    done = owner.post(location + "/confirm")
    assert done.status_code == 303 and done.headers["location"] == location
    report = owner.get(location)
    assert '<td id="added">3</td>' in report.text
    items, total = find_clients(engine)
    assert total == 3
    assert {i.client.id: i.client.email for i in items}["C2"] == "bob@example.com"
    # Confirming twice imports once (the upload is finished; its file is gone).
    owner.post(location + "/confirm")
    assert find_clients(engine)[1] == 3


def test_bad_row_is_listed_by_line_and_field_and_nothing_changes(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    imported(owner, GOOD)  # something already in the database
    before = table_snapshot(engine)
    location, page = preview_of(owner, BAD)
    html = page.text
    assert "clients.csv:3: Status: &#39;sleeping&#39; is not a status" in html
    assert 'id="confirm"' not in html and "/confirm" not in html
    # A forged confirm does nothing either.
    owner.post(location + "/confirm")
    assert table_snapshot(engine) == before


def test_cp1252_file_shows_its_encoding(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    content = "Customer ID,Name\r\nC1,Zoë Müller\r\nC2,François Dupré\r\n".encode("cp1252")
    _, page = preview_of(owner, content)
    assert '<dd id="encoding-found">cp1252</dd>' in page.text
    assert "<td>Zoë Müller</td>" in page.text


def test_ambiguous_dates_offer_a_choice_and_rerun_the_preview(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    imported(owner, GOOD)
    touches = "client,date,channel\r\nC1,03/04/2026,call\r\nC2,05/06/2026,card\r\n"
    location, page = preview_of(owner, touches, kind="touches", name="touches.csv")
    assert (
        "touches.csv:2: date: &#39;03/04/2026&#39; could be day/month or month/day and no date"
        " in the file tells: choose the date order below and check again"
    ) in page.text
    assert "--dayfirst" not in page.text  # the command line's remedy is not this page's
    assert 'id="confirm"' not in page.text
    owner.post(location + "/options", {"dates": "dayfirst"})
    again = owner.get(location)
    assert 'id="confirm"' in again.text and "2 added" in again.text
    assert '<option value="dayfirst" selected>' in again.text
    owner.post(location + "/confirm")
    assert "Imported touches" in owner.get(location).text


def test_only_the_uploader_sees_or_confirms_an_upload(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    location, _ = preview_of(owner, GOOD)
    other = web("ben@example.com")  # another owner: may import, not see this upload
    assert other.get(location).status_code == 404
    assert other.post(location + "/confirm").status_code == 404
    assert other.post(location + "/cancel").status_code == 404
    assert find_clients(engine)[1] == 0
    assert owner.get(location).status_code == 200  # still there for its owner
    assert web_get_anonymous(owner, location).status_code == 303


def web_get_anonymous(signed_in, location: str):  # type: ignore[no-untyped-def]
    from web_support import Web

    return Web(signed_in.client.app).get(location)


def test_csrf_is_required(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    answer = owner.client.post(
        "/import", data={"kind": "clients"}, files={"file": ("c.csv", GOOD.encode(), "text/csv")}
    )
    assert answer.status_code == 403
    location, _ = preview_of(owner, GOOD)
    assert owner.client.post(location + "/confirm", data={}).status_code == 403
    assert find_clients(engine)[1] == 0


def test_too_large_a_file_gets_a_clear_error(web, web_app, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    web_app.state.settings = web_app.state.settings.replace(import_max_bytes=60)
    answer = upload(owner, GOOD)
    assert answer.status_code in (400, 413)
    assert "larger than the limit of 60 bytes" in answer.text
    assert not web_app.state.imports


def test_missing_file_or_kind_is_refused(web, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    answer = owner.post("/import", {"kind": "clients"}, files={"file": ("", b"", "text/csv")})
    assert answer.status_code == 400 and "choose a CSV file" in answer.text
    answer = upload(owner, GOOD, kind="invoices")
    assert answer.status_code == 400 and "kind: choose" in answer.text


def test_large_files_run_in_the_background_with_progress(web, web_app, engine, backend) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    web_app.state.import_background_bytes = 0  # every file counts as large
    lines = [f"C{i},Client {i},c{i}@example.com,active,blue" for i in range(200)]
    content = GOOD.splitlines()[0] + "\r\n" + "\r\n".join(lines) + "\r\n"
    answer = upload(owner, content)
    location = answer.headers["location"]
    page = _wait(owner, location, "Preview of")
    assert "200 added" in page.text
    item = next(iter(web_app.state.imports.values()))
    assert item.path.exists()

    # A pool of one thread, busy with other work: the confirmed import waits its turn while
    # the page shows progress and refreshes itself, and the pool's bound refuses more work.
    release = threading.Event()
    web_app.state.import_workers = ImportWorkers(threads=1, queue=2)
    web_app.state.import_workers.submit(lambda: release.wait(20) and None)
    try:
        assert owner.post(location + "/confirm").status_code == 303
        running = owner.get(location)
        assert "<progress" in running.text
        assert '<meta http-equiv="refresh" content="2">' in running.text
        assert running.headers.get("refresh") == "2"
        refused = upload(owner, content)
        assert refused.status_code == 400
        assert "already checking or importing several large files" in refused.text
        assert list(web_app.state.imports) == [item.id]  # the refused upload left nothing
    finally:
        release.set()
    done = _wait(owner, location, "Imported clients")
    assert '<td id="added">200</td>' in done.text
    assert find_clients(engine)[1] == 200
    assert not item.path.exists()  # the temporary file is deleted when done
    assert find_run(engine, item.id).status == "done"  # type: ignore[union-attr]


def _wait(client, location: str, text: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        page = client.get(location)
        if text in page.text:
            return page
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared: {page.text[:2000]}")


def test_cancel_forgets_the_upload_and_its_file(web, web_app, engine) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    location, _ = preview_of(owner, GOOD)
    item = next(iter(web_app.state.imports.values()))
    assert item.path.exists() and (item.path.stat().st_mode & 0o077) == 0  # private
    assert owner.post(location + "/cancel").status_code == 303
    assert not item.path.exists()
    assert owner.get(location).status_code == 404


def test_staff_may_not_import(web, engine) -> None:  # type: ignore[no-untyped-def]
    """Importing is the owner's (the README's "Who may do what"): staff get a 403 page."""
    owner = web()
    location, _ = preview_of(owner, GOOD)
    staff = web("ben@example.com", role="staff", staff="Ben")
    page = staff.get("/import")
    assert page.status_code == 403 and "only the owner can import files" in page.text
    assert upload(staff, GOOD).status_code == 403
    assert staff.get(location).status_code == 403
    assert staff.post(location + "/confirm").status_code == 403
    assert find_clients(engine)[1] == 0


def test_stopping_the_server_deletes_unconfirmed_uploads(web_app, web) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(web_app):  # runs the app's startup and shutdown
        owner = web()
        answer = owner.client.post(
            "/import",
            data={"csrf_token": owner.token, "kind": "clients"},
            files={"file": ("c.csv", b"id,name\nC1,Ann\n", "text/csv")},
        )
        assert answer.status_code == 303
        (upload,) = web_app.state.imports.values()
        assert upload.path.exists()
    assert not upload.path.exists()


def test_a_header_only_file_says_it_has_no_rows(web) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    location, page = preview_of(owner, "Customer ID,Name,Email\r\n")
    assert 'id="confirm"' in page.text, page.text
    owner.post(location + "/confirm")
    done = owner.get(location).text
    assert "the file has a header line but no rows" in done
    assert "already here" not in done


def test_an_import_running_when_the_server_stops_is_shown_failed_after_a_restart(
    web, web_app, engine, db_url
) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from keepwarm.config import Settings
    from keepwarm.web import create_app
    from web_support import Web

    owner = web()
    web_app.state.import_background_bytes = 0
    location = upload(owner, GOOD).headers["location"]
    _wait(owner, location, "Preview of")
    blocked = threading.Event()
    web_app.state.import_workers = ImportWorkers(threads=1, queue=2)
    web_app.state.import_workers.submit(lambda: blocked.wait(20) and None)
    assert owner.post(location + "/confirm").status_code == 303
    web_app.state.import_workers.shutdown()  # the server stops: the queued import never runs
    blocked.set()

    restarted = create_app(Settings(database_url=db_url))
    with TestClient(restarted):  # start-up settles what the stopped server left running
        again = Web(restarted)
        assert again.sign_in("owner@example.com").status_code == 303
        page = again.get(location)
    assert page.status_code == 200
    assert "Nothing imported from" in page.text
    assert "nothing from it was saved" in page.text
    assert find_clients(engine)[1] == 0
    stranger = web("other@example.com")  # another owner
    assert stranger.get(location).status_code == 404  # still only its uploader's


def test_an_import_that_committed_before_the_server_stopped_is_shown_done(
    engine, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    from keepwarm.domain.model import ImportKind
    from keepwarm.services.import_runs import settle_interrupted, start_run
    from keepwarm.services.importing import import_file
    from keepwarm.services.users import add_user
    from web_support import PASSWORD

    user = add_user(engine, "owner@example.com", PASSWORD, "owner", now=NOW)
    path = tmp_path / "clients.csv"
    path.write_text(GOOD, encoding="utf-8")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    start_run(
        engine,
        "run-1",
        user_id=user.id,
        kind=ImportKind.CLIENTS,
        filename="clients.csv",
        sha256=sha,
        now=NOW,
    )
    start_run(
        engine,
        "run-2",
        user_id=user.id,
        kind=ImportKind.CLIENTS,
        filename="other.csv",
        sha256="0" * 64,
        now=NOW,
    )
    report = import_file(engine, settings, ImportKind.CLIENTS, path, today=NOW.date(), now=NOW)
    assert report.ok  # committed, but the server stopped before it recorded the end
    assert settle_interrupted(engine, NOW) == 2
    assert [find_run(engine, r).status for r in ("run-1", "run-2")] == ["done", "failed"]  # type: ignore[union-attr]
    assert settle_interrupted(engine, NOW) == 0  # settled once
