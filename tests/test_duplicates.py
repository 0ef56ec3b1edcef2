"""Finding likely duplicate clients: names folded (accents, case), nicknames and initials and
typos, the same birthday or address; twins and spouses at one address are not duplicates;
precision and recall on a generated practice with planted duplicates; `keepwarm duplicates`;
"not the same person" hides a pair. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW
from keepwarm.domain.duplicates import Person, candidate_pairs, compare, find_pairs
from keepwarm.services import duplicates

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from bench_duplicates import practice, quality

BDAY = dt.date(1984, 3, 2)


def _p(i: int, name: str, **kw: object) -> Person:
    return Person(i, f"C{i}", name, **kw)  # type: ignore[arg-type]


def test_a_nickname_with_the_same_phone_is_a_duplicate_and_says_so() -> None:
    pair = compare(
        _p(1, "Kimberly Morris", phone="+44 7700 900123"),
        _p(2, "Kim Morris", phone="07700 900123"),
    )
    assert pair.score >= 0.9
    assert pair.explanation == "Same phone, names differ only by a nickname (Kimberly / Kim)"


def test_bob_and_robert_are_one_name_but_william_and_robert_are_not() -> None:
    bob = compare(_p(1, "Bob Smith", birthday=BDAY), _p(2, "Robert Smith", birthday=BDAY))
    assert bob.score >= 0.75 and "nickname" in bob.explanation
    # Both answer to "Bill", yet they are two names.
    two = compare(_p(1, "William Smith", birthday=BDAY), _p(2, "Robert Smith", birthday=BDAY))
    assert two.score < 0.5 and "different first names" in two.explanation


def test_an_initial_and_accents_and_case_still_match() -> None:
    pair = compare(
        _p(1, "Hélène LEFÈVRE", address="12 Rue du Parc, Lyon"),
        _p(2, "H. Lefevre", address="12 rue du Parc Lyon"),
    )
    assert pair.score >= 0.75
    assert pair.reasons == ("same address", "one name has an initial (Helene / H)")


def test_twins_and_spouses_at_one_address_are_not_duplicates() -> None:
    shared = {"address": "4 Oak Lane", "phone": "0123 456 789"}
    twins = compare(
        _p(1, "Anna Morris", birthday=BDAY, **shared),
        _p(2, "Maria Morris", birthday=BDAY, **shared),
    )
    spouses = compare(
        _p(1, "Mark Morris", birthday=BDAY, **shared),
        _p(2, "Mark Morris", birthday=dt.date(1950, 1, 1), **shared),
    )
    assert twins.score < 0.5 and "different first names (Anna / Maria)" in twins.reasons
    assert spouses.score < 0.5 and "different birthdays" in spouses.reasons
    assert find_pairs([_p(1, "Anna Morris", **shared), _p(2, "Maria Morris", **shared)]) == []


def test_only_people_sharing_a_key_are_compared() -> None:
    people = [_p(i, f"Person {i}", email=f"p{i}@example.org") for i in range(500)]
    people.append(_p(500, "Person 0", email="P0@Example.org"))
    # Not 125,000 pairs: one.
    assert candidate_pairs(people) == {(0, 500)}


def test_precision_and_recall_on_a_generated_practice_with_planted_duplicates() -> None:
    generated = practice(2000)
    precision, recall, found, planted = quality(generated)
    assert planted >= 50 and generated.families >= 150
    assert precision >= 0.95, (precision, found, planted)
    assert recall >= 0.9, (recall, found, planted)
    # The baseline of exact email or phone only would miss many of them.
    exact = {
        tuple(sorted((generated.people[i].external_id, generated.people[j].external_id)))
        for i, j in candidate_pairs(generated.people)
        if compare(generated.people[i], generated.people[j]).reasons[0].startswith("same e")
    }
    assert len(exact & generated.truth) < planted


CLIENTS = (
    "id,first_name,last_name,email,phone,address,birthday\n"
    "K1,Kimberly,Morris,kim@example.org,,4 Oak Lane,1984-03-02\n"
    "K2,Kim,Morris,,07700 900123,,1984-03-02\n"
    "T1,Anna,Morris,,07700 900999,4 Oak Lane,1990-01-01\n"
    "T2,Maria,Morris,,07700 900999,4 Oak Lane,1990-01-01\n"
)


def test_keepwarm_duplicates_lists_pairs_as_json_and_hides_a_pair_said_to_be_two_people(
    cli, write_csv, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    assert cli("import", "clients", str(write_csv("c.csv", CLIENTS))).exit_code == 0
    result = cli("duplicates", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["a"], r["b"]) for r in rows] == [("K1", "K2")]
    assert rows[0]["reasons"] == [
        "same birthday",
        "names differ only by a nickname (Kimberly / Kim)",
    ]
    assert rows[0]["explanation"].startswith("Same birthday, names differ only by a nickname")
    assert 0.75 <= rows[0]["score"] <= 1
    text = cli("duplicates", "--min-score", "0.05")
    assert "T1" in text.output and "different first names (Anna / Maria)" in text.output
    assert duplicates.not_the_same(engine, "K2", "K1", by="owner@example.com", now=NOW)
    assert not duplicates.not_the_same(engine, "K1", "K2", by="owner@example.com", now=NOW)
    assert json.loads(cli("duplicates", "--format", "json").output) == []
    assert "No likely duplicates among 4 clients" in cli("duplicates").output


def test_bad_min_score_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("duplicates", "--min-score", "2")
    assert result.exit_code != 0 and "--min-score" in result.output


@pytest.mark.parametrize("pair", [("K1", "NOPE"), ("K1", "K1")])
def test_not_the_same_person_needs_two_existing_clients(cli, write_csv, engine, pair) -> None:  # type: ignore[no-untyped-def]
    cli("import", "clients", str(write_csv("c.csv", CLIENTS)))
    with pytest.raises(Exception, match=r"NOPE|twice"):
        duplicates.not_the_same(engine, *pair, by="owner@example.com", now=NOW)
