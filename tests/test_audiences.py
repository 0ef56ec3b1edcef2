"""Audiences: every filter picks the client it should and leaves out the one it should not;
exclusions come with their reason; do-not-contact is never in an audience; a consent withdrawn
since the last evaluation excludes at the next."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.audience import Filters
from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import ImportKind
from keepwarm.services import audiences
from keepwarm.services.consent import refusal, set_consent
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.store import reading


def _monthly(ref: str, first: dt.date, last: dt.date, amount: str = "50.00") -> list[str]:
    out, day = [], first
    while day <= last:
        out.append(f"{ref},{day.isoformat()},{amount},visit")
        day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=min(day.day, 28))
    return out


def plant(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    """Staff Dana and Sam; clients:
    R1 regular (monthly to last week), active, vip, Dana, big spender;
    Q1 regular monthly for two years, silent since May: gone quiet, Sam;
    P1 prospect, never came, Dana, tagged family;
    X1 cancelled, came once in June 2025, Sam;
    D1 active, vip, do not contact, came in November;
    N1 active, no email, no phone, no address, came in October."""
    add_staff(engine, "Dana", email=None, now=NOW)
    add_staff(engine, "Sam", email=None, now=NOW)
    rows = [
        "id,name,owner,email,phone,address,tags,status,do_not_contact",
        "R1,Rita Regular,Dana,r1@example.com,+15035550101,1 Main St,vip,active,no",
        "Q1,Quinn Quiet,Sam,q1@example.com,+15035550102,2 Main St,,active,no",
        "P1,Pat Prospect,Dana,p1@example.com,+15035550103,3 Main St,family,prospect,no",
        "X1,Xan Cancelled,Sam,x1@example.com,+15035550104,4 Main St,,cancelled,no",
        "D1,Dee Donot,Dana,d1@example.com,+15035550105,5 Main St,vip,active,yes",
        "N1,Ned Nothing,Sam,,,,,active,no",
    ]
    visits = ["client_id,date,amount,kind"]
    visits += _monthly("R1", dt.date(2024, 1, 17), dt.date(2026, 11, 17), "400.00")
    visits += _monthly("Q1", dt.date(2024, 1, 10), dt.date(2026, 5, 10))
    visits += ["X1,2025-06-01,30.00,visit", "D1,2026-11-02,30.00,visit"]
    visits += ["N1,2026-10-01,30.00,visit"]
    for kind, lines in ((ImportKind.CLIENTS, rows), (ImportKind.ACTIVITIES, visits)):
        path = folder / f"{kind.value}.csv"
        path.write_text("\n".join(lines) + "\n")
        assert import_file(engine, settings, kind, path, today=TODAY, now=NOW).ok
    run_daily(engine, settings, day=TODAY, now=NOW)


def _refs(engine: sa.Engine, filters: Filters) -> set[str]:
    with reading(engine) as conn:
        return {r.ref for r in audiences.matching(conn, filters, today=TODAY)}


@pytest.fixture
def planted(engine: sa.Engine, settings: Settings, tmp_path: Path) -> sa.Engine:
    plant(engine, settings, tmp_path)
    return engine


@pytest.mark.parametrize(
    ("filters", "member", "outsider"),
    [
        (Filters(statuses=("prospect",)), "P1", "R1"),
        (Filters(tags=("VIP",)), "R1", "Q1"),
        (Filters(owners=("sam",)), "Q1", "R1"),
        (Filters(signals=("lapsing",)), "Q1", "R1"),
        (Filters(signals=("win_back",)), "X1", "Q1"),  # past: not seen for over a year
        (Filters(signals=("win_back",)), "X1", "P1"),  # never came: nothing to win back
        (Filters(last_visit_before=dt.date(2026, 1, 1)), "X1", "R1"),
        (Filters(last_visit_after=dt.date(2026, 6, 1)), "R1", "Q1"),
        (Filters(not_seen_since=dt.date(2026, 6, 1)), "P1", "R1"),
        (Filters(first_visit_after=dt.date(2026, 9, 1)), "D1", "R1"),  # new, not just recent
        (Filters(first_visit_after=dt.date(2020, 1, 1)), "R1", "P1"),  # never came: not new
        (Filters(value_tiers=("top",)), "R1", "X1"),
        (Filters(segments=("champions",)), "R1", "X1"),
    ],
)
def test_each_filter_picks_its_client_and_leaves_out_another(
    planted: sa.Engine, filters: Filters, member: str, outsider: str
) -> None:
    found = _refs(planted, filters)
    assert member in found
    assert outsider not in found


def test_filters_combine_with_and_and_values_within_one_with_or(planted: sa.Engine) -> None:
    assert _refs(planted, Filters(statuses=("active", "prospect"), tags=("vip", "family"))) == {
        "R1",
        "P1",
        "D1",
    }
    assert _refs(planted, Filters(statuses=("active",), tags=("vip",), owners=("Dana",))) == {
        "R1",
        "D1",
    }
    # never visited counts as not seen since; it is neither before nor after any date
    assert "P1" not in _refs(planted, Filters(last_visit_before=dt.date(2030, 1, 1)))


def test_gone_quiet_matches_what_today_calls_lapsing(planted: sa.Engine) -> None:
    with reading(planted) as conn:
        listed = conn.execute(
            sa.text(
                "SELECT c.external_id FROM actions a JOIN clients c ON c.id = a.client_id "
                "WHERE a.signals LIKE '%lapsing%'"
            )
        ).scalars()
        on_today = set(listed)
    assert on_today == {"Q1"}
    assert _refs(planted, Filters(signals=("lapsing",))) == on_today


def test_exclusions_carry_their_reason_and_do_not_contact_is_never_a_member(
    planted: sa.Engine,
) -> None:
    with reading(planted) as conn:
        found = audiences.audience(conn, Filters(), today=TODAY, channel="email")
        members = {r.ref for r in found.members}
        why = {e.client.ref: e.reason for e in found.excluded}
        # the batch evaluation says exactly what consent.refusal says, client by client
        for r in [*found.members, *(e.client for e in found.excluded)]:
            assert refusal(conn, r.id, "email") == why.get(r.ref)
    assert "D1" not in members and why["D1"] == "the client is marked do not contact"
    assert why["N1"] == "no email address"
    assert {"R1", "Q1", "P1", "X1"} <= members
    for channel, reason in (("sms", "no consent to texts on record"), ("letter", None)):
        with reading(planted) as conn:
            other = audiences.audience(conn, Filters(), today=TODAY, channel=channel)
        excluded = {e.client.ref: e.reason for e in other.excluded}
        assert "D1" in excluded and "D1" not in {r.ref for r in other.members}
        if reason:
            assert excluded["R1"] == reason
        else:
            assert excluded["N1"] == "no postal address"


def test_a_withdrawn_consent_excludes_at_the_next_evaluation(planted: sa.Engine) -> None:
    filters = Filters(tags=("vip",))
    first = audiences.preview(planted, filters, today=TODAY, channel="email")
    assert [r.ref for r in first.sample] == ["R1"]
    set_consent(planted, "R1", "email", False, actor="test", now=NOW, source="unsubscribe")
    second = audiences.preview(planted, filters, today=TODAY, channel="email")
    assert second.count == 0
    reasons = {g.reason: g.count for g in second.excluded}
    assert reasons == {"the client is marked do not contact": 1, "unsubscribed": 1}
    assert second.as_json()["excluded_count"] == 2


def test_preview_counts_samples_and_groups_the_excluded(planted: sa.Engine) -> None:
    found = audiences.preview(planted, Filters(), today=TODAY, channel="email", sample=2)
    assert found.count == 4 and len(found.sample) == 2
    assert found.excluded_count == 2
    assert {g.reason for g in found.excluded} == {
        "the client is marked do not contact",
        "no email address",
    }
    assert found.description == "all clients"


def test_filters_round_trip_and_refuse_bad_values_by_name() -> None:
    f = Filters(
        statuses=("active",),
        tags=("vip",),
        not_seen_since=dt.date(2025, 12, 1),
        value_tiers=("top",),
    )
    assert Filters.from_dict(f.to_dict()) == f
    assert f.describe() == "active clients tagged vip, not seen since 1 Dec 2025, top value tier"
    with pytest.raises(InvalidInput, match="last_visit_before: expected a date such as"):
        Filters.from_dict({"last_visit_before": "soon"})
    with pytest.raises(InvalidInput, match="colour: not a filter"):
        Filters.from_dict({"colour": ["red"]})
    with pytest.raises(InvalidInput, match="value_tiers: 'gold' is not one of"):
        Filters.from_dict({"value_tiers": ["gold"]})
    with pytest.raises(InvalidInput, match="signals"):
        Filters.from_dict({"signals": ["sad"]})


def test_a_saved_filter_is_a_starting_point_its_own_values_override(planted: sa.Engine) -> None:
    audiences.save_filter(planted, "vip", Filters(tags=("vip",)), actor="test", now=NOW)
    assert _refs(planted, Filters(saved="vip")) == {"R1", "D1"}
    assert _refs(planted, Filters(saved="vip", tags=("family",))) == {"P1"}
    assert _refs(planted, Filters(saved="vip", owners=("Sam",))) == set()


def test_the_welcome_starting_point_picks_new_clients_not_recent_regulars(
    planted: sa.Engine,
) -> None:
    from keepwarm.services.campaigns import from_starting_point

    filters = from_starting_point("welcome", today=TODAY)["filters"]
    assert filters == Filters(statuses=("active",), first_visit_after=dt.date(2026, 10, 25))
    # D1 first came on 2 November; R1 came last week but has come monthly since 2024.
    assert _refs(planted, filters) == {"D1"}
    assert filters.describe() == "active clients, first visit after 25 Oct 2026"


def test_first_visit_after_round_trips_and_is_refused_by_name() -> None:
    f = Filters(first_visit_after=dt.date(2026, 11, 1))
    assert f.to_dict() == {"first_visit_after": "2026-11-01"}
    assert Filters.from_dict(f.to_dict()) == f
    with pytest.raises(InvalidInput, match=r"^first_visit_after:"):
        Filters.from_dict({"first_visit_after": "soon"})
