"""Erasing one client: every row about them goes from every table, what remains is a keyed hash
of their identifiers, the raw database file and its WAL hold no byte of their data (SQLite),
no text column of any table does (both databases), no log line does, and re-importing an old
file that holds them is flagged instead of bringing them back. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services import audit
from keepwarm.services.clients import update_client
from keepwarm.services.consent import record as record_consent
from keepwarm.services.daily_job import run_daily
from keepwarm.services.erasure import erase_client
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.services.touches import record_touch
from keepwarm.store import writing
from keepwarm.store.erasure import client_tables
from keepwarm.store.tables import (
    bounces,
    erased_identities,
    erasures,
    feedback_requests,
    metadata,
    outbox,
    print_batches,
    print_items,
)

REF = "ZQ-7731"
CLIENTS = (
    "id,name,owner,email,phone,address,birthday,notes\n"
    f"{REF},Zephyrine Quillfeather,Dana,Zephyrine.Q@Example.org,(503) 555-0199,"
    '"17 Larkspur Crescent, Portland",1961-04-09,allergic to cats from the windmill\n'
    "C1,Other Person,Dana,other@example.com,+15035550101,2 Main St,,kind to staff\n"
)
ACTIVITIES = (
    "client_id,date,amount,kind,note\n"
    f"{REF},2025-01-05,120.00,visit,tortoiseshell varifocals\n"
    "C1,2025-01-06,50.00,visit,\n"
)
# What must not remain, searched case-insensitively.
SECRETS = (
    "zephyrine",
    "quillfeather",
    "zephyrine.q@example.org",
    "5035550199",
    "(503) 555-0199",
    "larkspur",
    REF.lower(),
    "windmill",
    "tortoiseshell",
    "marvellous",
    "perihelion",
)


def _practice(engine: sa.Engine, settings: Settings, folder: Path) -> int:
    add_staff(engine, "Dana", email=None, weekly_quota=5, now=NOW)
    for kind, text in ((ImportKind.CLIENTS, CLIENTS), (ImportKind.ACTIVITIES, ACTIVITIES)):
        path = folder / f"{kind.value}.csv"
        path.write_text(text)
        assert import_file(engine, settings, kind, path, today=TODAY, now=NOW).ok
    run_daily(engine, settings, day=TODAY, now=NOW)
    record_touch(
        engine, REF, channel="call", date=TODAY, staff="Dana", note="talked perihelion", now=NOW
    )
    update_client(engine, REF, {"notes": "allergic to cats from the windmill, twice"}, now=NOW)
    with writing(engine) as conn:
        internal = conn.execute(
            sa.text("SELECT id FROM clients WHERE external_id = :r"), {"r": REF}
        ).scalar_one()
        record_consent(
            conn,
            client_id=internal,
            channel="email",
            allowed=False,
            source="request",
            actor="owner@example.com",
            now=NOW,
            address="zephyrine.q@example.org",
        )
        audit.record(
            conn,
            actor="owner@example.com",
            action="client-edit",
            now=NOW,
            client_id=internal,
            subject=audit.client_subject(conn, internal),
            details={"notes": "allergic to cats from the windmill"},
        )
        sent = conn.execute(
            sa.insert(outbox)
            .values(
                key="test:1",
                kind="action",
                channel="email",
                client_id=internal,
                to_address="zephyrine.q@example.org",
                subject="Hello Zephyrine",
                body="Dear Zephyrine Quillfeather, your tortoiseshell frames are ready.",
                message_id="<1@test>",
                state="sent",
                created_by="Dana",
                created_at=NOW,
                updated_at=NOW,
            )
            .returning(outbox.c.id)
        ).scalar_one()
        conn.execute(
            sa.insert(outbox).values(
                key="morning:test",
                kind="morning",
                channel="email",
                to_address="dana@example.com",
                subject="Your list",
                body="1. Zephyrine Quillfeather (ZQ-7731)\n2. Other Person (C1)",
                message_id="<2@test>",
                state="sent",
                created_by="keepwarm",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        conn.execute(
            sa.insert(bounces).values(
                message_key="<b@test>",
                address="zephyrine.q@example.org",
                kind="hard",
                status="5.1.1",
                diagnostic="no such user zephyrine.q@example.org",
                outbox_id=sent,
                client_id=internal,
                at=NOW,
            )
        )
        batch = conn.execute(
            sa.insert(print_batches)
            .values(kind="letters", created_by="Dana", created_at=NOW, state="confirmed")
            .returning(print_batches.c.id)
        ).scalar_one()
        conn.execute(
            sa.insert(print_items).values(
                batch_id=batch,
                client_id=internal,
                sheet=1,
                position=1,
                address="Zephyrine Quillfeather\n17 Larkspur Crescent\nPortland",
                body="Dear Zephyrine, happy birthday!",
                state="printed",
            )
        )
        conn.execute(
            sa.insert(feedback_requests).values(
                client_id=internal,
                visit_date=dt.date(2025, 1, 5),
                channel="email",
                token_hash="f" * 64,
                created_at=NOW,
                expires_at=NOW,
                answered_at=NOW,
                score=10,
                comment="Marvellous service",
            )
        )
    return int(internal)


def _rows_mentioning(engine: sa.Engine) -> list[str]:
    found = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for column in table.c:
                if not isinstance(column.type, sa.String | sa.Text):
                    continue
                text = sa.func.lower(sa.cast(column, sa.Text))
                for secret in SECRETS:
                    query = sa.select(sa.func.count()).where(text.contains(secret, autoescape=True))
                    if conn.execute(query.select_from(table)).scalar_one():
                        found.append(f"{table.name}.{column.name}: {secret}")
    return found


def _bytes_mentioning(db_url: str) -> list[str]:
    path = Path(db_url.removeprefix("sqlite:///"))
    found = []
    for file in (path, path.with_name(path.name + "-wal")):
        if not file.exists():
            continue
        raw = file.read_bytes().lower()
        found += [f"{file.name}: {s}" for s in SECRETS if s.encode() in raw]
    return found


def test_erasure_leaves_no_trace(engine, settings, db_url, backend, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    internal = _practice(engine, settings, tmp_path)
    assert _rows_mentioning(engine)  # the search finds them before
    if backend == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        assert _bytes_mentioning(db_url)

    erased = erase_client(engine, REF, actor="owner@example.com", now=NOW)

    assert erased.rows["clients"] == 1
    assert _rows_mentioning(engine) == []
    if backend == "sqlite":
        assert "truncated" in erased.cleanup
        assert _bytes_mentioning(db_url) == []
    with engine.connect() as conn:
        for table in client_tables():
            left = conn.execute(
                sa.select(sa.func.count()).where(table.c.client_id == internal)
            ).scalar_one()
            assert left == 0, table.name
        reasons = conn.execute(sa.select(erasures.c.reason, erasures.c.erased_by)).all()
        assert reasons == [("request", "owner@example.com")]
        kinds = set(conn.execute(sa.select(erased_identities.c.kind)).scalars())
        assert kinds == {"id", "email", "phone", "name_birthday"}
        entries = conn.exec_driver_sql(
            "SELECT action, subject, details, redacted_at FROM audit_log"
            f" WHERE client_id = {internal} ORDER BY id"
        ).all()
        assert entries[-1][:3] == ("erase", "(erased client)", '{"reason": "request"}')
        assert all(e.redacted_at is not None for e in entries[:-1])
        assert {e.action for e in entries} >= {"consent", "client-edit", "erase"}
        # The other client is untouched, and the morning list's text that named them went.
        assert conn.exec_driver_sql("SELECT count(*) FROM clients").scalar_one() == 1
        morning = conn.exec_driver_sql("SELECT body FROM outbox WHERE kind = 'morning'").one()
        assert "Other Person" not in morning.body  # the whole text went, not just the name
    logged = "\n".join(r.getMessage() for r in caplog.records).lower()
    assert [s for s in SECRETS if s in logged] == []


def test_reimporting_an_erased_client_is_flagged(engine, settings, tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    _practice(engine, settings, tmp_path)
    result = cli("erase", REF, input="wrong\n")
    assert result.exit_code == 1 and "nothing was erased" in result.output
    result = cli("erase", REF, input=f"{REF}\n")
    assert result.exit_code == 0, result.output
    assert f"Erased client {REF}" in result.output

    # The old file again, the same person under a new id with the same email, and a new client.
    again = tmp_path / "again.csv"
    again.write_text(
        CLIENTS + "NEW-1,Zeph Q,Dana,ZEPHYRINE.Q@example.org,,,,\nC2,New Person,Dana,,,,,\n"
    )
    report = import_file(engine, settings, ImportKind.CLIENTS, again, today=TODAY, now=NOW)
    assert report.ok
    assert report.added == 1
    said = "\n".join(report.notes)
    on = f"{dt.datetime.now(dt.UTC):%-d %b %Y}"  # the command line erased them just now
    assert f"line 2: {REF} was erased on {on} at the client's request — not restored" in said
    assert "line 4: NEW-1 was erased" in said
    with engine.connect() as conn:
        ids = set(conn.exec_driver_sql("SELECT external_id FROM clients").scalars())
    assert ids == {"C1", "C2"}
    # The skipped rows are counted apart, not as unchanged: only C1 was already here.
    assert (report.rows, report.unchanged, report.erased) == (4, 1, 2)
    assert "2 erased clients not restored" in said
    result = cli("import", "clients", str(again))
    assert result.exit_code == 0, result.output
    # Again on the command line: C1 and C2 are here now; the two erased rows are not unchanged.
    assert "4 rows — 0 added, 0 updated, 2 unchanged, 0 rejected." in result.output
    assert "Note: 2 erased clients not restored" in result.output
    assert "Nothing changed: the rest of the file was already here." in result.output
    assert "everything in the file was already here" not in result.output
    # Their activities are skipped too, and the CLI says so.
    visits = tmp_path / "visits.csv"
    visits.write_text(ACTIVITIES)
    result = cli("import", "activities", str(visits))
    assert result.exit_code == 0, result.output
    assert f"line 2: {REF} was erased" in result.output
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM activities").scalar_one() == 1


def test_erase_asks_and_names_a_missing_client(cli, engine) -> None:  # type: ignore[no-untyped-def]
    result = cli("erase", "NOPE", "--yes")
    assert result.exit_code == 1 and "no client with id 'NOPE'" in result.output
    result = cli("erase")
    assert result.exit_code == 1 and "name one client id" in result.output
    assert "Example: keepwarm erase" in cli("erase", "--help").output


@pytest.mark.parametrize("reason", ["request"])
def test_the_secret_is_made_once(engine, reason) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.store.erasure import secret

    with writing(engine) as conn:
        first = secret(conn, NOW)
    with writing(engine) as conn:
        assert secret(conn, NOW) == first
    assert len(first) == 64 and reason == "request"


def test_an_emptied_household_goes_and_a_shared_one_stays(engine, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.store.tables import households

    _practice(engine, settings, tmp_path)
    with writing(engine) as conn:
        alone, shared = (
            conn.execute(
                sa.insert(households)
                .values(key=key, name=name, created_at=NOW)
                .returning(households.c.id)
            ).scalar_one()
            for key, name in (("quillfeather", "The Quillfeather family"), ("p", "The P family"))
        )
        for household, ref in ((alone, REF), (shared, "C1")):
            conn.execute(
                sa.text("UPDATE clients SET household_id = :h WHERE external_id = :r"),
                {"h": household, "r": ref},
            )
    erase_client(engine, REF, actor="owner@example.com", now=NOW)
    with engine.connect() as conn:
        left = set(conn.execute(sa.select(households.c.name)).scalars())
    assert left == {"The P family"}  # C1 is still in it


def test_the_erase_page_needs_the_id_typed(engine, settings, tmp_path, web) -> None:  # type: ignore[no-untyped-def]
    _practice(engine, settings, tmp_path)
    owner = web()
    page = owner.get(f"/privacy/erase?client={REF}")
    assert page.status_code == 200 and "This cannot be undone" in page.text
    wrong = owner.post("/privacy/erase", {"client": REF, "confirm": "C1"})
    assert wrong.status_code == 400 and "nothing was erased" in wrong.text
    no_token = owner.client.post("/privacy/erase", data={"client": REF, "confirm": REF})
    assert no_token.status_code == 403
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM clients").scalar_one() == 2
    done = owner.post("/privacy/erase", {"client": REF, "confirm": REF})
    assert done.status_code == 303 and done.headers["location"].startswith("/clients?msg=erased")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM clients").scalar_one() == 1


def test_the_web_import_preview_names_an_erased_client(engine, settings, tmp_path, web) -> None:  # type: ignore[no-untyped-def]
    from test_web_import import preview_of

    _practice(engine, settings, tmp_path)
    erase_client(engine, REF, actor="owner@example.com", now=NOW)
    owner = web()
    location, page = preview_of(owner, CLIENTS)
    assert page.status_code == 200
    said = f"line 2: {REF} was erased on {NOW:%-d %b %Y} at the client&#39;s request — not restored"
    assert said in page.text
    # Counted apart: C1 is the one row unchanged, the erased one is not restored.
    assert "1 unchanged" in page.text and "2 unchanged" not in page.text
    assert "1 erased client not restored" in page.text
    owner.post(location + "/confirm")
    done = owner.get(location)
    assert '<td id="unchanged">1</td>' in done.text, done.text
    assert '<td id="erased">1</td>' in done.text
    assert "everything in the file was already here" not in done.text


def test_sending_to_the_client_then_erasing_them_logs_nothing_about_them(  # type: ignore[no-untyped-def]
    engine, settings, tmp_path, caplog
) -> None:
    from keepwarm.services.consent import set_consent
    from keepwarm.services.delivery import deliver_due
    from smtp_support import running_smtp

    caplog.set_level(logging.DEBUG)
    internal = _practice(engine, settings, tmp_path)
    set_consent(engine, REF, "email", True, actor="owner@example.com", now=NOW, source="request")
    with writing(engine) as conn:
        queued = conn.execute(
            sa.insert(outbox)
            .values(
                key="test:send",
                kind="action",
                channel="email",
                client_id=internal,
                to_address="zephyrine.q@example.org",
                subject="Your frames, Zephyrine",
                body="Dear Zephyrine Quillfeather, the tortoiseshell frames are in.",
                message_id="<send@test>",
                state="queued",
                created_by="Dana",
                created_at=NOW,
                updated_at=NOW,
            )
            .returning(outbox.c.id)
        ).scalar_one()
    with running_smtp() as (host, port, handler):
        mail = settings.replace(
            smtp_url=f"smtp://{host}:{port}",
            mail_from="Northside Physio <hello@northside.example>",
            base_url="https://keepwarm.example.com",
        )
        report = deliver_due(engine, mail, now_fn=lambda: NOW)
    assert report.outcomes == {queued: "sent"} and len(handler.messages) == 1
    erase_client(engine, REF, actor="owner@example.com", now=NOW)
    # Everything logged but the test's own SMTP server (aiosmtpd's "mail.log", which logs the
    # message it receives).
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    logged = "\n".join(r.getMessage() for r in ours).lower()
    assert f"outbox {queued}" in logged  # the send was logged, by number
    assert [s for s in SECRETS if s in logged] == []
