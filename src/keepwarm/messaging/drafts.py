"""Personal drafts: a message (or, for calls, talking points) for one action, rendered from
the template for its most urgent signal with what is known about the client.

`draft_for` is the one function that writes the draft of an action for a channel: talking
points for staff on a call, visit or meeting; a message written to the client (a greeting with
their first name, a sentence from their history, a sign-off with the staff member's name, and
a subject line for an email) on every other channel. The Today page, the printable letter,
`keepwarm today` and the API all show what it writes.

Templates are Jinja2, rendered in a sandbox because the owner edits them. Plain text, no
HTML: whatever shows a draft on a web page escapes it there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jinja2 import Template, TemplateError

from keepwarm import explain
from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import Client, SignalCode
from keepwarm.domain.signals import ClientFacts, Signal
from keepwarm.messaging.sandbox import LimitedSandbox, render_limited
from keepwarm.messaging.templates import DEFAULTS, HELLO

log = logging.getLogger(__name__)

TALKING_POINT_CHANNELS = ("call", "visit", "meeting")
"""Channels where staff speak to the client: the draft is talking points for staff."""
_FORM_OF_CHANNEL = {"sms": "sms"}
_ENV = LimitedSandbox()


def form_for(channel: str) -> str:
    """The template form a channel's draft is written from: "call" (talking points), "sms",
    or "letter" (a card, a letter, an email's body, a note)."""
    if channel in TALKING_POINT_CHANNELS:
        return "call"
    return _FORM_OF_CHANNEL.get(channel, "letter")


@dataclass(frozen=True)
class Draft:
    """The draft of one action for one channel; `subject` is set for an email only."""

    channel: str
    text: str
    subject: str = ""

    @property
    def for_client(self) -> bool:
        """Written to the client (never internal numbers), not talking points for staff."""
        return form_for(self.channel) != "call"


@dataclass(frozen=True)
class DraftContext:
    """What a template may use."""

    first_name: str
    name: str
    phone: str
    staff: str
    usual: str
    since_last: str
    due: str
    years: str
    occasion: str
    purchase: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def template_key(signal: Signal, channel: str) -> str:
    """The template a channel's draft is written from: "<signal>.<form>"."""
    return f"{signal.code.value}.{form_for(channel)}"


def context_for(
    facts: ClientFacts,
    signals: Sequence[Signal],
    staff: str | None,
    today: dt.date,
    notes: Sequence[str] = (),
) -> DraftContext:
    client = facts.client
    first = client.first_name or client.name.split()[0]
    since = (today - facts.last_activity).days if facts.last_activity else None
    start = client.since or facts.first_activity
    years = (today - start).days // 365 if start else 0
    purchase = ""
    top = signals[0] if signals else None
    if top is not None and top.code is SignalCode.ANNIVERSARY:
        purchase, start, years = _anniversary(top.reason_key, start, years)
    occasion = next(
        (s.explanation.split(" on ")[0] for s in signals if s.code is SignalCode.HOLIDAY), ""
    )
    return DraftContext(
        first_name=first,
        name=client.name,
        phone=client.phone or "",
        staff=staff or "the team",
        usual=(facts.last_activity_kind or "").replace("_", " "),
        since_last=_since(since),
        due=f"{client.next_due:%A %d %B}" if client.next_due else "",
        years="a year" if years == 1 else f"{years} years",
        occasion=occasion,
        purchase=purchase.replace("_", " "),
        reasons=(*(s.explanation for s in signals), *notes),
    )


def _anniversary(
    reason_key: str, start: dt.date | None, years: int
) -> tuple[str, dt.date | None, int]:
    """(key purchase kind or "", start, whole years at the anniversary itself) from a reason key
    "anniversary:YEAR" or "anniversary:KIND:PURCHASE-DATE:YEAR"; other keys change nothing."""
    parts = reason_key.split(":")
    if len(parts) < 2 or not parts[-1].isdigit():
        return "", start, years
    purchase = ""
    if len(parts) >= 4:
        try:
            start = dt.date.fromisoformat(parts[-2])
        except ValueError:
            return "", start, years
        purchase = ":".join(parts[1:-2])
    return purchase, start, (int(parts[-1]) - start.year if start else years)


def _since(days: int | None) -> str:
    if days is None:
        return "a while"
    return explain.span(days)


def draft_for(
    facts: ClientFacts,
    signals: Sequence[Signal],
    channel: str,
    *,
    staff: str | None,
    today: dt.date,
    templates: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    reasons: Sequence[str] | None = None,
) -> Draft:
    """The draft of an action for `channel`: the template of its most urgent signal in the
    channel's form (and its subject line for an email), the owner's own version when
    `templates` has one; `HELLO` without signals (a hug; a reason no template knows, whose
    explanation comes in `notes`). An owner's template that cannot render for this client
    gives way to keepwarm's own (templates are checked when saved: a safety net). `reasons`,
    when given, are the talking points' "Why" lines instead of the signals' explanations."""
    context = context_for(facts, signals, staff, today, notes)
    if reasons is not None:
        context = dataclasses.replace(context, reasons=(*reasons, *notes))
    text = _written(signals, form_for(channel), context, templates)
    subject = _written(signals, "subject", context, templates) if channel == "email" else ""
    return Draft(channel, text, " ".join(subject.split()))


def _written(
    signals: Sequence[Signal],
    form: str,
    context: DraftContext,
    templates: Mapping[str, str] | None,
) -> str:
    if not signals:
        return render_template(HELLO[form], context, f"hello.{form}")
    key = f"{signals[0].code.value}.{form}"
    own = (templates or {}).get(key)
    if own:
        try:
            return render_template(own, context, key)
        except InvalidInput as exc:
            log.warning("the owner's template %s cannot render: %s", key, exc)
    return render_template(DEFAULTS[key], context, key)


def render_draft(
    facts: ClientFacts,
    signals: Sequence[Signal],
    channel: str,
    *,
    staff: str | None,
    today: dt.date,
    templates: Mapping[str, str] | None = None,
) -> str:
    """The draft's text for an action: the template of its most urgent signal for `channel`,
    the owner's own version when `templates` has one. Raises InvalidInput for a broken
    template (`draft_for` falls back to the default instead)."""
    if not signals:
        raise ValueError("a draft needs at least one signal")
    key = template_key(signals[0], channel)
    source = (templates or {}).get(key) or DEFAULTS[key]
    return render_template(source, context_for(facts, signals, staff, today), key)


def check_templates(sources: Mapping[str, str]) -> None:
    """Render each of the owner's templates ("lapsing.letter": source) for a sample client, so a
    template that cannot render is refused when it is saved, not on the morning it is needed.
    Raises InvalidInput naming the template and the problem."""
    client = Client("SAMPLE", "Alex Sample", first_name="Alex", phone="+15035550100")
    today = dt.date(2026, 6, 30)
    facts = ClientFacts(
        client,
        first_activity=dt.date(2024, 6, 1),
        last_activity=dt.date(2026, 6, 2),
        last_activity_kind="check-up",
    )
    for key, source in sources.items():
        code = SignalCode(key.split(".")[0])
        signal = Signal(code, f"a sample reason for {code.value}", 0.5, f"{code.value}:2026")
        render_template(source, context_for(facts, [signal], "Sam", today), f"templates.{key}")


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """A template compiled once per source: the daily job fills the same few templates for
    thousands of clients (compiling each time was most of its time)."""
    return _ENV.from_string(source)


def render_template(source: str, context: DraftContext, name: str = "template") -> str:
    try:
        text = render_limited(_compiled(source), context.as_dict())
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        raise InvalidInput(f"template {name}: {exc}") from None
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


_SAMPLE_REASONS = {
    "lapsing": "Not seen for {since} (a sample reason for the preview)",
    "usage_up": "Coming more often lately (a sample reason for the preview)",
    "usage_down": "Coming less often lately (a sample reason for the preview)",
    "cancellation": "Gave notice (a sample reason for the preview)",
    "due": "Next visit due soon (a sample reason for the preview)",
    "birthday": "Birthday coming up (a sample reason for the preview)",
    "anniversary": "A yearly anniversary with us (a sample reason for the preview)",
    "holiday": "Christmas on 25 December (a sample reason for the preview)",
    "welcome": "New client (a sample reason for the preview)",
    "follow_up": "A recent visit to follow up (a sample reason for the preview)",
    "feedback": "A recent visit to ask about (a sample reason for the preview)",
    "cadence_overdue": "No personal touch for a while (a sample reason for the preview)",
    "win_back": "Left a while ago (a sample reason for the preview)",
}


def sample_signal(code: SignalCode | str, facts: ClientFacts, today: dt.date) -> Signal:
    """A plausible signal of `code` for previewing a template on a real client's facts."""
    code = SignalCode(code)
    since = (today - facts.last_activity).days if facts.last_activity else None
    text = _SAMPLE_REASONS.get(code.value, f"{code.value} (a sample reason for the preview)")
    return Signal(code, text.format(since=_since(since)), 0.5, f"{code.value}:{today.year}")


def preview_template(
    source: str,
    code: SignalCode | str,
    facts: ClientFacts,
    *,
    staff: str | None,
    today: dt.date,
) -> str:
    """`source` rendered as the draft for a plausible signal of `code` on these facts (a real
    client's). Raises InvalidInput when the template cannot render."""
    signal = sample_signal(code, facts, today)
    context = context_for(facts, [signal], staff, today)
    return render_template(source, context, f"{signal.code.value}")
