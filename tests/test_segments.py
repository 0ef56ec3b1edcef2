"""Value tiers split 20/30/50 by expected value; RFM scores by quintile name the segments; the
client's page shows both."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.domain.segments import (
    RfmInput,
    StandingCuts,
    quintile_scores,
    rfm,
    segment_of,
    standing_cuts,
    value_tiers,
)
from keepwarm.services.client_merge import merge_clients, undo_merge
from keepwarm.services.clients import delete_client
from keepwarm.services.erasure import erase_client
from keepwarm.services.importing import import_file
from keepwarm.services.rhythms import compute_rhythms
from keepwarm.services.segments import client_standing, standings
from keepwarm.store import reading
from keepwarm.store.rhythms import refresh_standing_cuts
from test_audiences import plant

TODAY = dt.date(2026, 6, 1)
NOW = dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC)


def test_value_tiers_split_twenty_thirty_fifty_and_ties_break_by_id() -> None:
    values = {cid: 1000 - cid for cid in range(1, 101)}
    tiers = value_tiers(values)
    counts = {t: list(tiers.values()).count(t) for t in ("top", "middle", "rest")}
    assert counts == {"top": 20, "middle": 30, "rest": 50}
    assert tiers[1] == "top" and tiers[21] == "middle" and tiers[51] == "rest"
    same = value_tiers(dict.fromkeys(range(10), 5))
    assert [same[i] for i in range(10)] == ["top"] * 2 + ["middle"] * 3 + ["rest"] * 5


def test_quintile_scores_run_from_one_to_five_and_equal_values_share_a_score() -> None:
    scores = quintile_scores({i: float(i) for i in range(10)}, higher_is_better=True)
    assert [scores[i] for i in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    fewer_days = quintile_scores({1: 10, 2: 400}, higher_is_better=False)
    assert fewer_days == {1: 3, 2: 1}
    assert (
        len(set(quintile_scores(dict.fromkeys(range(5), 7), higher_is_better=True).values())) == 1
    )


def test_segments_follow_the_documented_table() -> None:
    assert segment_of(5, 5, 5) == "champions"
    assert segment_of(3, 4, 1) == "loyal"
    assert segment_of(1, 5, 5) == "can't lose them"
    assert segment_of(2, 3, 1) == "at risk"
    assert segment_of(5, 1, 1) == "new"
    assert segment_of(4, 2, 3) == "promising"
    assert segment_of(3, 2, 2) == "need attention"
    assert segment_of(2, 1, 1) == "hibernating"
    assert segment_of(1, 1, 1) == "lost"


def test_rfm_on_planted_clients() -> None:
    rows = [
        RfmInput(1, 5, 40, 90_000),  # recent, often, valuable
        RfmInput(2, 700, 1, 500),  # long gone, once
        RfmInput(3, 10, 1, 1_000),  # came once, just now
        RfmInput(4, 600, 30, 80_000),  # was a regular, gone quiet
        RfmInput(5, 200, 5, 5_000),
    ]
    found = {cid: r.segment for cid, r in rfm(rows).items()}
    assert found == {
        1: "champions",
        2: "lost",
        3: "new",
        4: "can't lose them",
        5: "need attention",
    }


def test_the_clients_page_shows_the_tier_and_segment(  # type: ignore[no-untyped-def]
    web, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    plant(engine, settings, tmp_path)
    standing = client_standing(engine, "R1")
    assert standing.tier == "top" and standing.segment == "champions"
    page = web().get("/clients/R1").text
    assert '<dd id="value-tier">top</dd>' in page
    assert '<dd id="segment">champions' in page


def _reference(rows: list[tuple[int, int, int | None, int, int]]) -> dict[int, tuple[str, Any]]:
    """Every client's (tier, RFM) by ranking everyone: the definition (value_tiers, rfm)."""
    tiers = value_tiers({cid: clv for cid, clv, _, _, _ in rows})
    scored = rfm([RfmInput(cid, d, v, m) for cid, _, d, v, m in rows if d is not None and v > 0])
    return {cid: (tiers[cid], scored.get(cid)) for cid, *_ in rows}


