"""Campaigns for the attribution tests, written with plain inserts (independent of the campaign
engine): a campaign, its waves, its members in their arms, and the members' activities."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from keepwarm.store.tables import (
    activities,
    campaign_members,
    campaign_sends,
    campaign_waves,
    campaigns,
    clients,
)

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def add_client(conn: sa.Connection, name: str) -> int:
    """A client called `name` (its external id too); returns its internal id."""
    return int(
        conn.execute(
            sa.insert(clients)
            .values(external_id=name, name=name, created_at=NOW, updated_at=NOW)
            .returning(clients.c.id)
        ).scalar_one()
    )


def add_visit(conn: sa.Connection, client_id: int, on: dt.date, cents: int | None) -> None:
    """An activity of the client on `on` worth `cents`."""
    key = f"test:{client_id}:{on.isoformat()}:{cents}"
    conn.execute(
        sa.insert(activities).values(client_id=client_id, key=key, date=on, amount_cents=cents)
    )


def add_campaign(
    conn: sa.Connection,
    name: str,
    *,
    kind: str = "win_back",
    waves: tuple[tuple[dt.date, bool | dt.datetime], ...] = (),
    return_days: int = 60,
) -> int:
    """A campaign with waves (date, sent?); returns its id. A wave sent (True) went out at
    9:00 UTC on its own date; a datetime is when it went out instead (late or early)."""
    campaign_id = int(
        conn.execute(
            sa.insert(campaigns)
            .values(
                name=name,
                kind=kind,
                channel="email",
                subject="We miss you",
                body="Just thinking of you.",
                return_days=return_days,
                created_by="owner@example.com",
                created_at=NOW,
                updated_at=NOW,
            )
            .returning(campaigns.c.id)
        ).scalar_one()
    )
    for on, sent in waves:
        at = sent if isinstance(sent, dt.datetime) else None
        if sent is True:
            at = dt.datetime.combine(on, dt.time(9), tzinfo=dt.UTC)
        conn.execute(sa.insert(campaign_waves).values(campaign_id=campaign_id, on=on, sent_at=at))
    return campaign_id


def add_member(conn: sa.Connection, campaign_id: int, client_id: int, arm: str) -> None:
    conn.execute(
        sa.insert(campaign_members).values(
            campaign_id=campaign_id, client_id=client_id, arm=arm, joined_at=NOW
        )
    )


def skip_send(conn: sa.Connection, campaign_id: int, client_id: int, reason: str) -> None:
    """Record that the first wave's message to the client did not get through."""
    wave_id = conn.execute(
        sa.select(sa.func.min(campaign_waves.c.id)).where(
            campaign_waves.c.campaign_id == campaign_id
        )
    ).scalar_one()
    conn.execute(
        sa.insert(campaign_sends).values(
            wave_id=wave_id, client_id=client_id, skipped_reason=reason, created_at=NOW
        )
    )


FIRST_WAVE = dt.date(2026, 9, 1)  # return window: 2 September .. 31 October 2026 (60 days)


def hand_worked(engine: sa.Engine, name: str = "Autumn win-back") -> None:
    """The hand-worked campaign of tests/test_campaign_results.py.

    Treated (8): T0 back 10 Sep (50.00), T1 back 31 Oct, the window's last day (20.00), T2 seen
    only on the wave's own day (outside), T3 only on 1 Nov (outside), T4 back 1 Oct (30.00)
    though its message bounced, T5 back twice (10.00 + 15.00), T6 and T7 not back.
    -> 4 of 8 back; revenue 125.00 / 8 = 15.625 per client.
    Held out (4): H0 back 20 Sep (40.00), H1 seen only 1 Aug (before), H2, H3 not back.
    -> 1 of 4 back; revenue 40.00 / 4 = 10.00 per client.
    A later wave not sent yet changes nothing; a client outside the campaign who came back
    does not count.
    """
    with engine.begin() as conn:
        cid = add_campaign(conn, name, waves=((FIRST_WAVE, True), (dt.date(2026, 12, 1), False)))
        ids = {
            n: add_client(conn, f"{name} {n}")
            for n in ["T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "H0", "H1", "H2", "H3", "X"]
        }
        for n, i in ids.items():
            if n != "X":
                add_member(conn, cid, i, "treated" if n.startswith("T") else "holdout")
        visits = [
            ("T0", dt.date(2026, 9, 10), 5000),
            ("T1", dt.date(2026, 10, 31), 2000),
            ("T2", FIRST_WAVE, 9999),
            ("T3", dt.date(2026, 11, 1), 7777),
            ("T4", dt.date(2026, 10, 1), 3000),
            ("T5", dt.date(2026, 9, 5), 1000),
            ("T5", dt.date(2026, 9, 25), 1500),
            ("H0", dt.date(2026, 9, 20), 4000),
            ("H1", dt.date(2026, 8, 1), 6000),
            ("X", dt.date(2026, 9, 15), 8000),
        ]
        for n, on, cents in visits:
            add_visit(conn, ids[n], on, cents)
        skip_send(conn, cid, ids["T4"], "bounced")
