"""Retention by member of staff, against a hand-worked example; the CLI's JSON and CSV say the
same numbers as the service (the web page and its CSV are checked in test_retention_web)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import sqlalchemy as sa

from conftest import NOW
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services import retention as svc
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.store import writing
from keepwarm.store.tables import feedback_requests, touches

START, END = dt.date(2026, 1, 1), dt.date(2026, 3, 31)
IMPORTED = dt.date(2026, 4, 30)


def plant(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    """Dana (quota 1) owns A (visits Jun 2025 and Feb 2026), B (Dec 2025 only) and C (Jun 2024,
    then back on 1 Mar 2026 after Dana's touch on 10 Feb); Sam (quota 1) owns D (Oct 2025 and
    Mar 2026; Sam touched D on 10 Jan, not lapsed then). Dana's touches: C 10 Feb, A 11 Feb
    (one week), B 3 Mar: two weeks of twelve met; Sam's: one. Dana's answers in the period:
    10, 9, 3 (NPS 33.3); a 0 in April does not count."""
    joined = dt.date(2025, 1, 1)
    dana = add_staff(engine, "Dana", email=None, weekly_quota=1, joined_on=joined, now=NOW)
    sam = add_staff(engine, "Sam", email=None, weekly_quota=1, joined_on=joined, now=NOW)
    people = ["id,name,owner", "A,Ann,Dana", "B,Bob,Dana", "C,Cat,Dana", "D,Dan,Sam"]
    visits = [
        "client_id,date,amount,kind",
        "A,2025-06-01,10.00,visit",
        "A,2026-02-01,10.00,visit",
        "B,2025-12-01,10.00,visit",
        "C,2024-06-01,10.00,visit",
        "C,2026-03-01,10.00,visit",
        "D,2025-10-01,10.00,visit",
        "D,2026-03-15,10.00,visit",
    ]
    for kind, lines in ((ImportKind.CLIENTS, people), (ImportKind.ACTIVITIES, visits)):
        path = folder / f"{kind.value}.csv"
        path.write_text("\n".join(lines) + "\n")
        assert import_file(engine, settings, kind, path, today=IMPORTED, now=NOW).ok
    with writing(engine) as conn:
        ids = dict(conn.execute(sa.text("SELECT external_id, id FROM clients")).all())
        for n, (ref, who, day) in enumerate(
            [
                ("C", dana, "2026-02-10"),
                ("A", dana, "2026-02-11"),
                ("B", dana, "2026-03-03"),
                ("D", sam, "2026-01-10"),
            ]
        ):
            conn.execute(
                sa.insert(touches).values(
                    client_id=ids[ref],
                    key=f"t{n}",
                    date=dt.date.fromisoformat(day),
                    channel="call",
                    staff_id=who.id,
                    personal=True,
                    created_at=NOW,
                )
            )
        for n, (score, day) in enumerate(
            [(10, "2026-01-20"), (9, "2026-02-20"), (3, "2026-03-20"), (0, "2026-04-05")]
        ):
            at = dt.datetime.fromisoformat(day + "T10:00:00+00:00")
            conn.execute(
                sa.insert(feedback_requests).values(
                    client_id=ids["A"],
                    staff_id=dana.id,
                    visit_date=dt.date(2026, 1, 2) + dt.timedelta(days=n),  # one request a visit
                    channel="email",
                    token_hash=f"{n:064d}",
                    created_at=at,
                    expires_at=at + dt.timedelta(days=30),
                    answered_at=at,
                    score=score,
                )
            )


EXPECTED = {
    "Dana": {
        "active_at_start": 2,
        "still_active": 1,
        "retention_pct": 50.0,
        "won_back": 1,
        "quota_weeks_met": 2,
        "quota_weeks": 12,
        "nps": 33,
        "nps_answers": 3,
    },
    "Sam": {
        "active_at_start": 1,
        "still_active": 1,
        "retention_pct": 100.0,
        "won_back": 0,
        "quota_weeks_met": 1,
        "quota_weeks": 12,
        "nps": None,
        "nps_answers": 0,
    },
}


def test_retention_matches_the_hand_worked_example(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    plant(engine, settings, tmp_path)
    found = svc.retention(engine, START, END)
    got = {r.staff: {k: v for k, v in r.__dict__.items() if k != "staff"} for r in found.rows}
    assert got == EXPECTED
    only = svc.retention(engine, START, END, staff_name="Sam")
    assert [r.staff for r in only.rows] == ["Sam"]


def test_nps_is_the_share_of_promoters_minus_the_share_of_detractors() -> None:
    assert svc.nps([10, 9, 8, 6]) == 25
    assert svc.nps([10, 9, 8]) == 67  # rounded as the Feedback report rounds
    assert svc.nps([]) is None


def test_the_cli_json_and_csv_say_the_service_numbers(
    cli, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    plant(engine, settings, tmp_path)
    args = ("report", "retention", "--from", START.isoformat(), "--to", END.isoformat())
    out = cli(*args, "--format", "json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["from"] == "2026-01-01" and data["to"] == "2026-03-31"
    rows = {r["staff"]: r for r in data["staff"]}
    for name, numbers in EXPECTED.items():
        assert {k: rows[name][k] for k in numbers} == numbers
    table = cli(*args, "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(table.output)))
    assert [r["staff"] for r in parsed] == ["Dana", "Sam"]
    assert parsed[0]["retention_pct"] == "50.0" and parsed[1]["nps"] == ""
    assert cli(*args).exit_code == 0
    bad = cli("report", "retention", "--from", "2026-05-01", "--to", "2026-01-01")
    assert bad.exit_code == 1 and "ends before it starts" in bad.output


def test_the_reports_page_its_csv_and_the_cli_json_agree(  # type: ignore[no-untyped-def]
    web, cli, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    plant(engine, settings, tmp_path)
    period = f"from={START.isoformat()}&to={END.isoformat()}"
    owner = web()
    page = owner.get(f"/reports?{period}").text
    assert 'id="retention-chart"' in page
    section = page.split('id="retention"')[1]
    assert "<script" not in section  # the chart is SVG drawn on the server (CSP)
    shown = {}
    for name in ("Dana", "Sam"):
        row = section.split(f'<tr data-staff="{name}">')[1].split("</tr>")[0]
        cells = dict(
            (part.split('"')[0], part.split(">", 1)[1].split("<")[0])
            for part in row.split('data-col="')[1:]
        )
        shown[name] = cells
    download = owner.get(f"/reports/retention.csv?{period}")
    assert download.headers["content-type"].startswith("text/csv")
    from_csv = {r["staff"]: r for r in csv.DictReader(io.StringIO(download.text))}
    args = ("report", "retention", "--from", START.isoformat(), "--to", END.isoformat())
    from_cli = {r["staff"]: r for r in json.loads(cli(*args, "--format", "json").output)["staff"]}
    for name, numbers in EXPECTED.items():
        page_row, csv_row, cli_row = shown[name], from_csv[name], from_cli[name]
        for key in ("active_at_start", "still_active", "won_back"):
            assert int(page_row[key]) == int(csv_row[key]) == cli_row[key] == numbers[key]
        pct = numbers["retention_pct"]
        assert (
            page_row["retention_pct"] == f"{pct:.1f}%" and csv_row["retention_pct"] == f"{pct:.1f}"
        )
        quota = f"{numbers['quota_weeks_met']}/{numbers['quota_weeks']}"
        assert page_row["quota"] == quota
        assert f"{csv_row['quota_weeks_met']}/{csv_row['quota_weeks']}" == quota
        nps = numbers["nps"]
        assert page_row["nps"].startswith(f"{nps} (" if nps is not None else "—")
        assert csv_row["nps"] == ("" if nps is None else str(nps))
        assert cli_row["nps"] == nps
    # staff see their own row only, on the page and in the CSV
    sam = web("sam@example.com", role="staff", staff="Sam")
    mine = sam.get(f"/reports/retention.csv?{period}").text
    assert [r["staff"] for r in csv.DictReader(io.StringIO(mine))] == ["Sam"]
    assert 'data-staff="Dana"' not in sam.get(f"/reports?{period}").text.split('id="retention"')[1]