def _by_cuts(rows: list[tuple[int, int, int | None, int, int]]) -> dict[int, tuple[str, Any]]:
    cuts = standing_cuts(
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=np.float64),
        np.array([r[3] for r in rows], dtype=np.int64),
        np.array([r[4] for r in rows], dtype=np.int64),
    )
    cuts = StandingCuts.from_dict(json.loads(json.dumps(cuts.to_dict())))  # as stored
    return {
        cid: (cuts.tier(cid, clv), None if d is None or v <= 0 else cuts.rfm(d, v, m))
        for cid, clv, d, v, m in rows
    }


def test_standing_cuts_give_what_ranking_everyone_gives() -> None:
    """Tiers and RFM scores from the stored cuts equal the definition's ranking of everyone,
    for every client of 400 random practices: tiny ones (the rounding of 20% and 50% of one to
    nine clients), many ties, clients with no visit, and ids in any order."""
    rng = random.Random(5)
    seen_tiers: set[str] = set()
    seen_scores: set[int] = set()
    for trial in range(400):
        n = trial % 10 if trial < 100 else rng.randint(10, 300)
        ids = rng.sample(range(1, 10 * n + 10), n)
        rows = [
            (
                cid,
                rng.choice([0, 5000, 5000, 12000, rng.randint(0, 90_000)]),
                None if rng.random() < 0.1 else rng.choice([3, 30, 30, rng.randint(0, 900)]),
                rng.choice([0, 1, 1, 2, rng.randint(1, 40)]),
                rng.choice([0, 2500, rng.randint(0, 20_000)]),
            )
            for cid in ids
        ]
        expected = _reference(rows)
        assert _by_cuts(rows) == expected, trial
        seen_tiers |= {t for t, _ in expected.values()}
        seen_scores |= {s.recency for _, s in expected.values() if s is not None}
    assert seen_tiers == {"top", "middle", "rest"} and seen_scores == {1, 2, 3, 4, 5}


def _stored_rows(conn: sa.Connection) -> list[tuple[int, int, int | None, int, int]]:
    return [
        tuple(r)
        for r in conn.exec_driver_sql(
            "SELECT client_id, clv_cents, days_since_last, activities, monthly_value_cents "
            "FROM rhythms"
        )
    ]


def _everyone_agrees(engine: sa.Engine) -> dict[int, tuple[str, Any]]:
    """Every client's page, and the standings audiences read, give what ranking everyone's
    stored rhythm gives now; returns that."""
    with reading(engine) as conn:
        expected = _reference(_stored_rows(conn))
        everyone = standings(conn)
        refs = dict(conn.exec_driver_sql("SELECT external_id, id FROM clients").all())
    for ref, internal in refs.items():
        want = expected.get(internal, ("rest", None))
        assert (everyone.of(internal).tier, everyone.of(internal).rfm) == want, ref
        page = client_standing(engine, ref)
        assert (page.tier, page.rfm) == want, ref
    return expected


def _practice(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    """150 clients (ten never came) with many ties in value, as real prices give."""
    rng = random.Random(12)
    (folder / "c.csv").write_text("id,name\n" + "".join(f"S{i},Client {i}\n" for i in range(150)))
    visits = ["client_id,date,amount"]
    for i in range(140):  # ten clients never came
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 200))
        for _ in range(rng.randint(1, 6)):
            if day < TODAY:
                visits.append(f"S{i},{day},{rng.choice(['40.00', '40.00', '75.00', '0'])}")
            day += dt.timedelta(days=rng.choice([14, 30, 30, 60]))
    (folder / "a.csv").write_text("\n".join(visits) + "\n")
    for kind, name in ((ImportKind.CLIENTS, "c.csv"), (ImportKind.ACTIVITIES, "a.csv")):
        assert import_file(engine, settings, kind, folder / name, today=TODAY, now=NOW).ok
    compute_rhythms(engine, as_of=TODAY, now=NOW)


