"""Consent from a clients file: email_consent, sms_consent, post_consent, phone_consent (yes or
no) become consent events with source "import" only where the file differs from the client's
current state (re-importing appends nothing), with a "consent" audit entry each; an import's
yes never undoes the client's own refusal or a bounce; a value that is not yes or no is a
problem naming the line and column, and nothing is imported. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.domain.model import ImportKind
from keepwarm.services.consent import refusal, set_consent
from keepwarm.services.importing import import_file
from keepwarm.store import reading
from keepwarm.store.queries import client_internal_id

FILE = (
    "id,name,email,phone,Email Consent,SMS_consent,post_consent\n"
    "A1,Ann,ann@example.com,+15035550101,yes,yes,\n"
    "B1,Ben,ben@example.com,+15035550102,no,no,no\n"
    "C1,Cat,cat@example.com,+15035550103,,,\n"
)


def _events(engine: sa.Engine) -> list[tuple[str, str, bool, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT c.external_id, e.channel, e.allowed, e.source FROM consent_events e"
                " JOIN clients c ON c.id = e.client_id ORDER BY e.id"
            )
        )
        return [(r[0], r[1], bool(r[2]), r[3]) for r in rows]


def _import(engine, settings, path):  # type: ignore[no-untyped-def]
    return import_file(engine, settings, ImportKind.CLIENTS, path, today=TODAY, now=NOW)


def test_only_differences_become_events_once(engine, settings, write_csv) -> None:  # type: ignore[no-untyped-def]
    path = write_csv("clients.csv", FILE)
    report = _import(engine, settings, path)
    assert report.ok and report.added == 3
    assert report.ignored_columns == ()  # the consent columns are read
    # Email and post are allowed with no event, texts are not: only changes are written.
    assert _events(engine) == [
        ("A1", "sms", True, "import"),
        ("B1", "email", False, "import"),
        ("B1", "post", False, "import"),
    ]
    with reading(engine) as conn:
        a1, b1 = client_internal_id(conn, "A1"), client_internal_id(conn, "B1")
        assert a1 is not None and b1 is not None
        assert refusal(conn, a1, "sms") is None
        assert "refused in the imported file" in (refusal(conn, b1, "email") or "")
        audited = conn.execute(
            sa.text("SELECT client_id, subject, details FROM audit_log WHERE action = 'consent'")
        ).all()
    assert len(audited) == 3
    assert (a1, "Ann (A1)", '{"channel": "sms", "allowed": true, "source": "import"}') in [
        tuple(r) for r in audited
    ]
    # The same file again: nothing appended.
    assert _import(engine, settings, path).ok
    assert len(_events(engine)) == 3
    # B1 now agrees to email: one event.
    again = write_csv(
        "again.csv",
        FILE.replace("Ben,ben@example.com,+15035550102,no", "Ben,ben@example.com,+15035550102,yes"),
    )
    assert _import(engine, settings, again).ok
    assert _events(engine)[-1] == ("B1", "email", True, "import")
    assert len(_events(engine)) == 4


def test_a_yes_does_not_undo_the_clients_own_refusal(engine, settings, write_csv) -> None:  # type: ignore[no-untyped-def]
    assert _import(engine, settings, write_csv("first.csv", FILE)).ok
    set_consent(engine, "A1", "sms", False, actor="A1", now=NOW, source="unsubscribe")
    before = _events(engine)
    assert _import(engine, settings, write_csv("again.csv", FILE)).ok
    assert _events(engine) == before  # the file still says yes: the unsubscribe stands


def test_a_bad_value_is_a_problem_and_nothing_is_imported(engine, settings, write_csv) -> None:  # type: ignore[no-untyped-def]
    bad = write_csv("bad.csv", FILE.replace("no,no,no", "no,maybe,no"))
    report = _import(engine, settings, bad)
    assert not report.ok
    [problem] = report.problems
    assert problem.line == 3 and problem.field == "SMS_consent"
    assert "'maybe' is not yes or no" in problem.reason
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM clients").scalar_one() == 0
    assert _events(engine) == []
