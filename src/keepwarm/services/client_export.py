"""Everything keepwarm holds about one client, as a ZIP of JSON and CSV files with a README.

Rows are found in every table with a `client_id` column (keepwarm.store.erasure.client_tables:
the same list erasure deletes from, so a new table is exported and erased alike), plus the
merges and duplicate decisions that name the client, their household's name (not the other
members) and the audit entries about them. The export is audited ("export", with the client)
in the transaction that read the rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, or_, select

from keepwarm.domain.errors import NotFound
from keepwarm.services import audit
from keepwarm.services.erasure import client_id_of
from keepwarm.store import audit as audit_store
from keepwarm.store import erasure as erasure_store
from keepwarm.store import writing
from keepwarm.store.tables import audit_log, clients, households, metadata

# What each file holds, for the README; a table without a line here is still exported.
DESCRIPTIONS: dict[str, str] = {
    "client": "the client's record (name, contact details, address, notes, dates)",
    "household": "the name of the household the client belongs to (not the other members)",
    "activities": "visits, purchases and other activities imported from the practice's system",
    "touches": "each time the practice was in touch (call, card, email, visit...)",
    "contact_flags": "a phone or email kept as written because it could not be used",
    "rhythms": "how often the client usually comes, as keepwarm estimated it",
    "actions": "to-dos for staff about the client (why, the suggested message)",
    "reminders": "dated notes staff set about the client",
    "action_events": "each step on those to-dos and reminders (done, snoozed, dismissed...)",
    "outbox": "emails and texts written to the client, with their delivery state",
    "consent_events": "contact preferences per channel (email, text, post, phone) over time",
    "bounces": "emails to the client that came back undelivered",
    "print_items": "printed letters and labels addressed to the client",
    "campaign_members": "the campaigns the client was chosen for",
    "campaign_sends": "what each campaign wave sent the client",
    "feedback_requests": "requests for feedback after a visit, and the client's answers",
    "client_aliases": "other ids the practice's system used for the client (from merges)",
    "client_merges": "records merged into this client, with what each held",
    "duplicate_decisions": "records the owner said are a different person",
    "audit_log": "the audit log's entries about the client (who did what, when)",
}
HIDDEN_COLUMNS = {"clients": {"search_text"}}


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _rows(conn: Connection, table: Table, where: Any) -> list[dict[str, Any]]:
    hidden = HIDDEN_COLUMNS.get(table.name, set())
    columns = [c for c in table.c if c.name not in hidden]
    query = select(*columns).where(where).order_by(*table.primary_key.columns)
    return [{k: _value(v) for k, v in r._mapping.items()} for r in conn.execute(query)]


def collect(conn: Connection, internal: int) -> dict[str, list[dict[str, Any]]]:
    """Every row about the client, per file name."""
    out: dict[str, list[dict[str, Any]]] = {}
    out["client"] = _rows(conn, clients, clients.c.id == internal)
    household_id = out["client"][0]["household_id"] if out["client"] else None
    out["household"] = [
        {"name": r["name"]} for r in _rows(conn, households, households.c.id == household_id)
    ]
    for table in erasure_store.client_tables():
        out[table.name] = _rows(conn, table, table.c.client_id == internal)
    for name, columns in erasure_store.OTHER_CLIENT_COLUMNS.items():
        table = metadata.tables[name]
        out[name] = _rows(conn, table, or_(*(table.c[c] == internal for c in columns)))
    out["audit_log"] = _rows(conn, audit_log, audit_store.about(conn, internal))
    return out


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _readme(ref: str, now: dt.datetime, data: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        f"Everything keepwarm holds about client {ref}, exported {now:%d %b %Y %H:%M} UTC.",
        "",
        "Each part is written twice: NAME.json (a list of records) and NAME.csv (one row per",
        "record, the same columns). Dates are ISO 8601; times are in UTC.",
        "",
    ]
    for name, rows in data.items():
        what = DESCRIPTIONS.get(name, f"rows about the client in keepwarm's {name} table")
        lines.append(f"{name}.json / {name}.csv ({len(rows)}): {what}")
    return "\n".join(lines) + "\n"


def _zip_bytes(ref: str, now: dt.datetime, data: dict[str, list[dict[str, Any]]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.txt", _readme(ref, now, data))
        for name, rows in data.items():
            z.writestr(f"{name}.json", json.dumps(rows, ensure_ascii=False, indent=2))
            z.writestr(f"{name}.csv", _csv(rows))
    return buffer.getvalue()


def client_zip(engine: Engine, ref: str, *, actor: str, now: dt.datetime) -> bytes:
    """The ZIP of everything about the client with business id `ref`; the export is audited."""
    with writing(engine) as conn:
        internal = client_id_of(conn, ref)
        if internal is None:
            raise NotFound(f"no client with id {ref!r}")
        data = collect(conn, internal)
        audit.record(
            conn,
            actor=actor,
            action="export",
            now=now,
            client_id=internal,
            subject=audit.client_subject(conn, internal),
            details={"what": "everything about the client (ZIP)"},
        )
        return _zip_bytes(ref, now, data)


def export_client(engine: Engine, ref: str, path: Path, *, actor: str, now: dt.datetime) -> int:
    """Write the client's ZIP to `path` atomically (a temporary file beside it, renamed);
    returns its size in bytes."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise NotFound(f"folder {folder} does not exist")
    content = client_zip(engine, ref, actor=actor, now=now)
    handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return len(content)
