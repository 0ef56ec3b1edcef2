"""The owner's Households page (accept with the name edited, reject) and the household part
of a client's page (shown to staff too, set and cleared by the owner); staff are refused with
the reason; a form without its token is refused. On SQLite and PostgreSQL (the browser test:
test_households_browser)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services import households as svc
from keepwarm.services.importing import import_file
from keepwarm.store.tables import audit_log

CLIENTS = (
    "id,name,last_name,address,phone,owner\n"
    'M1,Ann Morris,Morris,"3 Oak Lane, Salem",,Dana\n'
    'M2,Bob Morris,Morris,"3 oak lane salem",,Dana\n'
    "L1,Dee Park,,1 Oak Road,+44 20 7946 0958,\n"
    "L2,Eve Hart,,2 Oak Road,+44 20 7946 0958,\n"
    "S1,Sol Lee,Lee,5 Pine Road,,Dana\n"
)


def _practice(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    path = folder / "c.csv"
    path.write_text(CLIENTS)
    assert import_file(engine, settings, ImportKind.CLIENTS, path, today=TODAY, now=NOW).ok


def _key(engine: sa.Engine, first: str) -> str:
    return next(s.key for s in svc.suggestions(engine) if s.members[0].external_id == first)


def test_the_owner_accepts_one_rejects_another_and_staff_see_the_household(  # type: ignore[no-untyped-def]
    web, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    _practice(engine, settings, tmp_path)
    staff = web("dana@example.com", role="staff", staff="Dana")
    refused = staff.get("/households")
    assert refused.status_code == 403 and "only the owner can" in refused.text
    assert staff.post("/households/accept", {"key": _key(engine, "M1")}).status_code == 403
    assert staff.post("/households/set", {"client": "S1", "name": "X"}).status_code == 403
    owner = web("owner@example.com")
    assert 'href="/households"' in owner.get("/clients").text
    assert 'href="/households"' not in staff.get("/clients").text

    page = owner.get("/households")
    assert page.status_code == 200
    assert "same address and last name: 3 Oak Lane, Salem, Morris" in page.text
    assert "same landline: +442079460958" in page.text
    morris, parks = _key(engine, "M1"), _key(engine, "L1")
    no_token = owner.client.post("/households/accept", data={"key": morris})
    assert no_token.status_code == 403 and svc.households(engine) == []
    done = owner.post("/households/accept", {"key": morris, "name": "The Morrises"})
    assert done.status_code == 303
    clash = owner.post("/households/accept", {"key": parks, "name": "the morrises"})
    assert clash.status_code == 400
    assert "a household called &#39;The Morrises&#39; exists already" in clash.text
    assert owner.post("/households/reject", {"key": parks}).status_code == 303
    page = owner.get(done.headers["location"])
    assert "Household saved" in page.text and "No household suggestions." in page.text
    assert 'data-household="The Morrises"' in page.text

    # Staff see the household on a member's page, with the other member linked, but no form.
    ann = staff.get("/clients/M1").text
    assert "The Morrises" in ann and 'href="/clients/M2"' in ann
    assert 'action="/households/set"' not in ann
    # The owner puts Sol in it from his page, then takes him out.
    assert 'action="/households/set"' in owner.get("/clients/S1").text
    moved = owner.post("/households/set", {"client": "S1", "name": "the morrises"})
    assert moved.status_code == 303 and moved.headers["location"].startswith("/clients/S1")
    assert 'href="/clients/M1"' in owner.get("/clients/S1").text
    assert [m.external_id for m in svc.households(engine)[0].members] == ["M1", "M2", "S1"]
    owner.post("/households/set", {"client": "S1", "clear": "yes"})
    assert "In no household." in owner.get("/clients/S1").text
    with engine.connect() as conn:
        entries = conn.execute(
            sa.select(sa.func.count()).where(audit_log.c.action == "household")
        ).scalar_one()
    assert entries == 2 + 2 + 2  # accepted (2 members), rejected (2), Sol in and out


def test_a_campaign_s_preview_page_says_how_many_go_out_one_per_household(  # type: ignore[no-untyped-def]
    web, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    from keepwarm.services import campaigns

    _practice(engine, settings, tmp_path)
    svc.accept(engine, _key(engine, "M1"), by=None, now=NOW)
    start = campaigns.from_starting_point("holiday-cards", today=TODAY)
    start["holdout_share"] = 0.0
    campaigns.create(engine, "cards", waves=[TODAY], by=None, now=NOW, **start)
    page = web("owner@example.com").get("/campaigns/cards/preview")
    assert page.status_code == 200
    # five clients with an address; the two Morrises share one card
    assert 'data-pieces="4"' in page.text and "1 one per household" in page.text
