"""A campaign's results (keepwarm.services.campaign_results) on both databases, against the
hand-worked campaign of tests/campaign_results_support.py: returns inside and outside the
window, revenue per client, intention to treat, the window still open, pooling."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from campaign_results_support import (
    FIRST_WAVE,
    add_campaign,
    add_client,
    add_member,
    add_visit,
    hand_worked,
)
from keepwarm.domain.errors import NotFound
from keepwarm.services.campaign_results import as_json, pooled, results
from keepwarm.services.daily_job import local_today
from keepwarm.services.policy import get_policy
from keepwarm.stats.attribution import compare

TODAY = dt.date(2026, 11, 24)


def test_the_hand_worked_campaign_counts_returns_only_inside_the_window(engine: sa.Engine) -> None:
    hand_worked(engine)
    r = results(engine, "Autumn win-back", today=TODAY)
    c = r.comparison
    assert (c.treated, c.treated_returned, c.holdout, c.holdout_returned) == (8, 4, 4, 1)
    assert c.treated_rate == 0.5 and c.holdout_rate == 0.25
    assert c.difference == pytest.approx(0.25)
    expected = compare(8, 4, 4, 1)
    assert (c.ci_low, c.ci_high) == (expected.ci_low, expected.ci_high)
    assert c.outcome == "inconclusive"
    assert r.first_wave == FIRST_WAVE
    assert r.window_closes == dt.date(2026, 10, 31)


def test_revenue_per_client_counts_the_window_and_every_member(engine: sa.Engine) -> None:
    hand_worked(engine)
    revenue = results(engine, "Autumn win-back", today=TODAY).revenue
    assert revenue.treated_per_client == pytest.approx(12500 / 8)
    assert revenue.holdout_per_client == pytest.approx(4000 / 4)
    assert revenue.difference == pytest.approx(12500 / 8 - 1000)


def test_a_treated_client_whose_message_bounced_still_counts_as_treated(engine: sa.Engine) -> None:
    # T4's first message bounced (a skipped send); T4 came back and is one of the 4 treated
    # returns: intention to treat.
    hand_worked(engine)
    c = results(engine, "Autumn win-back", today=TODAY).comparison
    assert c.treated == 8 and c.treated_returned == 4


def test_results_before_the_window_closes_are_so_far(engine: sa.Engine) -> None:
    hand_worked(engine)
    r = results(engine, "Autumn win-back", today=dt.date(2026, 10, 15))
    assert r.window_open
    assert r.status == "Results so far: the window closes on 31 October 2026."
    final = results(engine, "Autumn win-back", today=TODAY)
    assert not final.window_open
    assert final.status == "Final results: the window closed on 31 October 2026."


def test_a_campaign_whose_first_wave_has_not_gone_has_nothing_to_compare(
    engine: sa.Engine,
) -> None:
    with engine.begin() as conn:
        add_campaign(conn, "Spring", waves=((dt.date(2027, 3, 1), False),))
    r = results(engine, "Spring", today=TODAY)
    assert r.first_wave is None and r.window_closes is None
    assert r.comparison.outcome == "no comparison"
    assert r.status == "No wave has gone yet: nothing to compare."


def test_an_unknown_campaign_is_not_found_by_name(engine: sa.Engine) -> None:
    with pytest.raises(NotFound, match="no campaign called 'Nope'"):
        results(engine, "Nope", today=TODAY)


def test_campaigns_of_one_kind_pool_their_counts(engine: sa.Engine) -> None:
    hand_worked(engine, "Autumn win-back")
    hand_worked(engine, "Winter win-back")
    with engine.begin() as conn:
        other = add_campaign(conn, "Cards", kind="holiday", waves=((FIRST_WAVE, True),))
        for i in range(3):
            add_member(conn, other, add_client(conn, f"card {i}"), "treated")
    p = pooled(engine, "win_back", today=TODAY)
    c = p.comparison
    assert [r.name for r in p.campaigns] == ["Autumn win-back", "Winter win-back"]
    assert (c.treated, c.treated_returned, c.holdout, c.holdout_returned) == (16, 8, 8, 2)
    assert p.revenue.treated_per_client == pytest.approx(12500 / 8)
    assert p.window_closes == dt.date(2026, 10, 31) and not p.window_open
    data = as_json(p)
    assert data["kind"] == "win_back" and len(data["campaigns"]) == 2
    assert data["treated"] == 16


def test_the_json_has_the_issues_keys(engine: sa.Engine) -> None:
    hand_worked(engine)
    data = as_json(results(engine, "Autumn win-back", today=TODAY))
    for key in ("treated", "holdout", "treated_returned", "holdout_returned", "difference",
                "ci_low", "ci_high", "verdict", "treated_rate", "holdout_rate",
                "revenue_per_client_treated_cents", "window_closes", "more_needed"):  # fmt: skip
        assert key in data, key
    assert data["verdict"].startswith("inconclusive — about ")
    assert data["window_closes"] == "2026-10-31"


def test_the_cli_prints_the_results_as_json_with_the_issues_keys(engine: sa.Engine, cli) -> None:  # type: ignore[no-untyped-def]
    hand_worked(engine)
    out = cli("campaign", "results", "Autumn win-back", "--format", "json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert (data["treated"], data["treated_returned"]) == (8, 4)
    assert (data["holdout"], data["holdout_returned"]) == (4, 1)
    assert data["difference"] == pytest.approx(0.25)
    # The same numbers as the service (the page shows as_json of the same result).
    today = local_today(get_policy(engine), dt.datetime.now(dt.UTC))
    assert data == json.loads(json.dumps(as_json(results(engine, "Autumn win-back", today=today))))


def test_the_cli_table_says_the_verdict_and_pools_a_kind(engine: sa.Engine, cli) -> None:  # type: ignore[no-untyped-def]
    hand_worked(engine, "Autumn win-back")
    hand_worked(engine, "Winter win-back")
    out = cli("campaign", "results", "Autumn win-back")
    assert out.exit_code == 0, out.output
    assert "Verdict: inconclusive — about " in out.output
    assert "Got it" in out.output and "Held out" in out.output
    pooled_out = cli("campaign", "results", "--kind", "win_back", "--format", "json")
    assert json.loads(pooled_out.output)["treated"] == 16
    table = cli("campaign", "results", "--kind", "win_back")
    assert "Pooled: Autumn win-back, Winter win-back" in table.output


def test_the_cli_names_an_unknown_campaign(engine: sa.Engine, cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("campaign", "results", "Nope")
    assert out.exit_code != 0
    assert "no campaign called 'Nope'" in out.output


def test_the_campaign_page_shows_the_same_numbers_as_the_json(engine: sa.Engine, web) -> None:  # type: ignore[no-untyped-def]
    hand_worked(engine)
    today = local_today(get_policy(engine), dt.datetime.now(dt.UTC))
    data = as_json(results(engine, "Autumn win-back", today=today))
    page = web("owner@example.com").get("/campaigns/Autumn%20win-back/results")
    assert page.status_code == 200
    html = page.text
    assert '<span class="returned">4</span> of <span class="total">8</span>' in html
    assert '<span class="returned">1</span> of <span class="total">4</span>' in html
    assert f"{data['difference'] * 100:+.1f} points" in html
    assert f"{data['ci_low'] * 100:+.1f} to {data['ci_high'] * 100:+.1f} points" in html
    assert data["sentence"].replace("—", "&mdash;") in html or data["sentence"] in html
    assert '<circle class="point"' in html and "How to read this" in html
    assert (
        "<script" not in html.split('<section class="campaign-results"')[1].split("</section>")[0]
    )


def test_staff_may_not_see_campaign_results(engine: sa.Engine, web) -> None:  # type: ignore[no-untyped-def]
    hand_worked(engine)
    page = web("dana@example.com", role="staff", staff="Dana").get(
        "/campaigns/Autumn%20win-back/results"
    )
    assert page.status_code == 403


def test_the_pooled_page_lists_each_campaign_and_their_sum(engine: sa.Engine, web) -> None:  # type: ignore[no-untyped-def]
    hand_worked(engine, "Autumn win-back")
    hand_worked(engine, "Winter win-back")
    owner = web("owner@example.com")
    html = owner.get("/campaigns/kind/win_back").text
    assert '<span class="returned">8</span> of <span class="total">16</span>' in html
    assert "Autumn win-back" in html and "Winter win-back" in html
    assert owner.get("/campaigns/kind/nonsense").status_code == 404
    assert owner.get("/campaigns/Nope/results").status_code == 404


def test_a_campaign_sent_by_the_engine_is_judged_as_assigned(
    engine: sa.Engine, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # End to end: the campaign engine creates and sends the first wave (arms fixed then);
    # every treated member comes back 10 days later, nobody held out does.
    from conftest import NOW
    from keepwarm.domain.audience import Filters
    from keepwarm.services import campaigns as engine_svc
    from keepwarm.store.tables import campaign_members
    from test_web_today import _practice

    _practice(engine, settings, tmp_path)
    mail = settings.replace(
        smtp_url="smtp://127.0.0.1:2525",
        mail_from="Northside Physio <hello@northside.example>",
        base_url="https://keepwarm.example.com",
    )
    engine_svc.create(
        engine, "spring", by=None, now=NOW, kind="win_back", filters=Filters(tags=("vip",)),
        channel="email", subject="We miss you", body="Dear {{ first_name }}",
        offer=None, waves=[TODAY], holdout_min=1, holdout_share=0.2,
    )  # fmt: skip
    engine_svc.send_wave(engine, mail, "spring", day=TODAY, now=NOW, by=None)
    with engine.begin() as conn:
        rows = conn.execute(sa.select(campaign_members.c.client_id, campaign_members.c.arm))
        arms = {client_id: arm for client_id, arm in rows}
        for client_id, arm in arms.items():
            if arm == "treated":
                add_visit(conn, client_id, TODAY + dt.timedelta(days=10), 4500)
    treated = sum(a == "treated" for a in arms.values())
    assert treated >= 1 and len(arms) - treated >= 1
    r = results(engine, "spring", today=TODAY + dt.timedelta(days=30))
    c = r.comparison
    assert (c.treated, c.treated_returned) == (treated, treated)
    assert (c.holdout, c.holdout_returned) == (len(arms) - treated, 0)
    assert r.first_wave == TODAY and r.window_open
    assert r.revenue.treated_per_client == 4500 and r.revenue.holdout_per_client == 0


def test_the_campaign_page_and_the_cli_json_agree(engine: sa.Engine, cli, web) -> None:  # type: ignore[no-untyped-def]
    hand_worked(engine)
    data = json.loads(cli("campaign", "results", "Autumn win-back", "--format", "json").output)
    page = web("owner@example.com").get("/campaigns/Autumn%20win-back")
    assert page.status_code == 200
    section = page.text.split('<section class="campaign-results"')[1].split("</section>")[0]
    treated = f'<span class="returned">{data["treated_returned"]}</span> of '
    treated += f'<span class="total">{data["treated"]}</span>'
    holdout = f'<span class="returned">{data["holdout_returned"]}</span> of '
    holdout += f'<span class="total">{data["holdout"]}</span>'
    assert treated in section and holdout in section
    assert f"{data['ci_low'] * 100:+.1f} to {data['ci_high'] * 100:+.1f} points" in section
    assert f"About {data['more_needed']} more clients" in section


def test_the_campaigns_list_links_to_each_kind_pooled(engine: sa.Engine, web) -> None:  # type: ignore[no-untyped-def]
    hand_worked(engine)
    owner = web("owner@example.com")
    html = owner.get("/campaigns").text
    assert '<a href="/campaigns/kind/win_back">win-back</a>' in html
    assert owner.get("/campaigns/kind/win_back").status_code == 200


def _cards(engine: sa.Engine, sent: dt.datetime) -> None:
    """Holiday cards dated 1 December 2026 that went out at `sent`: a treated and a held-out
    client each seen on 2, 3 and 4 December (and nothing after), and two who came back on
    10 December."""
    with engine.begin() as conn:
        cid = add_campaign(conn, "Cards", kind="holiday", waves=((dt.date(2026, 12, 1), sent),))
        for name, arm, days in (
            ("early T", "treated", (2, 3, 4)),
            ("early H", "holdout", (2, 3, 4)),
            ("later T", "treated", (10,)),
            ("later H", "holdout", (10,)),
        ):
            client = add_client(conn, name)
            add_member(conn, cid, client, arm)
            for day in days:
                add_visit(conn, client, dt.date(2026, 12, day), 1000)


def test_the_window_starts_when_the_first_wave_went_out_not_on_its_planned_date(
    engine: sa.Engine,
) -> None:
    # Dated 1 December, sent 4 December: visits on 2-4 December came before anything was
    # sent, for either arm; 10 December is a return for both.
    _cards(engine, dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC))
    r = results(engine, "Cards", today=dt.date(2027, 3, 1))
    c = r.comparison
    assert (c.treated, c.treated_returned, c.holdout, c.holdout_returned) == (2, 1, 2, 1)
    assert r.first_wave == dt.date(2026, 12, 4)
    assert r.window_closes == dt.date(2027, 2, 2)
    data = as_json(r)
    assert data["first_wave"] == "2026-12-04" and data["window_closes"] == "2027-02-02"


def test_a_wave_sent_early_counts_returns_from_the_day_it_went_out(engine: sa.Engine) -> None:
    # Dated 1 December, sent at once on 1 November ("Send wave now"): a visit on 2 December is
    # a return for both arms, and the window closes 60 days after 1 November.
    _cards(engine, dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC))
    r = results(engine, "Cards", today=dt.date(2026, 12, 20))
    c = r.comparison
    assert (c.treated, c.treated_returned, c.holdout, c.holdout_returned) == (2, 2, 2, 2)
    assert r.first_wave == dt.date(2026, 11, 1)
    assert r.window_closes == dt.date(2026, 12, 31) and r.window_open


def test_the_day_a_wave_went_out_is_the_businesss_local_date(engine: sa.Engine) -> None:
    # 4 December 23:30 UTC is 5 December in Auckland: a visit there on the 5th came after.
    from keepwarm.services.policy import set_policy_value

    set_policy_value(engine, "time_zone", "Pacific/Auckland", now=dt.datetime.now(dt.UTC))
    _cards(engine, dt.datetime(2026, 12, 4, 23, 30, tzinfo=dt.UTC))
    assert results(engine, "Cards", today=dt.date(2027, 3, 1)).first_wave == dt.date(2026, 12, 5)
