"""Phones and emails an import cannot use are kept as written and flagged on the client, never
guessed at and never a reason to refuse the whole file; "n/a" and the like mean empty."""

from __future__ import annotations

import json
import re

import pytest

from conftest import table_snapshot
from test_web_api import api  # noqa: F401  (the fixture)

PEOPLE = (
    "id,name,phone,email\n"
    "C-1,Ann Lee,555-0407,ann@example.com\n"
    "C-2,Bo Chen,n/a,none\n"
    "C-3,Cy Diaz,(503) 555-0101,cy(at)example\n"
    "C-4,Di Eng,-,-\n"
    "C-5,Ed Fox,12,\n"
    "C-6,Flo Gray,503 555 0199 1234 5678,flo@example.com\n"
)


@pytest.fixture
def imported(cli, write_csv):  # type: ignore[no-untyped-def]
    result = cli("import", "clients", str(write_csv("people.csv", PEOPLE)))
    assert result.exit_code == 0, result.output
    return result


def _column(engine, column: str) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT external_id, {column} FROM clients").all()
    return dict(rows)  # type: ignore[arg-type]


def test_a_file_with_unusable_phones_and_emails_is_imported_and_says_how_many(imported) -> None:  # type: ignore[no-untyped-def]
    out = " ".join(imported.output.split())
    assert "6 added" in out
    assert "3 phones and 1 email kept as written, see `keepwarm clients --flagged`." in out


def test_a_phone_without_its_area_code_is_never_stored_as_a_number(imported, engine) -> None:  # type: ignore[no-untyped-def]
    phones = _column(engine, "phone")
    assert phones["C-1"] is None  # not "+15550407"
    assert phones["C-3"] == "+15035550101"
    assert "+15550407" not in phones.values()


def test_empty_markers_mean_empty_and_are_not_flagged(imported, engine, cli) -> None:  # type: ignore[no-untyped-def]
    assert _column(engine, "phone")["C-2"] is None
    assert _column(engine, "email")["C-4"] is None
    flagged = cli("clients", "--flagged").output
    assert "C-2" not in flagged and "C-4" not in flagged


