"""`keepwarm demo`: a believable practice, built through the real import path, that never
replaces anything but an earlier demo. Database tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from conftest import NOW, TODAY, Cli, pg_schema, table_snapshot
from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput
from keepwarm.services.demo import DemoSummary, build_demo
from keepwarm.services.demo_data import generate_practice
from keepwarm.store import connect
from keepwarm.store.tables import activities, clients, staff, touches

THREE_YEARS_AGO = TODAY - dt.timedelta(days=3 * 365)


def flat(text: str) -> str:
    """The output with line wrapping undone, for checking sentences."""
    return " ".join(text.split())


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --- the generated files ----------------------------------------------------------------------


def test_the_same_seed_and_day_give_byte_identical_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = generate_practice(tmp_path / "a", seed=42, today=TODAY)
    second = generate_practice(tmp_path / "b", seed=42, today=TODAY)
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    assert set(files_of(tmp_path / "a")) == {
        "demo-clients.csv",
        "demo-activities.csv",
        "demo-touches.csv",
    }
    assert first.highlights == second.highlights


def test_a_different_seed_gives_a_different_practice(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    generate_practice(tmp_path / "a", seed=1, today=TODAY)
    generate_practice(tmp_path / "b", seed=2, today=TODAY)
    a, b = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert all(a[name] != b[name] for name in a)


# --- the built practice (one build per backend, shared by the module) --------------------------


@dataclass(frozen=True)
class Built:
    engine: sa.Engine
    summary: DemoSummary


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A URL to an empty database (no tables) on each backend, for the whole module."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('demo') / 'keepwarm-demo.db'}"
        return
    with pg_schema(request.getfixturevalue("pg_admin"), "kwdemo_") as url:
        yield url


@pytest.fixture(scope="module")
def built(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    summary = build_demo(
        Settings(database_url=demo_url),
        seed=7,
        today=TODAY,
        now=NOW,
        workdir=tmp_path_factory.mktemp("files"),
    )
    engine = connect(demo_url)
    yield Built(engine, summary)
    engine.dispose()


def rows(built: Built, query: sa.Select) -> list[sa.Row]:
    with built.engine.connect() as conn:
        return list(conn.execute(query))


def visit_days(built: Built) -> dict[str, list[dt.date]]:
    """Each client's distinct activity days, in order."""
    days: dict[str, set[dt.date]] = defaultdict(set)
    query = sa.select(clients.c.external_id, activities.c.date).join(
        clients, clients.c.id == activities.c.client_id
    )
    for client_id, day in rows(built, query):
        days[client_id].add(day)
    return {client_id: sorted(d) for client_id, d in days.items()}


def median_gaps(built: Built) -> dict[str, float]:
    return {
        client_id: statistics.median((b - a).days for a, b in itertools.pairwise(d))
        for client_id, d in visit_days(built).items()
        if len(d) >= 3
    }


def test_the_demo_imports_its_three_files_with_no_problems(built: Built) -> None:
    reports = built.summary.reports
    assert [r.kind.value for r in reports] == ["clients", "activities", "touches"]
    assert [r.filename for r in reports] == [
        "demo-clients.csv",
        "demo-activities.csv",
        "demo-touches.csv",
    ]
    for report in reports:
        assert report.ok and report.problems == () and report.rejected == 0
        assert report.ignored_columns == () and report.notes == ()
        assert report.added == report.rows > 0
        assert report.new_staff == ()  # the three staff were there before the import


def test_the_practice_has_three_staff_with_quotas_and_about_three_hundred_clients(
    built: Built,
) -> None:
    members = rows(built, sa.select(staff.c.name, staff.c.email, staff.c.weekly_quota))
    assert len(members) == 3
    assert all(email and quota > 0 for _, email, quota in members)
    owners = rows(built, sa.select(clients.c.owner_id).distinct())
    assert len({o for (o,) in owners if o is not None}) == 3
    count = rows(built, sa.select(sa.func.count()).select_from(clients))[0][0]
    assert 250 <= count <= 350
    assert built.summary.clients == count
    assert [m.name for m in built.summary.staff] == sorted(name for name, _, _ in members)
    quota = {name: q for name, _, q in members}
    assert built.summary.weekly_quotas == tuple(quota[m.name] for m in built.summary.staff)


