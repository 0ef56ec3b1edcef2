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