def test_the_flagged_list_shows_each_value_as_written_and_why(imported, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("clients", "--flagged")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "phone as written: 555-0407 — not a full number" in out
    assert "email as written: cy(at)example — not an email address" in out
    assert "phone as written: 12 — not a full number" in out
    assert "503 555 0199 1234 5678 — not a phone number" in out
    assert "C-1" in out and "C-2" not in out


def test_the_client_card_shows_the_phone_as_written(imported, cli) -> None:  # type: ignore[no-untyped-def]
    text = cli("client", "C-1").output
    assert "phone as written: 555-0407 — not a full number" in text
    card = json.loads(cli("client", "C-1", "--format", "json").output)
    assert card["kept_as_written"] == [
        {"field": "phone", "written": "555-0407", "reason": "not a full number"}
    ]


def test_a_corrected_phone_takes_the_flag_away(imported, cli, write_csv) -> None:  # type: ignore[no-untyped-def]
    fixed = write_csv("fix.csv", "id,phone\nC-1,(503) 555-0407\n")
    assert cli("import", "clients", str(fixed)).exit_code == 0
    assert "C-1" not in cli("clients", "--flagged").output
    assert "as written" not in cli("client", "C-1").output


def test_a_file_without_the_phone_column_keeps_the_flags(imported, cli, write_csv) -> None:  # type: ignore[no-untyped-def]
    renamed = write_csv("rename.csv", "id,name\nC-1,Ann Lee-Park\n")
    assert cli("import", "clients", str(renamed)).exit_code == 0
    assert "555-0407" in cli("clients", "--flagged").output


def test_reimporting_the_same_file_or_its_export_changes_nothing(
    imported, cli, write_csv, engine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    before = table_snapshot(engine)
    flagged = cli("clients", "--flagged").output
    again = cli("import", "clients", str(write_csv("people.csv", PEOPLE)))
    assert "Nothing changed" in again.output
    exported = tmp_path / "export.csv"
    assert cli("export", "clients", str(exported)).exit_code == 0
    assert "555-0407" in exported.read_text(encoding="utf-8-sig")
    back = cli("import", "clients", str(exported))
    assert back.exit_code == 0 and "Nothing changed" in back.output, back.output
    assert table_snapshot(engine) == before
    assert cli("clients", "--flagged").output == flagged


def test_a_file_whose_required_column_is_missing_still_fails_whole(cli, write_csv, engine) -> None:  # type: ignore[no-untyped-def]
    before = table_snapshot(engine)
    result = cli("import", "clients", str(write_csv("p.csv", "name,phone\nAnn,555-0407\n")))
    assert result.exit_code != 0
    assert "no id column" in result.output
    assert table_snapshot(engine) == before


def test_a_phone_typed_on_a_form_is_still_refused_with_a_reason(engine) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from keepwarm.services.clients import InvalidValues, create_client

    now = dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
    with pytest.raises(InvalidValues) as caught:
        create_client(engine, {"id": "Z", "name": "Zed", "phone": "555-0407"}, now=now)
    assert "not a full number" in caught.value.errors["phone"]


def test_the_web_client_list_filters_and_the_client_page_shows_them(imported, web) -> None:  # type: ignore[no-untyped-def]
    import html

    owner = web()
    listed = owner.get("/clients?flagged=yes")
    assert listed.status_code == 200
    assert 'id="f-flagged"' in listed.text and "checked" in listed.text
    ids = set(re.findall(r'href="/clients/(C-\d)"', listed.text))
    assert ids == {"C-1", "C-3", "C-5", "C-6"}
    everyone = set(re.findall(r'href="/clients/(C-\d)"', owner.get("/clients").text))
    assert everyone == {f"C-{n}" for n in range(1, 7)}
    page = html.unescape(owner.get("/clients/C-1").text)
    assert "phone as written: 555-0407 — not a full number" in page
    assert "as written" not in html.unescape(owner.get("/clients/C-2").text)


def test_the_web_import_page_says_an_activities_file_is_one(web, engine) -> None:  # type: ignore[no-untyped-def]
    import html

    owner = web()
    visits = "client_id,date,amount\n" + "".join(f"C-1,2024-01-{d:02d},10\n" for d in range(1, 9))
    answer = owner.post(
        "/import",
        {"kind": "clients"},
        files={"file": ("visits.csv", visits.encode(), "text/csv")},
    )
    assert answer.status_code == 303, answer.text
    page = html.unescape(owner.get(answer.headers["location"]).text)
    assert "this looks like an activities file" in page
    assert "already appears" not in page  # one clear problem, not a repeated id per row


def test_a_phone_corrected_on_the_form_takes_the_flag_away_for_good(imported, engine, cli) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from keepwarm.services.clients import update_client

    now = dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
    update_client(engine, "C-1", {"notes": "called back"}, now=now)
    assert "555-0407" in cli("clients", "--flagged").output  # another field: the flag stays
    update_client(engine, "C-1", {"phone": "(503) 555-0407"}, now=now)
    assert "C-1" not in cli("clients", "--flagged").output
    update_client(engine, "C-1", {"phone": ""}, now=now)
    assert "as written" not in cli("client", "C-1").output  # emptied later: it stays gone


def test_the_api_import_report_counts_them(api, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from test_web_api import _upload

    report = _upload(api(), "clients", PEOPLE).json()
    assert report["ok"], report
    assert (report["phones_as_written"], report["emails_as_written"]) == (3, 1)
    visits = "client_id,invoice #,date\nC-1,7,2024-01-02\nC-1,7,2024-01-02\n"
    again = _upload(api("o2@example.com"), "activities", visits).json()
    assert again["ok"] and again["added"] == 1 and again["exact_repeats"] == 1