def test_the_history_goes_back_about_three_years_and_never_into_the_future(
    built: Built,
) -> None:
    first, last = rows(
        built, sa.select(sa.func.min(activities.c.date), sa.func.max(activities.c.date))
    )[0]
    assert THREE_YEARS_AGO <= first <= THREE_YEARS_AGO + dt.timedelta(days=14)
    assert last <= TODAY
    assert built.summary.first_activity == first
    assert 3_000 <= built.summary.activities <= 30_000


def test_a_client_cancelled_a_few_weeks_ago_and_nobody_has_touched_them_since(
    built: Built,
) -> None:
    recent = rows(
        built,
        sa.select(clients.c.id, clients.c.cancelled_on).where(
            clients.c.status == "cancelled",
            clients.c.cancelled_on >= TODAY - dt.timedelta(weeks=8),
        ),
    )
    assert 1 <= len(recent) <= 2
    for internal_id, cancelled_on in recent:
        assert cancelled_on < TODAY
        later = rows(
            built,
            sa.select(touches.c.date).where(
                touches.c.client_id == internal_id, touches.c.date >= cancelled_on
            ),
        )
        assert later == []


def test_there_are_prospects_do_not_contact_clients_and_recall_dates_some_soon(
    built: Built,
) -> None:
    by_status = dict(rows(built, sa.select(clients.c.status, sa.func.count()).group_by("status")))
    assert by_status["prospect"] >= 3
    assert by_status["active"] >= 200
    dnc = rows(built, sa.select(clients.c.id).where(clients.c.do_not_contact.is_(True)))
    assert len(dnc) >= 1
    due = [d for (d,) in rows(built, sa.select(clients.c.next_due)) if d is not None]
    assert len(due) >= 50
    assert any(TODAY < d <= TODAY + dt.timedelta(days=14) for d in due)


def test_most_clients_have_birthdays_and_some_fall_in_the_coming_weeks(built: Built) -> None:
    birthdays = [b for (b,) in rows(built, sa.select(clients.c.birthday)) if b is not None]
    assert len(birthdays) >= 150
    coming = [b for b in birthdays if 0 < (b.replace(year=TODAY.year) - TODAY).days <= 21]
    assert coming


def test_clients_keep_their_own_rhythms_from_weekly_to_yearly(built: Built) -> None:
    gaps = sorted(median_gaps(built).values())
    assert gaps[0] <= 10 and gaps[-1] >= 250
    assert sum(g <= 10 for g in gaps) >= len(gaps) // 20
    assert sum(g >= 150 for g in gaps) >= len(gaps) // 20


def test_about_one_regular_in_ten_has_quietly_lapsed(built: Built) -> None:
    days = visit_days(built)
    active = {
        cid
        for (cid,) in rows(
            built, sa.select(clients.c.external_id).where(clients.c.status == "active")
        )
    }
    lapsed = [
        cid
        for cid, gap in median_gaps(built).items()
        if cid in active and gap <= 45 and (TODAY - days[cid][-1]).days >= 75
    ]
    assert 0.05 * len(days) <= len(lapsed) <= 0.2 * len(days)


def test_spend_differs_by_client_with_free_visits_and_refunds(built: Built) -> None:
    amounts = [a for (a,) in rows(built, sa.select(activities.c.amount_cents))]
    assert any(a == 0 for a in amounts)
    assert any(a < 0 for a in amounts)
    averages = rows(
        built,
        sa.select(sa.func.avg(activities.c.amount_cents)).group_by(activities.c.client_id),
    )
    assert len({round(float(a)) for (a,) in averages}) >= 50


