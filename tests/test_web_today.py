"""The Today page's owner view: per member, the quota that applies and where it comes from,
their daily capacity and how many actions wait for a place; the owner moves a member's
waiting actions to another member (staff may not). On both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.services.todays_list import waiting_list
from keepwarm.services.users import add_user, create_token
from test_web_api import Api
from web_support import PASSWORD


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for where in ("keepwarm.web.auth.clock", "keepwarm.web.pages.clock", "keepwarm.web.api.clock"):
        monkeypatch.setattr(where, lambda: NOW)


def _practice(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    """Dana (the practice's quota, her own capacity of 1) with four clients to contact, Sam
    (his own quota of 4, the practice's capacity) with one."""
    add_staff(engine, "Dana", email=None, daily_capacity=1, now=NOW)
    add_staff(engine, "Sam", email=None, weekly_quota=4, now=NOW)
    clients = ["id,name,owner,email,phone,tags"]
    visits = ["client_id,date,amount,kind"]
    for i, owner in enumerate(["Dana"] * 4 + ["Sam"]):
        clients.append(f"C{i},Client {i},{owner},c{i}@example.com,+1503555010{i},vip")
        visits.append(f"C{i},2025-01-0{i + 1},50.00,visit")
    for kind, lines in ((ImportKind.CLIENTS, clients), (ImportKind.ACTIVITIES, visits)):
        path = folder / f"{kind.value}.csv"
        path.write_text("\n".join(lines) + "\n")
        assert import_file(engine, settings, kind, path, today=TODAY, now=NOW).ok
    run_daily(engine, settings, day=TODAY, now=NOW)


def _line(html: str, staff: str) -> str:
    start = html.index(f'class="allowance muted" data-staff="{staff}"')
    return html[start : html.index("</li>", start)]


def test_owner_sees_each_allowance_and_waiting_and_moves_the_queue(  # type: ignore[no-untyped-def]
    web, web_app, engine, settings, tmp_path
) -> None:
    _practice(engine, settings, tmp_path)
    waiting = len(waiting_list(engine, "Dana"))
    assert waiting == 3  # four reasons, room for one a day
    owner = web()
    html = owner.get("/today").text
    dana, sam = _line(html, "Dana"), _line(html, "Sam")
    assert "2 a week, practice default; up to 1 a day, own" in dana
    assert f'data-waiting="{waiting}">{waiting} waiting' in dana
    assert "4 a week, own; up to 5 a day, practice default" in sam
    assert "waiting" not in sam
    assert 'action="/today/waiting/move"' in html
    assert '<option value="Sam" selected>Sam</option>' in html  # the one with the most room
    user = add_user(engine, "api@example.com", PASSWORD, "owner", now=NOW)
    caller = Api(web_app, create_token(engine, user.id, "test", now=NOW))
    assert caller.get("/api/v1/today").json()["waiting"] == {"Dana": waiting}

    # Staff see their own line, and may not move anyone's queue.
    staff = web("dana@example.com", role="staff", staff="Dana")
    mine = staff.get("/today").text
    assert 'data-staff="Sam"' not in mine and 'action="/today/waiting/move"' not in mine
    refused = staff.post("/today/waiting/move", {"from_staff": "Dana", "to_staff": "Sam"})
    assert refused.status_code == 403
    assert len(waiting_list(engine, "Dana")) == waiting

    # The owner moves two, then the rest.
    two = {"from_staff": "Dana", "to_staff": "Sam", "count": "2"}
    moved = owner.post("/today/waiting/move", two)
    assert moved.status_code == 303 and "msg=moved" in moved.headers["location"]
    assert len(waiting_list(engine, "Dana")) == waiting - 2
    assert len(waiting_list(engine, "Sam")) == 2
    bad = owner.post("/today/waiting/move", {"from_staff": "Dana", "to_staff": "Dana"})
    assert bad.status_code == 400
    owner.post("/today/waiting/move", {"from_staff": "Dana", "to_staff": "Sam"})
    assert waiting_list(engine, "Dana") == []
    html = owner.get("/today").text
    assert "waiting" not in _line(html, "Dana")
    assert 'data-waiting="3">3 waiting' in _line(html, "Sam")
    assert caller.get("/api/v1/today").json()["waiting"] == {"Sam": waiting}
