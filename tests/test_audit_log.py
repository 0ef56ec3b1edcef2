"""The audit log's core: entries written in the change's transaction, found by filters,
append-only in the database itself (triggers refuse DELETE and any UPDATE but redaction), and
redaction keeping the fact while removing the client's personal data."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from conftest import NOW
from keepwarm.domain.errors import InvalidInput
from keepwarm.services import audit
from keepwarm.services.consent import set_consent
from keepwarm.store import audit as store
from keepwarm.store import writing
from keepwarm.store.tables import audit_log, clients


def _client(engine: sa.Engine, ref: str = "C1", name: str = "Kim Morris") -> int:
    with writing(engine) as conn:
        row = conn.execute(
            sa.insert(clients)
            .values(external_id=ref, name=name, created_at=NOW, updated_at=NOW)
            .returning(clients.c.id)
        ).one()
        return int(row.id)


def test_entries_are_found_by_action_actor_client_and_time(engine: sa.Engine) -> None:
    kim, ada = _client(engine), _client(engine, "C2", "Ada Lovelace")
    later = NOW + dt.timedelta(hours=2)
    with writing(engine) as conn:
        audit.record(conn, actor="owner@example.com", action="sign-in", now=NOW)
        audit.record(conn, actor="owner@example.com", action="export", now=later, client_id=kim)
        audit.record(conn, actor="sam@example.com", action="export", now=later, client_id=ada)
    everything = audit.entries(engine)
    assert [e.action for e in everything] == ["export", "export", "sign-in"]  # newest first
    exports = audit.entries(engine, audit.AuditFilter(action="export"))
    assert {e.client_id for e in exports} == {kim, ada}
    by_sam = audit.entries(engine, audit.AuditFilter(actor="sam@example.com"))
    assert [e.client_id for e in by_sam] == [ada]
    assert [e.action for e in audit.entries(engine, audit.AuditFilter(until=later))] == ["sign-in"]
    assert [e.client_id for e in audit.entries(engine, audit.AuditFilter(client_id=kim))] == [kim]
    with pytest.raises(InvalidInput, match="audit action"), writing(engine) as conn:
        audit.record(conn, actor="x", action="teleport", now=NOW)


def test_a_consent_change_is_on_the_log_with_the_client_named(engine: sa.Engine) -> None:
    kim = _client(engine)
    set_consent(engine, "C1", "email", False, actor="owner@example.com", now=NOW, note="asked")
    (entry,) = audit.entries(engine, audit.AuditFilter(action="consent"))
    assert (entry.client_id, entry.actor, entry.subject) == (
        kim,
        "owner@example.com",
        "Kim Morris (C1)",
    )
    assert entry.details["channel"] == "email" and entry.details["allowed"] is False


def test_the_log_refuses_deletes_and_changes_other_than_redaction(engine: sa.Engine) -> None:
    kim = _client(engine)
    with writing(engine) as conn:
        audit.record(
            conn,
            actor="owner@example.com",
            action="client-edit",
            now=NOW,
            client_id=kim,
            subject="Kim Morris (C1)",
            details={"email": ["kim@old.example", "kim@new.example"]},
        )
    for change in (
        sa.delete(audit_log),
        sa.update(audit_log).values(actor="someone else"),
        sa.update(audit_log).values(redacted_at=NOW, action="sign-in"),
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(change)
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE audit_log")

    with writing(engine) as conn:
        assert store.redact(conn, kim, NOW) == 1
    (entry,) = audit.entries(engine)
    assert (entry.action, entry.actor, entry.client_id, entry.at) == (
        "client-edit",
        "owner@example.com",
        kim,
        NOW,
    )
    assert entry.subject == store.REDACTED and entry.details == {}
    assert entry.redacted_at == NOW
    # once redacted, an entry cannot be changed again either
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.update(audit_log).values(subject="Kim Morris"))


def test_a_new_client_given_an_erased_client_s_internal_id_does_not_inherit_their_entries(
    engine: sa.Engine,
) -> None:
    """SQLite gives the newest client's internal id, once that client is gone, to the next new
    one: the entries about the first stay theirs (redacted), never the newcomer's."""
    from keepwarm.services.erasure import erase_client

    _client(engine, "C1", "Ada Lovelace")
    kim = _client(engine, "C2")
    set_consent(engine, "C2", "email", False, actor="owner@example.com", now=NOW)
    erase_client(engine, "C2", actor="owner@example.com", now=NOW + dt.timedelta(minutes=1))
    later = NOW + dt.timedelta(hours=1)
    with writing(engine) as conn:
        row = conn.execute(
            sa.insert(clients)
            .values(external_id="C3", name="Grace Hopper", created_at=later, updated_at=later)
            .returning(clients.c.id)
        ).one()
        grace = int(row.id)
    if engine.dialect.name == "sqlite":
        assert grace == kim  # the reuse this guards against
    set_consent(engine, "C3", "sms", True, actor="owner@example.com", now=later)
    hers = audit.entries(engine, audit.AuditFilter(client_id=grace))
    assert [(e.action, e.subject) for e in hers] == [("consent", "Grace Hopper (C3)")]
    # and erasing her redacts only her entries, not the earlier (already redacted) ones again
    erase_client(engine, "C3", actor="owner@example.com", now=later + dt.timedelta(minutes=1))
    assert all("Grace" not in (e.subject or "") for e in audit.entries(engine))


def test_a_merged_client_s_entries_are_the_kept_client_s_and_go_with_their_erasure(
    engine: sa.Engine,
) -> None:
    from keepwarm.services.client_merge import merge_clients
    from keepwarm.services.erasure import erase_client

    kim = _client(engine, "C1", "Kimberly Morris")
    other = _client(engine, "C2", "Kim Morris")
    set_consent(engine, "C2", "email", False, actor="owner@example.com", now=NOW)
    merged_at = NOW + dt.timedelta(minutes=5)
    merge_clients(engine, "C1", "C2", by="owner@example.com", now=merged_at)
    theirs = audit.entries(engine, audit.AuditFilter(client_id=kim))
    assert {e.client_id for e in theirs} == {kim, other}
    assert "Kim Morris (C2)" in {e.subject for e in theirs}

    erase_client(engine, "C1", actor="owner@example.com", now=merged_at + dt.timedelta(hours=1))
    subjects = " ".join(e.subject or "" for e in audit.entries(engine))
    details = " ".join(str(e.details) for e in audit.entries(engine))
    assert "Morris" not in subjects and "Morris" not in details