def test_past_touches_are_personal_except_the_newsletters(built: Built) -> None:
    found = rows(built, sa.select(touches.c.channel, touches.c.personal, touches.c.staff_id))
    channels = {channel for channel, _, _ in found}
    assert {"call", "email", "sms", "card", "newsletter"} <= channels
    for channel, personal, staff_id in found:
        assert bool(personal) == (channel != "newsletter")
        assert (staff_id is None) == (channel == "newsletter")
    assert built.summary.bulk_touches > 0 and built.summary.personal_touches > 0


def test_names_with_accents_come_through_the_import(built: Built) -> None:
    names = [n for (n,) in rows(built, sa.select(clients.c.name))]
    assert any(not n.isascii() for n in names)


def test_the_clients_worth_a_look_are_in_the_database(built: Built) -> None:
    ids = {cid for (cid,) in rows(built, sa.select(clients.c.external_id))}
    highlights = built.summary.highlights
    assert len(highlights) >= 4
    assert {h.client_id for h in highlights} <= ids
    assert "Cancelled" in highlights[0].why


# --- the command, and never destroying real data ------------------------------------------------


def run_demo(db: str) -> Result:
    from keepwarm.cli import app

    env = {"COLUMNS": "200", "NO_COLOR": "1"}
    return CliRunner().invoke(app, ["demo", "--db", db], env=env, catch_exceptions=False)


def test_running_keepwarm_demo_twice_replaces_the_first_demo(tmp_path: Path) -> None:
    target = tmp_path / "keepwarm-demo.db"
    first = run_demo(str(target))
    assert first.exit_code == 0, first.output
    text = flat(first.output)
    assert "Built a demo practice" in text and "previous demo replaced" not in text
    assert "A few clients worth a look" in text
    assert f"keepwarm clients --db {target}" in text
    # The demo ends with today's list: the client who cancelled weeks ago is on it.
    assert "Today's list" in text and "cancellation: cancelled on" in text
    second = run_demo(str(target))
    assert second.exit_code == 0, second.output
    assert "previous demo replaced" in flat(second.output)
    engine = connect(f"sqlite:///{target}")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(staff)).scalar_one() == 3
    engine.dispose()


def test_the_demo_refuses_a_database_with_real_data_and_leaves_it_unchanged(
    cli: Cli, db_url: str, engine: sa.Engine, write_csv: Callable[..., Path]
) -> None:
    ours = write_csv("clients.csv", "id,name,owner\nC-1,Zoë Müller,Ava Stone\n")
    assert cli("import", "clients", str(ours)).exit_code == 0
    before = table_snapshot(engine)
    result = run_demo(db_url)
    assert result.exit_code == 1
    text = flat(result.output)
    assert "holds data imported from" in text and "--db" in text
    assert "Traceback" not in result.output
    assert table_snapshot(engine) == before


def test_the_demo_fills_an_empty_keepwarm_database(bare_cli: Cli, db_url: str) -> None:
    assert bare_cli("init").exit_code == 0
    result = run_demo(db_url)
    assert result.exit_code == 0, result.output
    assert "Built a demo practice" in result.output


def test_the_demo_refuses_a_file_that_is_not_a_database_and_leaves_it_alone(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("my own notes, not a database\n" * 100)
    result = run_demo(str(notes))
    assert result.exit_code == 1
    assert "is not a keepwarm database" in flat(result.output)
    assert notes.read_text() == "my own notes, not a database\n" * 100


def test_an_in_memory_database_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="needs a database file"):
        build_demo(
            Settings(database_url="sqlite://"), seed=1, today=TODAY, now=NOW, workdir=tmp_path
        )
    assert list(tmp_path.iterdir()) == []


def test_the_demo_has_a_family_to_make_a_household_and_a_person_entered_twice(
    built: Built,
) -> None:
    """So that the Households and Duplicates pages have something to show in the demo."""
    from keepwarm.services import duplicates, households

    (family,) = households.suggestions(built.engine)
    assert len(family.members) == 2 and "same address and last name" in family.reason
    (pair,) = duplicates.find(built.engine).pairs
    assert pair.a.phone == pair.b.phone
    initial = min((pair.a.name, pair.b.name), key=len)
    assert initial.split()[0].endswith(".")  # "D. Valentin" beside "David Valentin"
