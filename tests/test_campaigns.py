"""Campaigns on SQLite and PostgreSQL: the holdout (share, stability, independence), waves sent
at most once, consent asked again at every wave, one per address, and the mailing touch that
does not start anyone's cadence again — delivered through a real SMTP server."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.audience import Filters
from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import ImportKind
from keepwarm.services import campaigns as svc
from keepwarm.services.consent import set_consent
from keepwarm.services.daily_job import run_daily
from keepwarm.services.delivery import deliver_due
from keepwarm.services.importing import import_file
from keepwarm.services.printing import confirm
from keepwarm.services.todays_list import todays_list, waiting_list
from keepwarm.store.tables import campaign_members, clients, outbox, print_items, touches
from keepwarm.store.tables import campaigns as campaign_rows
from smtp_support import running_smtp
from test_web_today import _practice

MAIL = {
    "smtp_url": "smtp://127.0.0.1:2525",
    "mail_from": "Northside Physio <hello@northside.example>",
    "base_url": "https://keepwarm.example.com",
}
VIPS = Filters(tags=("vip",))


@pytest.fixture
def mail(settings: Settings) -> Settings:
    return settings.replace(**MAIL)


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    _practice(engine, settings, tmp_path)
    return engine


def _create(engine: sa.Engine, name: str = "spring", **changes: object) -> svc.Campaign:
    values: dict[str, object] = {
        "kind": "win_back",
        "filters": VIPS,
        "channel": "email",
        "subject": "We miss you, {{ first_name }}",
        "body": "Dear {{ first_name }}, {{ offer }}. {{ staff }}",
        "offer": "15% off your next session until 31 March",
        "waves": [TODAY, TODAY + dt.timedelta(days=7)],
        "holdout_min": 1,
        "holdout_share": 0.2,
    }
    values.update(changes)
    return svc.create(engine, name, by=None, now=NOW, **values)  # type: ignore[arg-type]


def _outbox(engine: sa.Engine) -> list[sa.Row]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return list(conn.execute(sa.select(outbox).order_by(outbox.c.id)))


def _arms(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(clients.c.external_id, campaign_members.c.arm).join(
                clients, clients.c.id == campaign_members.c.client_id
            )
        )
        return {r: a for r, a in rows}


def test_the_holdout_share_is_close_to_the_setting_on_ten_thousand_clients() -> None:
    refs = [f"K{i:05d}" for i in range(10_000)]
    out = svc.held_out("spring", refs, 0.10, 10)
    # Binomial(10000, 0.1): sd 30; 5 sd either side fails a broken hash, not chance.
    assert abs(len(out) - 1000) < 5 * math.sqrt(10_000 * 0.1 * 0.9)
    assert svc.held_out("spring", list(reversed(refs)), 0.10, 10) == out  # order does not matter


def test_different_campaigns_hold_out_independent_clients() -> None:
    refs = [f"K{i:05d}" for i in range(10_000)]
    a = svc.held_out("spring", refs, 0.10, 10)
    b = svc.held_out("autumn", refs, 0.10, 10)
    both = len(a & b)
    # Independent: about 1% of clients are in both (100, sd about 10).
    assert 50 < both < 150


def test_the_minimum_is_held_out_by_lowest_number_and_small_audiences_hold_out_nobody() -> None:
    refs = [f"K{i}" for i in range(30)]
    out = svc.held_out("tiny", refs, 0.01, 10)
    lowest = sorted(refs, key=lambda r: svc.holdout_score("tiny", r))[:10]
    assert out == set(lowest)
    assert svc.held_out("tiny", refs[:19], 0.5, 10) == set()
    assert svc.holdout_note(19, 0.1, 10) == "no holdout: too small to tell (fewer than 20 clients)"


def test_creating_refuses_bad_values_naming_the_field(practice) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=r"^holdout_share:"):
        _create(practice, holdout_share=1.5)
    with pytest.raises(InvalidInput, match=r"^subject:"):
        _create(practice, subject="")
    with pytest.raises(InvalidInput, match=r"^waves:"):
        _create(practice, waves=[])
    with pytest.raises(InvalidInput, match=r"^body:"):
        _create(practice, body="{{ nope }}")
    _create(practice)
    with pytest.raises(InvalidInput, match=r"^name: there is already"):
        _create(practice)


def test_a_wave_queues_one_campaign_email_per_treated_member_and_holds_the_rest_out(  # type: ignore[no-untyped-def]
    practice, mail
) -> None:
    _create(practice)
    report = svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None)
    arms = _arms(practice)
    expected = svc.held_out("spring", [f"C{i}" for i in range(5)], 0.2, 1)
    assert {r for r, a in arms.items() if a == "holdout"} == expected
    rows = _outbox(practice)
    assert report.queued == len(rows) == 5 - len(expected)
    treated = {f"c{r[1:]}@example.com" for r, a in arms.items() if a == "treated"}
    assert {r.to_address for r in rows} == treated
    assert all(r.kind == "campaign" and not r.personal and r.bulk for r in rows)
    assert "15% off your next session until 31 March" in rows[0].body
    assert rows[0].subject.startswith("We miss you, Client")
    detail = svc.detail(practice, "spring")
    assert detail.campaign.status == "waves sent"
    assert {s.client for s in detail.sends if s.skipped == svc.HELD_OUT} == expected


def test_sending_a_wave_twice_queues_nothing_new(practice, mail) -> None:  # type: ignore[no-untyped-def]
    _create(practice, waves=[TODAY])
    svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None)
    before = len(_outbox(practice))
    again = svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None)
    assert again.already and len(_outbox(practice)) == before


def test_a_wave_not_due_is_refused_unless_sent_early(practice, mail) -> None:  # type: ignore[no-untyped-def]
    _create(practice, waves=[TODAY + dt.timedelta(days=3)])
    with pytest.raises(InvalidInput, match="not due yet"):
        svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None)
    assert svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None, early=True).queued


def test_do_not_contact_set_after_the_preview_gets_nothing(practice, mail) -> None:  # type: ignore[no-untyped-def]
    _create(practice, holdout_share=0.0)
    shown = svc.preview(practice, mail, "spring", today=TODAY)
    assert shown.audience.count == 5 and shown.holdout == 0
    with practice.begin() as conn:
        conn.execute(
            sa.update(clients).where(clients.c.external_id == "C2").values(do_not_contact=True)
        )
    report = svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None)
    assert "c2@example.com" not in {r.to_address for r in _outbox(practice)}
    assert report.queued == 4
    assert _arms(practice).get("C2") is None  # not in the audience: never a member


def test_a_client_who_unsubscribes_between_waves_gets_nothing_in_the_next(practice, mail) -> None:  # type: ignore[no-untyped-def]
    _create(practice, holdout_share=0.0)
    svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None)
    set_consent(practice, "C1", "email", False, actor="C1", now=NOW, source="unsubscribe")
    later = TODAY + dt.timedelta(days=7)
    report = svc.send_wave(practice, mail, "spring", day=later, now=NOW, by=None)
    first_wave = _outbox(practice)[0].key.split(":")[2]  # campaign:{c}:{wave}:{client}
    second = [r for r in _outbox(practice) if r.key.split(":")[2] != first_wave]
    assert "c1@example.com" not in {r.to_address for r in second}
    assert report.queued == 4 and sum(report.skipped.values()) == 1
    skip = [s for s in svc.detail(practice, "spring").sends if s.client == "C1" and s.skipped]
    assert skip and skip[0].skipped.startswith("unsubscribed")
    assert svc.get(practice, "spring").status == "done"


def test_the_holdout_is_stable_across_deleting_and_reimporting_the_clients(  # type: ignore[no-untyped-def]
    practice, mail, settings, tmp_path
) -> None:
    _create(practice, "first")
    svc.send_wave(practice, mail, "first", day=TODAY, now=NOW, by=None)
    before = _arms(practice)
    with practice.begin() as conn:
        conn.execute(sa.delete(clients))
    lines = ["id,name,owner,email,phone,tags"] + [
        f"C{i},Client {i},Dana,c{i}@example.com,+1503555010{i},vip" for i in range(5)
    ]
    path = tmp_path / "again.csv"
    path.write_text("\n".join(lines) + "\n")
    assert import_file(practice, settings, ImportKind.CLIENTS, path, today=TODAY, now=NOW).ok
    _create(practice, "first-again")
    with practice.begin() as conn:
        conn.execute(sa.delete(campaign_members))
    # The same campaign name gives the same arms; a different name is independent.
    assert svc.held_out("first", list(before), 0.2, 1) == {
        r for r, a in before.items() if a == "holdout"
    }
    svc.send_wave(practice, mail, "first-again", day=TODAY, now=NOW, by=None)
    again = _arms(practice)
    assert {r for r, a in again.items() if a == "holdout"} == svc.held_out(
        "first-again", list(before), 0.2, 1
    )


def test_one_per_address_sends_one_email_to_people_sharing_it(practice, mail) -> None:  # type: ignore[no-untyped-def]
    with practice.begin() as conn:
        conn.execute(
            sa.update(clients).where(clients.c.external_id == "C1").values(email="c0@example.com")
        )
    _create(practice, holdout_share=0.0, one_per_address=True)
    report = svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None)
    rows = _outbox(practice)
    assert [r.to_address for r in rows].count("c0@example.com") == 1
    assert report.skipped == {"one per address: someone there already gets it": 1}


def test_holiday_letters_go_one_per_household_into_the_letters_to_print(practice, mail) -> None:  # type: ignore[no-untyped-def]
    with practice.begin() as conn:
        for ref in ("C0", "C1"):
            conn.execute(
                sa.update(clients)
                .where(clients.c.external_id == ref)
                .values(address="12 Elm Street, Portland OR 97201")
            )
        conn.execute(
            sa.update(clients)
            .where(clients.c.external_id == "C2")
            .values(address="12 elm street portland or 97201")
        )
    start = svc.from_starting_point("holiday-cards", today=TODAY)
    svc.create(practice, "cards", waves=[TODAY], by=None, now=NOW, **start)
    report = svc.send_wave(practice, mail, "cards", day=TODAY, now=NOW, by=None)
    with practice.connect() as conn:
        items = list(conn.execute(sa.select(print_items)))
    assert report.letters == len(items) == 1  # three at one address; C3, C4 have none
    assert items[0].action_id is None and "warm wishes" in items[0].body.lower()
    assert confirm(practice, items[0].batch_id, by=None, now=NOW) == 1
    with practice.connect() as conn:
        [touch] = conn.execute(sa.select(touches)).all()
    assert touch.channel == "mailing"  # a printed campaign card is not a personal touch


def test_a_campaign_email_arrives_and_is_a_mailing_touch_that_leaves_the_cadence_alone(  # type: ignore[no-untyped-def]
    practice, settings
) -> None:
    _create(practice, holdout_share=0.0, waves=[TODAY])
    listed = {a.client_id for a in todays_list(practice, "Dana", day=TODAY)} | {
        a.client_id for a in waiting_list(practice, "Dana")
    }
    with running_smtp() as (_, port, handler):
        mail = settings.replace(**{**MAIL, "smtp_url": f"smtp://127.0.0.1:{port}"})
        svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None)
        deliver_due(practice, mail, now_fn=lambda: NOW)
        got = handler.messages
    assert len(got) == 5
    assert all(m["List-Unsubscribe"] is not None for m in got)
    with practice.connect() as conn:
        channels = {r.channel for r in conn.execute(sa.select(touches))}
    assert channels == {"mailing"}
    day = TODAY + dt.timedelta(days=1)
    run_daily(practice, mail, day=day, now=NOW + dt.timedelta(days=1))
    after = {a.client_id for a in todays_list(practice, "Dana", day=day)} | {
        a.client_id for a in waiting_list(practice, "Dana")
    }
    assert listed and listed <= after  # nobody came off the list because of a mailing


def test_the_daily_job_sends_a_wave_on_its_day_and_only_once(practice, mail) -> None:  # type: ignore[no-untyped-def]
    day = TODAY + dt.timedelta(days=1)
    _create(practice, holdout_share=0.0, waves=[day])
    run_daily(practice, mail, day=day, now=NOW + dt.timedelta(days=1))
    sent = [r for r in _outbox(practice) if r.kind == "campaign"]
    assert len(sent) == 5 and svc.get(practice, "spring").status == "done"
    run_daily(practice, mail, day=day, now=NOW + dt.timedelta(days=1))
    assert len([r for r in _outbox(practice) if r.kind == "campaign"]) == 5


def test_a_campaign_can_be_edited_until_its_first_wave_goes(practice, mail) -> None:  # type: ignore[no-untyped-def]
    _create(practice)
    later = TODAY + dt.timedelta(days=3)
    edited = svc.edit(practice, "spring", now=NOW, offer="20% off", waves=[TODAY, later])
    assert edited.offer == "20% off" and [w.on for w in edited.waves] == [TODAY, later]
    with pytest.raises(InvalidInput, match=r"^holdout_share:"):
        svc.edit(practice, "spring", now=NOW, holdout_share=2.0)
    svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None)
    with pytest.raises(InvalidInput, match="a wave has gone"):
        svc.edit(practice, "spring", now=NOW, offer="30% off")


def test_the_new_campaign_form_names_the_bad_field_and_the_json_twin_lists_campaigns(  # type: ignore[no-untyped-def]
    practice, web
) -> None:
    owner = web()
    form = {
        "start": "win-back",
        "name": "by-form",
        "channel": "email",
        "subject": "Hello {{ first_name }}",
        "body": "Dear {{ first_name }}",
        "tags": "vip",
        "waves": str(TODAY),
        "holdout_percent": "150",
        "holdout_min": "1",
        "return_days": "60",
    }
    refused = owner.post("/campaigns/new", form)
    assert refused.status_code == 400 and "holdout_share:" in refused.text
    made = owner.post("/campaigns/new", {**form, "holdout_percent": "20"})
    assert made.status_code == 303 and made.headers["location"] == "/campaigns/by-form/preview"
    [listed] = owner.get("/campaigns.json").json()["campaigns"]
    assert listed["name"] == "by-form" and listed["holdout_share"] == 0.2
    assert owner.get("/campaigns/by-form/preview.json").json()["count"] == 5


def test_the_form_takes_every_audience_filter_and_a_saved_one(practice, web) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.domain.audience import Filters
    from keepwarm.services.audiences import save_filter

    save_filter(practice, "vips", Filters(tags=("vip",)), actor="test", now=NOW)
    owner = web()
    page = owner.get("/campaigns/new?from=win-back").text
    for name in ("owners", "last_visit_before", "value_tiers", "segments", "saved"):
        assert f'name="{name}"' in page
    assert '<option value="vips"' in page
    form = {
        "start": "win-back",
        "name": "every-filter",
        "channel": "email",
        "subject": "Hello",
        "body": "Dear {{ first_name }}",
        "owners": "Dana",
        "last_visit_before": "2026-11-01",
        "value_tiers": "top, middle",
        "segments": "champions",
        "saved": "vips",
        "waves": str(TODAY),
        "holdout_percent": "10",
        "holdout_min": "1",
        "return_days": "60",
    }
    assert owner.post("/campaigns/new", form).status_code == 303
    [listed] = owner.get("/campaigns.json").json()["campaigns"]
    audience = listed["audience"]
    assert audience["owners"] == ["Dana"] and audience["last_visit_before"] == "2026-11-01"
    assert audience["value_tiers"] == ["top", "middle"] and audience["segments"] == ["champions"]
    assert audience["tags"] == ["vip"] and "saved" not in audience  # its own copy
    refused = owner.post("/campaigns/new", {**form, "name": "bad", "value_tiers": "gold"})
    assert refused.status_code == 400 and "value_tiers" in refused.text


def test_a_campaign_made_from_a_saved_filter_keeps_its_copy_when_the_filter_is_deleted(  # type: ignore[no-untyped-def]
    practice, mail
) -> None:
    from keepwarm.services.audiences import delete_saved_filter, save_filter

    save_filter(practice, "vips", VIPS, actor="test", now=NOW)
    made = _create(practice, filters=Filters(saved="vips", statuses=("active",)))
    assert made.filters == Filters(tags=("vip",), statuses=("active",))
    delete_saved_filter(practice, "vips")
    assert svc.preview(practice, mail, "spring", today=TODAY).audience.count == 5
    assert svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None).queued


def test_the_cli_and_the_form_copy_a_saved_filter_into_the_campaign(practice, web, cli) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.services.audiences import delete_saved_filter, save_filter

    save_filter(practice, "vips", VIPS, actor="test", now=NOW)
    made = cli("campaign", "create", "--from", "win-back", "by-cli", "--saved", "vips",
               "--wave", str(TODAY), "--holdout-min", "1")  # fmt: skip
    assert made.exit_code == 0, made.output
    owner = web()
    form = {
        "start": "win-back", "name": "by-form", "channel": "email", "subject": "Hello",
        "body": "Dear {{ first_name }}", "signals": "", "saved": "vips", "waves": str(TODAY),
        "holdout_percent": "10", "holdout_min": "1", "return_days": "60",
    }  # fmt: skip
    assert owner.post("/campaigns/new", form).status_code == 303
    delete_saved_filter(practice, "vips")
    for name in ("by-cli", "by-form"):
        assert svc.get(practice, name).filters.tags == ("vip",)
        page = owner.get(f"/campaigns/{name}/preview.json")
        assert page.status_code == 200 and page.json()["count"] == 5
    shown = cli("campaign", "preview", "by-cli")
    assert shown.exit_code == 0, shown.output


def test_a_campaign_still_pointing_at_a_deleted_saved_filter_says_which(  # type: ignore[no-untyped-def]
    practice, mail, web
) -> None:
    # A campaign row from before campaigns kept their own copy.
    _create(practice)
    with practice.begin() as conn:
        conn.execute(sa.update(campaign_rows).values(audience='{"saved": "gone"}'))
    said = r"campaign 'spring': its audience starts from the saved filter 'gone'"
    with pytest.raises(InvalidInput, match=said):
        svc.preview(practice, mail, "spring", today=TODAY)
    with pytest.raises(InvalidInput, match=said):
        svc.send_wave(practice, mail, "spring", day=TODAY, now=NOW, by=None)
    page = web().get("/campaigns/spring/preview")
    assert page.status_code == 400
    assert "the saved filter &#39;gone&#39;" in page.text or "the saved filter 'gone'" in page.text


def _two_due(practice: sa.Engine) -> dt.date:
    """Two campaigns with a wave due tomorrow: 'broken' (made first, so tried first) and
    'spring'."""
    day = TODAY + dt.timedelta(days=1)
    _create(practice, "broken", holdout_share=0.0, waves=[day])
    _create(practice, "spring", holdout_share=0.0, waves=[day])
    return day


def test_one_campaign_failing_in_the_daily_job_leaves_the_others_to_go(  # type: ignore[no-untyped-def]
    practice, mail, monkeypatch, caplog
) -> None:
    day = _two_due(practice)
    real = svc.send_wave

    def send_wave(engine, settings, name, **kwargs):  # type: ignore[no-untyped-def]
        if name == "broken":
            raise RuntimeError("the disk is full")
        return real(engine, settings, name, **kwargs)

    monkeypatch.setattr(svc, "send_wave", send_wave)
    with caplog.at_level("ERROR", logger="keepwarm.services.campaigns"):
        run = run_daily(practice, mail, day=day, now=NOW + dt.timedelta(days=1))
    assert svc.get(practice, "spring").status == "done"
    assert len([r for r in _outbox(practice) if r.kind == "campaign"]) == 5
    assert svc.get(practice, "broken").status == "draft"
    assert any("'broken'" in r.getMessage() and r.exc_info for r in caplog.records)
    assert run.notes == (f"broken: the wave of {day} was not sent: RuntimeError (see the log)",)


def test_a_campaign_whose_saved_filter_is_gone_is_named_in_the_daily_jobs_notes(  # type: ignore[no-untyped-def]
    practice, mail, web
) -> None:
    day = _two_due(practice)
    with practice.begin() as conn:
        conn.execute(
            sa.update(campaign_rows)
            .where(campaign_rows.c.name == "broken")
            .values(audience='{"saved": "gone"}')
        )
    run = run_daily(practice, mail, day=day, now=NOW + dt.timedelta(days=1))
    assert svc.get(practice, "spring").status == "done"
    [note] = run.notes
    assert note.startswith(f"broken: the wave of {day} was not sent: campaign 'broken': ")
    assert "the saved filter 'gone'" in note
    # After its day (the page reads the real clock, later than 2026) the campaign's page says
    # the wave did not go.
    page = web().get("/campaigns/broken").text
    assert f'data-sent="no">{day}: <strong data-overdue>not sent on its day</strong>' in page
    assert "data-overdue" not in web("other@example.com").get("/campaigns/spring").text


def test_first_visit_after_is_a_filter_in_the_form_and_the_cli(practice, web, cli) -> None:  # type: ignore[no-untyped-def]
    owner = web()
    page = owner.get("/campaigns/new?from=welcome").text
    today = dt.datetime.now(dt.UTC).date()  # the web app's clock, in the policy's UTC
    since = (today - dt.timedelta(days=30)).isoformat()
    assert 'name="first_visit_after"' in page and f'value="{since}"' in page
    assert 'name="last_visit_after" value=""' in page
    form = {
        "start": "welcome", "name": "by-form", "channel": "email", "subject": "Welcome",
        "body": "Dear {{ first_name }}", "statuses": "active", "first_visit_after": "2026-11-01",
        "waves": str(TODAY), "holdout_percent": "10", "holdout_min": "1", "return_days": "60",
    }  # fmt: skip
    assert owner.post("/campaigns/new", form).status_code == 303
    made = svc.get(practice, "by-form")
    assert made.filters == Filters(statuses=("active",), first_visit_after=dt.date(2026, 11, 1))
    preview = owner.get("/campaigns/by-form/preview.json").json()
    assert preview["description"] == "active clients, first visit after 1 Nov 2026"
    out = cli("campaign", "create", "--from", "welcome", "by-cli", "--status", "active",
              "--first-visit-after", "2026-11-01", "--wave", str(TODAY))  # fmt: skip
    assert out.exit_code == 0, out.output
    assert svc.get(practice, "by-cli").filters == made.filters
    saved = cli("segment", "save", "new ones", "--first-visit-after", "2026-11-01")
    assert saved.exit_code == 0 and "first visit after 1 Nov 2026" in saved.output
