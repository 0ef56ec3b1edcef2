"""Drafts are personal: rendered from the client's own history, talking points for calls,
the owner's templates when they have written one, and a sandbox around what they write."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import Client, SignalCode
from keepwarm.domain.policy import TEMPLATE_FORMS, Policy
from keepwarm.domain.signals import ClientFacts, Signal
from keepwarm.messaging.drafts import draft_for, render_draft, template_key
from keepwarm.messaging.templates import DEFAULTS
from keepwarm.rules import signals_for

TODAY = dt.date(2026, 11, 24)


def _facts(name: str, kind: str, last: dt.date, **client: object) -> ClientFacts:
    return ClientFacts(
        client=Client(id=name[:3].upper(), name=name, **client),  # type: ignore[arg-type]
        first_activity=dt.date(2020, 3, 1),
        last_activity=last,
        last_activity_kind=kind,
        last_by_kind={kind: last},
    )


def _signal(code: SignalCode, explanation: str = "because", key: str = "k") -> Signal:
    return Signal(code, explanation, 0.8, key)


def test_two_clients_with_different_histories_get_visibly_different_drafts() -> None:
    anna = _facts("Anna Smith", "check-up", TODAY - dt.timedelta(days=122))
    bob = _facts("Bob Jones", "pilates class", TODAY - dt.timedelta(days=400))
    lapsing = [_signal(SignalCode.LAPSING)]
    a = render_draft(anna, lapsing, "card", staff="Dana", today=TODAY)
    b = render_draft(bob, lapsing, "card", staff="Sam", today=TODAY)
    assert a.startswith("Dear Anna,") and b.startswith("Dear Bob,")
    assert "4 months" in a and "check-up" in a and a.endswith("Dana")
    assert "13 months" in b and "pilates class" in b and b.endswith("Sam")


def test_a_call_gets_talking_points_with_every_reason_not_a_letter() -> None:
    facts = _facts("Anna Smith", "check-up", TODAY - dt.timedelta(days=122), phone="+1415")
    signals = [
        _signal(SignalCode.LAPSING, "usually every 2 weeks; last visit 122 days ago"),
        _signal(SignalCode.CADENCE_OVERDUE, "no personal contact for 214 days"),
    ]
    draft = render_draft(facts, signals, "call", staff="Dana", today=TODAY)
    assert draft.startswith("Call Anna Smith (+1415).")
    assert "Dear" not in draft
    assert "- Why: usually every 2 weeks; last visit 122 days ago" in draft
    assert "- Why: no personal contact for 214 days" in draft


def test_occasion_drafts_name_the_occasion() -> None:
    facts = _facts("Zoë Müller", "visit", TODAY - dt.timedelta(days=20))
    policy = Policy(holiday_names=("christmas",), holiday_lead_days=40)
    signals = [s for s in signals_for(facts, policy, TODAY) if s.code is SignalCode.HOLIDAY]
    assert signals, "a Christmas card is due within the lead time"
    draft = render_draft(facts, signals, "card", staff=None, today=TODAY)
    assert "Christmas" in draft and draft.startswith("Dear Zoë,") and "the team" in draft


@pytest.mark.parametrize("code", [c for c in SignalCode if c is not SignalCode.WIN_BACK])
@pytest.mark.parametrize("channel", ["card", "email", "call"])
def test_every_default_template_renders(code: SignalCode, channel: str) -> None:
    facts = _facts(
        "Anna Smith", "check-up", TODAY - dt.timedelta(days=30), since=dt.date(2020, 1, 5)
    )
    draft = render_draft(facts, [_signal(code)], channel, staff="Dana", today=TODAY)
    assert "Anna" in draft
    assert "{{" not in draft and "{%" not in draft


def test_the_owners_own_template_is_used_and_a_broken_one_names_itself() -> None:
    facts = _facts("Anna Smith", "check-up", TODAY - dt.timedelta(days=30))
    mine = {"birthday.letter": "Hi {{ first_name }}, happy birthday from {{ staff }}!"}
    draft = render_draft(
        facts, [_signal(SignalCode.BIRTHDAY)], "card", staff="Dana", today=TODAY, templates=mine
    )
    assert draft == "Hi Anna, happy birthday from Dana!"
    with pytest.raises(InvalidInput, match=r"birthday\.letter"):
        render_draft(
            facts,
            [_signal(SignalCode.BIRTHDAY)],
            "card",
            staff="Dana",
            today=TODAY,
            templates={"birthday.letter": "Hi {{ nickname }}"},
        )


def test_a_template_cannot_reach_outside_its_sandbox() -> None:
    facts = _facts("Anna Smith", "check-up", TODAY - dt.timedelta(days=30))
    evil = {"birthday.letter": "{{ first_name.__class__.__mro__[1].__subclasses__() }}"}
    with pytest.raises(InvalidInput):
        render_draft(
            facts, [_signal(SignalCode.BIRTHDAY)], "card", staff="Dana", today=TODAY, templates=evil
        )


@pytest.mark.parametrize(
    ("source", "said"),
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "loops",
        ),
        ("{{ 'x' * 100000000 }}", "over 20,000 long"),
        ("{{ 100000000 * 'x' }}", "over 20,000 long"),
        ("{% for i in range(3000) %}{{ 'abcdefghij' }}{% endfor %}", "over 20,000 characters"),
        ("{{ 10 ** 100000 }}", "power over 100"),
    ],
)
def test_a_template_that_would_hang_or_balloon_is_stopped(source: str, said: str) -> None:
    facts = _facts("Anna Smith", "check-up", TODAY - dt.timedelta(days=30))
    with pytest.raises(InvalidInput, match=said):
        render_draft(
            facts,
            [_signal(SignalCode.BIRTHDAY)],
            "card",
            staff="Dana",
            today=TODAY,
            templates={"birthday.letter": source},
        )


def test_ordinary_loops_and_repeats_still_work_in_a_template() -> None:
    facts = _facts("Anna Smith", "check-up", TODAY - dt.timedelta(days=30))
    text = render_draft(
        facts,
        [_signal(SignalCode.BIRTHDAY)],
        "card",
        staff="Dana",
        today=TODAY,
        templates={"birthday.letter": "{% for i in range(3) %}{{ i }}{% endfor %} {{ '-' * 5 }}"},
    )
    assert text == "012 -----"


def test_every_signal_has_a_letter_and_a_call_template() -> None:
    for code in SignalCode:
        if code is SignalCode.WIN_BACK:
            continue
        for channel in ("card", "call"):
            assert template_key(_signal(code), channel) in DEFAULTS


def test_an_anniversary_draft_counts_the_years_to_the_day_itself() -> None:
    # since 1 Dec 2021; a week before the fifth anniversary it is five years, not four
    facts = _facts("Cara Long", "check-up", TODAY, since=dt.date(2021, 12, 1))
    signals = signals_for(facts, Policy(), TODAY)
    top = [s for s in signals if s.code is SignalCode.ANNIVERSARY]
    draft = render_draft(facts, top, "card", staff="Dana", today=TODAY)
    assert "It is 5 years since you first came to us" in draft


def test_a_key_purchase_anniversary_draft_names_the_purchase() -> None:
    bought = dt.date(2024, 11, 28)
    facts = _facts("Dev Home", "house purchase", bought, since=dt.date(2019, 5, 10))
    policy = Policy(key_purchases=("house purchase",))
    found = [s for s in signals_for(facts, policy, TODAY) if s.code is SignalCode.ANNIVERSARY]
    assert [s.reason_key for s in found] == ["anniversary:house purchase:2024-11-28:2026"]
    draft = render_draft(facts, found, "card", staff="Dana", today=TODAY)
    assert "It is 2 years since your house purchase with us" in draft
    call = render_draft(facts, found, "call", staff="Dana", today=TODAY)
    assert "2 years since their house purchase" in call


# --- drafts per channel ------------------------------------------------------------------------

CLIENT_CHANNELS = ("email", "card", "letter", "sms")
FORBIDDEN = ("chance", "risk", "priority", "score", "probab", "$", "value", "urgency")
# what the rules write, numbers and all: none of it may reach a message to the client
INTERNAL = "usually every 2 weeks; last visit 122 days ago (8x the usual gap); 4% chance "
INTERNAL += "still active; about $150 a month at risk; priority 6.09 = value 4.44 x urgency 1.37"


def _generated_practice() -> list[ClientFacts]:
    """Clients of a generated practice (tests/scenarios), as the drafts see them."""
    from scenarios import stories

    out = []
    for person in stories.busy_practice().clients[:12]:
        dates = sorted(v.date for v in person.visits)
        kinds = {v.kind: v.date for v in person.visits}
        client = Client(
            id=person.id,
            name=f"{person.first} {person.last}",
            first_name=person.first,
            phone="+15035550100",
            since=person.since,
            next_due=person.next_due,
        )
        out.append(
            ClientFacts(
                client,
                first_activity=dates[0] if dates else None,
                last_activity=dates[-1] if dates else None,
                last_activity_kind=person.visits[-1].kind if person.visits else None,
                last_by_kind=kinds,
            )
        )
    return out


@pytest.mark.parametrize("code", list(SignalCode))
def test_every_client_facing_draft_greets_signs_off_and_keeps_internal_numbers_out(
    code: SignalCode,
) -> None:
    practice = _generated_practice()
    assert len(practice) == 12
    for facts in practice:
        first, staff = facts.client.first_name, "Ana Ortiz"
        said = f"Christmas on Fri 25 Dec; {INTERNAL}" if code is SignalCode.HOLIDAY else INTERNAL
        signals = [Signal(code, said, 0.8, f"{code.value}:2026")]
        for channel in CLIENT_CHANNELS:
            draft = draft_for(facts, signals, channel, staff=staff, today=TODAY)
            assert draft.for_client
            text = f"{draft.subject}\n{draft.text}"
            assert first and first in draft.text, (code, channel, draft.text)
            assert staff in draft.text, (code, channel, draft.text)
            assert not re.search(r"\d\s*%", text), (code, channel, text)
            lowered = text.lower()
            assert not [w for w in FORBIDDEN if w in lowered], (code, channel, text)
            if channel == "email":
                assert draft.subject.strip() and draft.subject != "Hello"
            else:
                assert draft.subject == ""
        call = draft_for(facts, signals, "call", staff=staff, today=TODAY)
        assert not call.for_client and call.text.startswith(f"Call {facts.client.name}")
        assert "4% chance" in call.text  # talking points for staff keep the numbers


def test_a_client_on_the_list_without_a_known_reason_gets_a_hello_and_the_note_in_the_call() -> (
    None
):
    facts = _facts("Anna Smith", "check-up", TODAY - dt.timedelta(days=30))
    email = draft_for(facts, [], "email", staff="Dana", today=TODAY, notes=("ask about glasses",))
    assert email.subject == "Thinking of you, Anna"
    assert email.text.startswith("Dear Anna,") and email.text.endswith("Dana")
    assert "glasses" not in email.text  # a note for staff stays with staff
    call = draft_for(facts, [], "call", staff="Dana", today=TODAY, notes=("ask about glasses",))
    assert "- Why: ask about glasses" in call.text


def test_the_owners_subject_and_text_are_used_and_a_broken_one_gives_way_to_the_default() -> None:
    facts = _facts("Anna Smith", "check-up", TODAY - dt.timedelta(days=30))
    mine = {"birthday.subject": "Many happy returns, {{ first_name }}", "birthday.sms": "{{ x }}"}
    signals = [_signal(SignalCode.BIRTHDAY)]
    email = draft_for(facts, signals, "email", staff="Dana", today=TODAY, templates=mine)
    assert email.subject == "Many happy returns, Anna"
    sms = draft_for(facts, signals, "sms", staff="Dana", today=TODAY, templates=mine)
    assert sms.text == "Hi Anna, happy birthday from all of us! - Dana"
    assert {k.split(".")[1] for k in DEFAULTS} == set(TEMPLATE_FORMS)
