"""Value tiers split 20/30/50 by expected value; RFM scores by quintile name the segments; the
client's page shows both."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from keepwarm.config import Settings
from keepwarm.domain.segments import RfmInput, quintile_scores, rfm, segment_of, value_tiers
from keepwarm.services.segments import client_standing
from test_audiences import plant


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


def test_one_client_s_standing_counted_is_what_ranking_everyone_gives(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    """The client page counts where one client stands (one scan) instead of ranking everyone;
    for every client of a practice with many ties, it is exactly their standing in the
    ranking of everyone (tiers and RFM scores both)."""
    import datetime as dt
    import random

    from keepwarm.domain.model import ImportKind
    from keepwarm.services.importing import import_file
    from keepwarm.services.rhythms import compute_rhythms
    from keepwarm.services.segments import standings
    from keepwarm.store import reading

    rng = random.Random(12)
    today, now = dt.date(2026, 6, 1), dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC)
    (tmp_path / "c.csv").write_text("id,name\n" + "".join(f"S{i},Client {i}\n" for i in range(150)))
    visits = ["client_id,date,amount"]
    for i in range(140):  # ten clients never came
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 200))
        for _ in range(rng.randint(1, 6)):
            if day < today:
                visits.append(f"S{i},{day},{rng.choice(['40.00', '40.00', '75.00', '0'])}")
            day += dt.timedelta(days=rng.choice([14, 30, 30, 60]))
    (tmp_path / "a.csv").write_text("\n".join(visits) + "\n")
    for kind, name in ((ImportKind.CLIENTS, "c.csv"), (ImportKind.ACTIVITIES, "a.csv")):
        assert import_file(engine, settings, kind, tmp_path / name, today=today, now=now).ok
    compute_rhythms(engine, as_of=today, now=now)
    with engine.begin() as conn:  # many exact ties in value, as real prices give
        conn.exec_driver_sql("UPDATE rhythms SET clv_cents = (clv_cents / 5000) * 5000")
    with reading(engine) as conn:
        everyone = standings(conn)
        ids = dict(conn.exec_driver_sql("SELECT external_id, id FROM clients").all())
    tiers = {everyone.of(i).tier for i in ids.values()}
    segments = {everyone.of(i).segment for i in ids.values()}
    assert tiers == {"top", "middle", "rest"} and len(segments) >= 4 and None in segments
    for ref, internal in ids.items():
        assert client_standing(engine, ref) == everyone.of(internal), ref
