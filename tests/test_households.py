"""Households: imported from a household column, suggested (same address and last name, or
same landline), accepted or rejected, set on a client; one holiday card and one label per
household, addressed to it, while each member's own cards stay personal. Both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services import campaigns, printing
from keepwarm.services import households as svc
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.store.tables import (
    actions,
    audit_log,
    campaign_sends,
    clients,
    household_decisions,
    households,
    print_items,
)

# The Morrises are one household (written two ways); Cy is away at college, still one of
# them. Sol lives alone.
CLIENTS = (
    "id,name,last_name,address,household\n"
    'M1,Ann Morris,Morris,"3 Oak Lane, Salem OR 97301",Morris\n'
    'M2,Bob Morris,Morris,"3 Oak Lane, Salem OR 97301",morris\n'
    'M3,Cy Morris,Morris,"9 College Road, Eugene OR 97401",MORRIS\n'
    'S1,Sol Lee,Lee,"5 Pine Road, Eugene OR 97401",\n'
)


def _import(engine: sa.Engine, settings: Settings, folder: Path, kind: ImportKind, text: str):  # type: ignore[no-untyped-def]
    path = folder / f"{kind.value}.csv"
    path.write_text(text, encoding="utf-8")
    report = import_file(engine, settings, kind, path, today=TODAY, now=NOW)
    assert report.ok, report
    return report


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    add_staff(engine, "Dana Reyes", email=None, daily_capacity=10, now=NOW)
    _import(engine, settings, tmp_path, ImportKind.CLIENTS, CLIENTS)
    visits = "client_id,date,amount,kind\n" + "".join(
        f"{ref},2025-01-0{i + 1},50.00,visit\n" for i, ref in enumerate(("M1", "M2", "M3", "S1"))
    )
    _import(engine, settings, tmp_path, ImportKind.ACTIVITIES, visits)
    return engine


def _homes(engine: sa.Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(clients.c.external_id, households.c.name).outerjoin(
                households, households.c.id == clients.c.household_id
            )
        ).all()
    return {ref: name for ref, name in rows}


def test_the_import_makes_the_household_once_and_sets_each_member(  # type: ignore[no-untyped-def]
    practice, settings, tmp_path, cli
) -> None:
    assert _homes(practice) == {"M1": "Morris", "M2": "Morris", "M3": "Morris", "S1": None}
    with practice.connect() as conn:
        assert conn.execute(sa.select(households.c.key, households.c.name)).all() == [
            ("morris", "Morris")
        ]
    again = _import(practice, settings, tmp_path, ImportKind.CLIENTS, CLIENTS)
    assert (again.added, again.updated) == (0, 0)
    # The export writes the household's name, and importing it back changes nothing.
    out = tmp_path / "out.csv"
    assert cli("export", "clients", str(out)).exit_code == 0
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].split(",")[-1] == "household"
    assert sum(line.endswith(",Morris") for line in lines) == 3
    result = cli("import", "clients", str(out))
    assert result.exit_code == 0 and "Nothing changed" in result.output, result.output
    # An empty cell in a present column clears the value, as for every other field.
    text = CLIENTS.replace('97401",MORRIS', '97401",')
    _import(practice, settings, tmp_path, ImportKind.CLIENTS, text)
    assert _homes(practice)["M3"] is None
    # A new name makes a new household.
    _import(practice, settings, tmp_path, ImportKind.CLIENTS, "id,family\nS1,Lee & Co\n")
    assert _homes(practice)["S1"] == "Lee & Co"


SUGGEST = (
    "id,name,last_name,address,phone\n"
    'A1,Ann Müller,Müller,"12 Élm St.",\n'
    'A2,Bo Muller,,"12 elm st",\n'
    'A3,Cy Stone,Stone,"12 Elm St",\n'  # same address, another last name
    "L1,Dee Park,,1 Oak Road,+44 20 7946 0958\n"  # a London landline
    "L2,Eve Hart,,2 Oak Road,+44 20 7946 0958\n"
    "P1,Fay Ng,,3 Ash Road,+44 7911 123456\n"  # a mobile: never a household's
    "P2,Gus Ng,,4 Ash Road,+44 7911 123456\n"
)


def _audit(engine: sa.Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log.c.details, audit_log.c.client_id)
            .where(audit_log.c.action == "household")
            .order_by(audit_log.c.id)
        ).all()
    return [(json.loads(d).get("suggestion") or "set", c) for d, c in rows]


def test_suggestions_come_from_address_and_last_name_or_a_landline_and_are_decided_once(  # type: ignore[no-untyped-def]
    engine, settings, tmp_path, cli
) -> None:
    _import(engine, settings, tmp_path, ImportKind.CLIENTS, SUGGEST + "")
    found = svc.suggestions(engine)
    by_members = {tuple(m.external_id for m in s.members): s for s in found}
    assert set(by_members) == {("A1", "A2"), ("L1", "L2")}
    mullers = by_members[("A1", "A2")]
    assert mullers.reason == "same address and last name: 12 Élm St., Müller"
    assert mullers.name == "The Müller family"
    assert by_members[("L1", "L2")].reason == "same landline: +442079460958"
    result = cli("households", "suggest", "--format", "json")
    assert result.exit_code == 0
    assert {s["key"] for s in json.loads(result.output)} == {s.key for s in found}

    view = svc.accept(engine, mullers.key, by=None, now=NOW)
    assert view.household.name == "The Müller family"
    assert [m.external_id for m in view.members] == ["A1", "A2"]
    # A name another household has is refused, naming the field; nothing changes.
    landline = by_members[("L1", "L2")].key
    result = cli("households", "accept", landline, "--name", "the muller FAMILY")
    assert result.exit_code == 1 and "name: a household called 'The Müller family'" in result.output
    result = cli("households", "reject", landline)
    assert result.exit_code == 0, result.output
    assert svc.suggestions(engine) == []  # accepted ones are together, rejected ones never again
    with engine.connect() as conn:
        decisions = conn.execute(
            sa.select(household_decisions.c.decision).order_by(household_decisions.c.id)
        ).scalars()
        assert list(decisions) == ["accepted", "rejected"]
    # One audit entry per member client, for each decision.
    assert [d for d, _ in _audit(engine)] == ["accepted"] * 2 + ["rejected"] * 2
    assert len({c for _, c in _audit(engine)}) == 4
    result = cli("households", "accept", "nope")
    assert result.exit_code == 1 and "no household suggestion 'nope'" in result.output


def test_a_client_is_put_in_a_household_and_taken_out_from_the_cli(practice, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("household", "S1", "morris")
    assert result.exit_code == 0, result.output
    assert "Sol Lee is in 'Morris'" in result.output
    assert _homes(practice)["S1"] == "Morris"
    assert cli("household", "S1", "--none").exit_code == 0
    assert _homes(practice)["S1"] is None
    assert [d for d, _ in _audit(practice)] == ["set", "set"]
    assert cli("household", "S1").exit_code != 0  # a name or --none
    assert cli("household", "NOPE", "x").exit_code == 1
    listed = cli("households", "list", "--format", "json")
    [morris] = json.loads(listed.output)
    assert morris["addressee"] == "The Morris family"
    assert [m["id"] for m in morris["members"]] == ["M1", "M2", "M3"]


def test_addressing_a_household() -> None:
    assert svc.addressee("Morris") == "The Morris family"
    assert svc.addressee("  Smith-Jones ") == "The Smith-Jones family"
    assert svc.addressee("The Morris family") == "The Morris family"
    assert svc.addressee("Acme Dental Ltd") == "Acme Dental Ltd"


def _sends(engine: sa.Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(clients.c.external_id, campaign_sends.c.skipped_reason).join(
                clients, clients.c.id == campaign_sends.c.client_id
            )
        ).all()
    return {ref: why for ref, why in rows}


def test_one_holiday_card_and_one_label_per_household_addressed_to_it(  # type: ignore[no-untyped-def]
    practice, settings
) -> None:
    start = campaigns.from_starting_point("holiday-cards", today=TODAY)
    start["holdout_share"] = 0.0
    campaigns.create(practice, "cards", waves=[TODAY], by=None, now=NOW, **start)
    preview = campaigns.preview(practice, settings, "cards", today=TODAY)
    report = campaigns.send_wave(practice, settings, "cards", day=TODAY, now=NOW, by=None)
    with practice.connect() as conn:
        items = list(conn.execute(sa.select(print_items).order_by(print_items.c.id)))
    # The preview said beforehand what the wave then did: 2 cards, 2 sharing the Morrises'.
    assert (preview.pieces, preview.shared) == (report.letters, {"one per household": 2})
    assert preview.as_json()["pieces"] == 2
    # Three Morrises (two addresses) get one card; Sol, in no household, gets his own.
    assert report.letters == len(items) == 2
    blocks = sorted(i.address.splitlines()[0] for i in items)
    assert blocks == ["Sol Lee", "The Morris family"]
    morris = next(i for i in items if i.address.startswith("The Morris family"))
    assert morris.body.startswith("Dear Morris family,")
    sol = next(i for i in items if i.address.startswith("Sol Lee"))
    assert sol.body.startswith("Dear Sol,")
    why = "one per household: The Morris family gets it"
    assert report.skipped == {why: 2}
    sends = _sends(practice)
    assert sorted(ref for ref, reason in sends.items() if reason == why) == ["M2", "M3"]
    assert sends["M1"] is None and sends["S1"] is None
    # One label per household, named for it.
    labels = printing.make_batch(practice, kind="labels", by=None, day=TODAY, now=NOW)
    assert sorted(i.address.splitlines()[0] for i in labels.items) == [
        "Sol Lee",
        "The Morris family",
    ]


def test_a_members_own_card_from_the_today_list_stays_personal(  # type: ignore[no-untyped-def]
    practice, settings
) -> None:
    run_daily(practice, settings, day=TODAY, now=NOW)
    with practice.begin() as conn:
        conn.execute(sa.update(actions).values(channel="card"))
    made = printing.make_batch(practice, kind="letters", by=None, day=TODAY, now=NOW)
    names = sorted(i.address.splitlines()[0] for i in made.to_print)
    assert "Ann Morris" in names and "Bob Morris" in names  # each their own, not the family's
    assert "The Morris family" not in names
    labels = printing.make_batch(practice, kind="labels", by=None, day=TODAY, now=NOW)
    # Ann and Bob share a home: one label, as before households (their personal letters).
    assert "The Morris household" in [i.address.splitlines()[0] for i in labels.items]


def test_a_held_out_member_stays_held_out_and_another_member_gets_the_households_card(  # type: ignore[no-untyped-def]
    practice, settings
) -> None:
    refs = ["M1", "M2", "M3", "S1"]
    name = next(
        n
        for n in (f"cards-{i}" for i in range(500))
        if campaigns.held_out(n, refs, 0.25, 1) == {"M1"}
    )
    start = campaigns.from_starting_point("holiday-cards", today=TODAY)
    start |= {"holdout_share": 0.25, "holdout_min": 1}
    campaigns.create(practice, name, waves=[TODAY], by=None, now=NOW, **start)
    report = campaigns.send_wave(practice, settings, name, day=TODAY, now=NOW, by=None)
    assert report.held_out == 1 and report.letters == 2
    sends = _sends(practice)
    assert sends["M1"] == campaigns.HELD_OUT
    assert sends["M2"] is None  # the household's first treated member
    assert sends["M3"] == "one per household: The Morris family gets it"
    with practice.connect() as conn:
        blocks = sorted(
            i.address.splitlines()[0] for i in conn.execute(sa.select(print_items)).all()
        )
    assert blocks == ["Sol Lee", "The Morris family"]


def test_a_suggestion_with_a_member_in_a_household_adds_the_others_to_it(  # type: ignore[no-untyped-def]
    practice, settings, tmp_path
) -> None:
    # Dot moves in with Ann and Bob; Cy's household stays as it is.
    _import(
        practice,
        settings,
        tmp_path,
        ImportKind.CLIENTS,
        'id,name,last_name,address\nM4,Dot Morris,Morris,"3 oak lane, salem or 97301"\n',
    )
    [found] = svc.suggestions(practice)
    assert [m.external_id for m in found.members] == ["M1", "M2", "M4"]
    assert found.household is not None and found.name == "Morris"
    view = svc.accept(practice, found.key, by=None, now=NOW)
    assert view.household.name == "Morris" and len(view.members) == 4
    assert _homes(practice)["M4"] == "Morris"
    assert svc.suggestions(practice) == []
