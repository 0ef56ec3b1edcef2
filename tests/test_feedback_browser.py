"""The feedback page in headless Chromium, on a phone (390x844) and a desktop: the question's
eleven answers are large enough to tap and fit the screen, the form works without any script
(nothing is refused by the Content-Security-Policy), and the answer is recorded once."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa

from keepwarm.store.tables import clients, feedback_requests

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


def feedback_link(engine: sa.Engine, token: str) -> str:
    """A feedback request for the first client with an email, whose link's token is `token`
    (made once: calling again returns the same path), about a visit of its own (one request
    per client and visit)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with engine.begin() as conn:
        have = conn.execute(
            sa.select(feedback_requests.c.id).where(feedback_requests.c.token_hash == digest)
        ).first()
        if have is None:
            client = conn.execute(
                sa.select(clients.c.id, clients.c.owner_id)
                .where(clients.c.email.is_not(None))
                .order_by(clients.c.id)
                .limit(1)
            ).one()
            asked = conn.execute(
                sa.select(sa.func.count())
                .select_from(feedback_requests)
                .where(feedback_requests.c.client_id == client.id)
            ).scalar_one()
            conn.execute(
                sa.insert(feedback_requests).values(
                    client_id=client.id,
                    staff_id=client.owner_id,
                    visit_date=NOW.date() - dt.timedelta(days=2 + asked),
                    channel="email",
                    token_hash=digest,
                    created_at=NOW,
                    expires_at=NOW + dt.timedelta(days=3650),
                )
            )
    return f"/feedback/{token}"


def test_on_a_phone_and_a_desktop_the_client_answers_with_large_targets(
    tmp_path_factory: Any,
) -> None:
    from browser_support import Watch, chromium, demo_site

    with chromium() as browser, demo_site(tmp_path_factory) as site:
        for name, (width, height) in SIZES.items():
            path = feedback_link(site.engine, f"browser-feedback-{name}")
            context = browser.new_context(
                locale="en-US", viewport={"width": width, "height": height}
            )
            page = context.new_page()
            page.set_default_timeout(10_000)
            watch = Watch(site.url)
            watch.attach(page)
            page.goto(site.url + path)
            group = page.get_by_role("group", name="How likely are you to recommend")
            assert group.get_by_role("radio").count() == 11
            for label in page.locator("label.scale-option").all():
                box = label.bounding_box()
                assert box is not None and box["width"] >= 44 and box["height"] >= 44, name
            overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert not overflow, f"the page scrolls sideways on the {name}"
            page.screenshot(path=str(tmp_path_factory.mktemp("shots") / f"feedback-{name}.png"))
            page.get_by_role("radio", name="3", exact=True).check()
            page.get_by_label("Anything you would like to tell us?").fill("waited 40 minutes")
            page.get_by_role("button", name="Send my answer").click()
            page.get_by_role("heading", name="Thank you").wait_for()
            page.go_back()
            page.reload()
            page.get_by_text("we already have your answer").wait_for()
            watch.assert_clean()
            context.close()
        with site.engine.connect() as conn:
            answers = conn.execute(
                sa.select(feedback_requests.c.score, feedback_requests.c.comment).where(
                    feedback_requests.c.answered_at.is_not(None)
                )
            ).all()
    assert sorted(tuple(a) for a in answers) == [(3, "waited 40 minutes")] * 2
