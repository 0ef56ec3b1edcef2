"""Consent honoured where keepwarm contacts clients: Today's list suggests no channel the
client refused and leaves out who refused them all; the morning email does not list them; a
letter whose client refused post after the batch was made is not confirmed printed (no touch).
On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.consent import set_consent
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.printing import confirm
from keepwarm.services.staff import add_staff
from keepwarm.services.users import add_user
from keepwarm.store import writing
from keepwarm.store.tables import print_batches, print_items
from web_support import PASSWORD


def _practice(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    add_staff(engine, "Dana", email=None, weekly_quota=10, now=NOW)
    rows = ["id,name,owner,email,phone,address"]
    visits = ["client_id,date,amount,kind"]
    for i in range(4):
        rows.append(f"C{i},Client {i},Dana,c{i}@example.com,+1503555010{i},{i} Main St")
        for month in (1, 3, 5):
            visits.append(f"C{i},2025-0{month}-0{i + 1},50.00,visit")
    for kind, lines in ((ImportKind.CLIENTS, rows), (ImportKind.ACTIVITIES, visits)):
        path = folder / f"{kind.value}.csv"
        path.write_text("\n".join(lines) + "\n")
        assert import_file(engine, settings, kind, path, today=TODAY, now=NOW).ok


def _channels(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT c.external_id, a.channel FROM actions a JOIN clients c"
                " ON c.id = a.client_id WHERE a.status IN ('open', 'waiting')"
            )
        )
        return dict(rows.all())


def test_todays_list_and_the_morning_email_honour_refusals(engine, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _practice(engine, settings, tmp_path)
    for channel in ("phone", "email", "post"):
        set_consent(engine, "C1", channel, False, actor="C1", now=NOW, source="request")
    set_consent(engine, "C2", "phone", False, actor="C2", now=NOW, source="request")
    add_user(engine, "dana@example.com", PASSWORD, "staff", staff_name="Dana", now=NOW)
    with writing(engine) as conn:  # Dana's morning email
        conn.execute(sa.text("UPDATE users SET morning_email = TRUE"))
    mail = settings.replace(  # queued only, never sent here
        smtp_url="smtp://127.0.0.1:2525",
        mail_from="Northside Physio <hello@northside.example>",
        base_url="https://keepwarm.example.com",
    )
    run_daily(engine, mail, day=TODAY, now=NOW)
    planned = _channels(engine)
    assert "C1" not in planned  # refused every channel: on no list
    assert planned["C0"] == "call"  # the same reasons, nothing refused: a call
    assert planned["C2"] not in ("call", "sms")  # refused calls: another channel
    with engine.connect() as conn:
        bodies = list(
            conn.execute(sa.text("SELECT body FROM outbox WHERE kind = 'morning'")).scalars()
        )
    assert len(bodies) == 1 and "Client 0" in bodies[0] and "Client 1" not in bodies[0]


def test_a_letter_whose_client_refused_post_since_is_not_confirmed(
    engine, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _practice(engine, settings, tmp_path)
    with writing(engine) as conn:
        ids = dict(conn.execute(sa.text("SELECT external_id, id FROM clients")).all())
        batch = conn.execute(
            sa.insert(print_batches)
            .values(kind="letters", created_by="Dana", created_at=NOW)
            .returning(print_batches.c.id)
        ).scalar_one()
        for n, ref in enumerate(("C0", "C3")):
            conn.execute(
                sa.insert(print_items).values(
                    batch_id=batch,
                    client_id=ids[ref],
                    sheet=n + 1,
                    position=1,
                    address=f"Client {ref}\n1 Main St",
                    body="Dear client",
                )
            )
    set_consent(engine, "C3", "post", False, actor="C3", now=NOW, source="request")
    assert confirm(engine, batch, by=None, now=NOW) == 1
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                sa.text(
                    "SELECT c.external_id, i.state FROM print_items i"
                    " JOIN clients c ON c.id = i.client_id"
                )
            ).all()
        )
        touched = set(
            conn.execute(
                sa.text("SELECT c.external_id FROM touches t JOIN clients c ON c.id = t.client_id")
            ).scalars()
        )
    assert states == {"C0": "printed", "C3": "skipped"}
    assert touched == {"C0"}


def test_a_queued_email_is_not_sent_once_the_client_refused(engine, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.services.delivery import deliver_due
    from keepwarm.store.tables import outbox
    from smtp_support import running_smtp

    _practice(engine, settings, tmp_path)
    with writing(engine) as conn:
        c0 = conn.execute(sa.text("SELECT id FROM clients WHERE external_id = 'C0'")).scalar_one()
        queued = conn.execute(
            sa.insert(outbox)
            .values(
                key="test:c0",
                kind="action",
                channel="email",
                client_id=c0,
                to_address="c0@example.com",
                subject="Hello",
                body="Hello",
                message_id="<c0@test>",
                state="queued",
                created_by="Dana",
                created_at=NOW,
                updated_at=NOW,
            )
            .returning(outbox.c.id)
        ).scalar_one()
    set_consent(engine, "C0", "email", False, actor="C0", now=NOW, source="unsubscribe")
    with running_smtp() as (host, port, handler):
        mail = settings.replace(
            smtp_url=f"smtp://{host}:{port}",
            mail_from="Northside Physio <hello@northside.example>",
            base_url="https://keepwarm.example.com",
        )
        report = deliver_due(engine, mail, now_fn=lambda: NOW)
    assert handler.messages == [] and report.outcomes.get(queued) != "sent"
    with engine.connect() as conn:
        state = conn.execute(sa.select(outbox.c.state).where(outbox.c.id == queued)).scalar_one()
    assert state != "sent"
