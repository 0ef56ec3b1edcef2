"""Export one client: a ZIP of JSON and CSV with everything keepwarm holds about them, from
every table with a client_id column (a new table cannot be forgotten), written atomically and
audited. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import sqlalchemy as sa

from keepwarm.store.tables import metadata
from test_erasure import REF, _practice


def _zip(path) -> zipfile.ZipFile:  # type: ignore[no-untyped-def]
    return zipfile.ZipFile(path)


def test_every_table_about_a_client_is_exported(engine, settings, tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    internal = _practice(engine, settings, tmp_path)
    out = tmp_path / "zq.zip"
    result = cli("export", "client", REF, str(out))
    assert result.exit_code == 0, result.output
    assert f"Wrote everything about client {REF} to {out}" in result.output
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    names = set(_zip(out).namelist())
    about_clients = {
        t.name for t in metadata.sorted_tables if "client_id" in t.c or t.name == "client_merges"
    }
    missing = {t for t in about_clients if f"{t}.json" not in names or f"{t}.csv" not in names}
    assert missing == set(), "tables with a client_id column missing from the export"
    z = _zip(out)
    readme = z.read("README.txt").decode()
    for name in ("client", "activities", "touches", "outbox", "consent_events", "audit_log"):
        assert f"{name}.json / {name}.csv" in readme
    record = json.loads(z.read("client.json"))
    assert record[0]["name"] == "Zephyrine Quillfeather" and "search_text" not in record[0]
    assert record[0]["notes"] == "allergic to cats from the windmill, twice"
    visits = json.loads(z.read("activities.json"))
    assert [v["note"] for v in visits] == ["tortoiseshell varifocals"]
    assert {v["client_id"] for v in visits} == {internal}
    touches = list(csv.DictReader(io.StringIO(z.read("touches.csv").decode())))
    assert "talked perihelion" in {t["note"] for t in touches}
    sent = json.loads(z.read("outbox.json"))
    assert [m["to_address"] for m in sent] == ["zephyrine.q@example.org"]
    assert json.loads(z.read("feedback_requests.json"))[0]["comment"] == "Marvellous service"
    assert json.loads(z.read("print_items.json"))[0]["state"] == "printed"
    consent = json.loads(z.read("consent_events.json"))
    assert [(c["channel"], c["allowed"]) for c in consent] == [("email", False)]
    assert {e["action"] for e in json.loads(z.read("audit_log.json"))} >= {"consent"}
    assert json.loads(z.read("household.json")) == []
    # Nothing about the other client.
    everything = b"".join(z.read(n) for n in names)
    assert b"Other Person" not in everything and b"other@example.com" not in everything
    with engine.connect() as conn:
        entry = conn.execute(
            sa.text("SELECT actor, client_id FROM audit_log WHERE action = 'export'")
        ).one()
    assert entry.client_id == internal and entry.actor.endswith("(command line)")


def test_an_unknown_client_writes_nothing(cli, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "x.zip"
    result = cli("export", "client", "NOPE", str(out))
    assert result.exit_code == 1 and "no client with id 'NOPE'" in result.output
    assert not out.exists()
    assert "Example: keepwarm export client" in cli("export", "client", "--help").output