def test_one_client_s_standing_is_what_ranking_everyone_gives(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    """The client page reads one rhythm and the stored cuts instead of ranking everyone; for
    every client of a practice with many ties it is exactly their standing in the ranking of
    everyone (tiers and RFM scores both), and what the audiences read."""
    _practice(engine, settings, tmp_path)
    with engine.begin() as conn:  # exact ties in value, then the cuts worked out again
        conn.exec_driver_sql("UPDATE rhythms SET clv_cents = (clv_cents / 5000) * 5000")
        refresh_standing_cuts(conn)
    expected = _everyone_agrees(engine)
    assert {t for t, _ in expected.values()} == {"top", "middle", "rest"}
    assert len({s.segment if s else None for _, s in expected.values()}) >= 5
    with engine.begin() as conn:  # a database from before the cuts were stored
        conn.exec_driver_sql("DELETE FROM standing_cuts")
    assert _everyone_agrees(engine) == expected


def test_standings_follow_every_change_of_the_rhythms(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    """A new client learned at import, a client deleted, erased or merged away: each moves the
    others' ranks, and every page and audience reads the ranking of the rhythms as they are."""
    _practice(engine, settings, tmp_path)
    before = _everyone_agrees(engine)

    def top_ref() -> str:
        with reading(engine) as conn:
            return str(
                conn.exec_driver_sql(
                    "SELECT c.external_id FROM rhythms r JOIN clients c ON c.id = r.client_id "
                    "ORDER BY r.clv_cents DESC, r.client_id LIMIT 1"
                ).scalar_one()
            )

    (tmp_path / "new.csv").write_text(
        "client_id,date,amount\n"
        + "".join(f"N1,{TODAY - dt.timedelta(days=d)},900.00\n" for d in (5, 40, 80, 120))
    )
    (tmp_path / "newc.csv").write_text("id,name\nN1,New Client\n")
    assert import_file(
        engine, settings, ImportKind.CLIENTS, tmp_path / "newc.csv", today=TODAY, now=NOW
    ).ok
    assert import_file(
        engine, settings, ImportKind.ACTIVITIES, tmp_path / "new.csv", today=TODAY, now=NOW
    ).ok
    learned = _everyone_agrees(engine)
    assert len(learned) == len(before) + 1
    assert [c for c in before if learned[c] != before[c]]  # the others' ranks moved

    steps = [
        lambda: delete_client(engine, top_ref(), now=NOW),
        lambda: erase_client(engine, top_ref(), actor="owner", now=NOW),
        lambda: merge_clients(engine, "S1", top_ref(), by="owner", now=NOW).merge_id,
    ]
    for step in steps:
        was = _everyone_agrees(engine)
        merge_id = step()
        now = _everyone_agrees(engine)
        assert len(now) == len(was) - 1
        assert [c for c in now if now[c] != was[c]]  # the others' ranks moved
    undo_merge(engine, merge_id, by="owner", now=NOW)  # the merged client's rhythm is back
    assert _everyone_agrees(engine) == was


def test_two_deletions_at_once_leave_the_cuts_of_what_remains(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    """Two clients deleted at the same moment: the second waits for the first, then works the
    cuts out from the rhythms the first left (on PostgreSQL through a lock on the cuts: without
    it the second deletion failed on the cuts' row). Both deletions stand."""
    import threading
    import time

    from keepwarm.store import writing
    from keepwarm.store.client_pages import delete_client as delete_in

    _practice(engine, settings, tmp_path)
    with reading(engine) as conn:
        ids = dict(conn.exec_driver_sql("SELECT external_id, id FROM clients").all())
    failed: list[BaseException] = []

    def second() -> None:
        try:
            delete_client(engine, "S2", now=NOW)
        except BaseException as exc:  # reported below
            failed.append(exc)

    other = threading.Thread(target=second)
    with writing(engine) as conn:
        delete_in(conn, ids["S1"])  # the first, not committed yet...
        other.start()
        time.sleep(1.0)  # ...while the second waits for it
        assert other.is_alive()
    other.join(timeout=60)
    assert not other.is_alive() and failed == []
    with reading(engine) as conn:
        left = {r[0] for r in conn.exec_driver_sql("SELECT external_id FROM clients")}
    assert "S1" not in left and "S2" not in left and len(left) == len(ids) - 2
    _everyone_agrees(engine)
