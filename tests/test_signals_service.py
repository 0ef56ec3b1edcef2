"""Signals from the store: a practice imported through the CSV path, rhythms learned, and the
pure rules applied to every client's facts, on both backends."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from keepwarm.domain.model import SignalCode
from keepwarm.services.signals import client_facts, signals_today

AS_OF = dt.date(2026, 6, 30)


def _write(folder: Path) -> tuple[Path, Path, Path]:
    rng = random.Random(9)
    clients = ["id,name,email,phone,status,cancelled_on,do_not_contact,tags"]
    visits = ["client_id,date,amount,kind"]
    for i in range(120):  # enough of a practice for a population model
        clients.append(f"B{i:03d},Client {i},b{i}@example.com,,active,,no,")
        gap = rng.choice([14, 30, 60, 120])
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(40))
        while day <= AS_OF:
            visits.append(f"B{i:03d},{day},{rng.choice([40, 60])}.00,visit")
            day += dt.timedelta(days=max(1, round(rng.expovariate(1 / gap))))
    clients += [
        "TWICE,Twice Monthly,t@example.com,,active,,no,",
        "YEARLY,Once Ayear,y@example.com,,active,,no,",
        "GONE,Gave Notice,g@example.com,,cancelled,2026-06-10,no,",
        "CALLED,Called Yesterday,c@example.com,,active,,no,key",
        "QUIET,Do Not Call,q@example.com,,active,,yes,key",
    ]
    day = dt.date(2024, 1, 1)
    while day <= AS_OF - dt.timedelta(days=122):
        for cid in ("TWICE", "QUIET"):
            visits.append(f"{cid},{day},75.00,visit")
        day += dt.timedelta(days=15)
    for year in range(2022, 2027):
        visits.append(f"YEARLY,{year}-03-01,120.00,visit")
    visits += ["GONE,2026-05-20,90.00,visit", "CALLED,2026-05-01,90.00,visit"]
    touches = [
        "client_id,date,channel,staff",
        "CALLED,2026-06-29,call,",
        "GONE,2026-06-01,newsletter,",
    ]
    paths = folder / "clients.csv", folder / "visits.csv", folder / "touches.csv"
    for path, lines in zip(paths, (clients, visits, touches), strict=True):
        path.write_text("\n".join(lines) + "\n")
    return paths


@pytest.fixture
def practice(cli, engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    for kind, path in zip(("clients", "activities", "touches"), _write(tmp_path), strict=True):
        result = cli("import", kind, str(path))
        assert result.exit_code == 0, result.output
    assert cli("rhythm", "--as-of", AS_OF.isoformat()).exit_code == 0
    return {s.facts.client.id: s for s in signals_today(engine, AS_OF)}


def _codes(found, client_id: str) -> set[SignalCode]:  # type: ignore[no-untyped-def]
    return {s.code for s in found[client_id].signals} if client_id in found else set()


def test_a_twice_monthly_client_silent_four_months_is_lapsing(practice) -> None:  # type: ignore[no-untyped-def]
    assert SignalCode.LAPSING in _codes(practice, "TWICE")
    lapsing = next(s for s in practice["TWICE"].signals if s.code is SignalCode.LAPSING)
    assert "usually every 2 weeks" in lapsing.explanation


def test_a_yearly_client_silent_four_months_is_not_lapsing(practice) -> None:  # type: ignore[no-untyped-def]
    assert SignalCode.LAPSING not in _codes(practice, "YEARLY")


def test_notice_given_with_no_personal_touch_since_is_a_cancellation(practice) -> None:  # type: ignore[no-untyped-def]
    # The newsletter before the notice is not a personal touch and changes nothing.
    signals = practice["GONE"].signals
    assert signals[0].code is SignalCode.CANCELLATION
    assert signals[0].urgency == max(s.urgency for s in signals)


def test_a_client_touched_yesterday_is_not_overdue_for_cadence(practice) -> None:  # type: ignore[no-untyped-def]
    assert SignalCode.CADENCE_OVERDUE not in _codes(practice, "CALLED")


def test_a_do_not_contact_client_has_no_signals(practice) -> None:  # type: ignore[no-untyped-def]
    assert "QUIET" not in practice


def test_facts_count_only_what_happened_up_to_the_day(engine, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for kind, path in zip(("clients", "activities", "touches"), _write(tmp_path), strict=True):
        assert cli("import", kind, str(path)).exit_code == 0
    facts = {f.client.id: f for f in client_facts(engine, dt.date(2026, 5, 31))}
    called = facts["CALLED"]
    assert called.last_activity == dt.date(2026, 5, 1)
    assert called.last_activity_kind == "visit"
    assert called.last_personal_touch is None  # the call on 29 June is after the day
    assert facts["GONE"].last_personal_touch is None  # a newsletter is not personal
    assert facts["YEARLY"].first_activity == dt.date(2022, 3, 1)
    assert facts["YEARLY"].last_by_kind["visit"] == dt.date(2026, 3, 1)
