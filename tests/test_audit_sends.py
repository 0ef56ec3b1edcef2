"""Sends on the audit log: a message queued by staff, and staff's moves on it (mark sent, send
again, cancel), one "send" entry each, about the client, written with the change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput
from keepwarm.services import audit
from keepwarm.services import outbox as svc
from keepwarm.services.users import add_user
from keepwarm.store import outbox as q
from keepwarm.store import writing
from test_outbox_queue import MAIL, _action
from test_web_today import _practice
from web_support import PASSWORD


@pytest.fixture
def mail_settings(settings: Settings) -> Settings:
    return settings.replace(**MAIL)


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    _practice(engine, settings, tmp_path)
    return engine


def _sends(engine: sa.Engine) -> list[tuple[str, str, str | None]]:
    found = audit.entries(engine, audit.AuditFilter(action="send"))
    return [(e.actor, e.details["change"], e.subject) for e in reversed(found)]


def test_queue_send_again_mark_sent_and_cancel_are_each_one_entry(practice, mail_settings) -> None:  # type: ignore[no-untyped-def]
    dana = add_user(practice, "dana@example.com", PASSWORD, "staff", staff_name="Dana", now=NOW)
    first = svc.queue_action(
        practice, mail_settings, _action(practice), "email", by=dana, day=TODAY, now=NOW
    )
    (queued,) = audit.entries(practice, audit.AuditFilter(action="send"))
    assert queued.details == {
        "change": "queued",
        "channel": "email",
        "message": first,
        "action": queued.details["action"],
    }
    assert queued.client_id is not None and queued.subject and "(C" in queued.subject
    with writing(practice) as conn:
        assert q.move(conn, first, ("queued",), NOW, state="unknown")
    svc.send_again(practice, first, by=dana, now=NOW + dt.timedelta(minutes=1))
    svc.cancel(practice, first, by=dana, now=NOW + dt.timedelta(minutes=2))
    with pytest.raises(InvalidInput):  # a refused move writes nothing
        svc.cancel(practice, first, by=dana, now=NOW + dt.timedelta(minutes=3))
    second = svc.queue_action(  # the action is back on the list: queued again from there
        practice, mail_settings, queued.details["action"], "email", by=None, day=TODAY, now=NOW
    )
    with writing(practice) as conn:
        assert q.move(conn, second, ("queued",), NOW, state="unknown")
    svc.mark_sent(practice, second, by=None, now=NOW + dt.timedelta(minutes=4))
    sends = _sends(practice)
    assert [(actor, change) for actor, change, _ in sends] == [
        ("dana@example.com", "queued"),
        ("dana@example.com", "queued again"),
        ("dana@example.com", "cancelled"),
        ("command line", "queued"),
        ("command line", "marked sent"),
    ]
    assert len({subject for _, _, subject in sends}) == 1  # the same client, named


def test_a_print_confirmation_is_one_entry_naming_no_client(engine, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.services import printing
    from test_printing import printing_practice

    printing_practice(engine, settings, tmp_path)
    made = printing.make_batch(engine, kind="letters", by=None, day=TODAY, now=NOW)
    first = made.to_print[0]
    assert printing.confirm(engine, made.id, sheets=[first.sheet], by=None, now=NOW) == 1
    assert printing.confirm(engine, made.id, by=None, now=NOW) == len(made.to_print) - 1
    entries = audit.entries(engine, audit.AuditFilter(action="print"))
    assert [(e.actor, e.client_id, e.details["confirmed"]) for e in reversed(entries)] == [
        ("command line", None, 1),
        ("command line", None, len(made.to_print) - 1),
    ]
    assert entries[0].subject == f"print batch {made.id}"
