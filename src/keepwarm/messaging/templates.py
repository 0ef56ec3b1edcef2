"""keepwarm's default draft templates, per signal and per form (see `TEMPLATE_FORMS`):

- `letter`: written to the client, for a card, a letter and an email's body;
- `subject`: an email's subject line;
- `sms`: a short text message to the client;
- `call`: talking points for staff (a call, a visit, a meeting), where numbers may appear.

What goes to the client never carries internal numbers (chances, values, priorities). The
owner can replace any of them on Settings > Message templates; these are what a new practice
starts with. `HELLO` is the draft for a client on the list without a reason a template
knows (a "hug" for the weekly habit, a reminder): not editable.
"""

from __future__ import annotations

from keepwarm.domain.policy import TEMPLATE_FORMS

SIGN_OFF = "\n\nWarm regards,\n{{ staff }}"

_LETTER_OPENINGS = {
    "lapsing": (
        "We have not seen you for {{ since_last }}, and we wanted to say we miss you. "
        "{% if usual %}Whenever you are ready for your next {{ usual }}, {% endif %}"
        "we would love to see you again: just reply or call us to find a time that suits you."
    ),
    "usage_up": (
        "You have been coming to us more often lately, and we are glad. "
        "We would like to make sure everything we do still fits what you need now: "
        "could we find ten minutes to talk it over?"
    ),
    "usage_down": (
        "We noticed we have been seeing less of you lately{% if usual %} for your {{ usual }}"
        "{% endif %}. If anything about our service could suit you better, we would really "
        "like to hear it."
    ),
    "cancellation": (
        "We received your notice, and before anything else we wanted to say thank you for "
        "the time you have been with us. Could we call you to hear how we could have done "
        "better?"
    ),
    "due": (
        "Your {% if usual %}next {{ usual }}{% else %}next appointment{% endif %} is due"
        "{% if due %} on {{ due }}{% endif %}. Reply to this message or call us and we will "
        "find a time that suits you."
    ),
    "birthday": "Happy birthday! Everyone here wishes you a wonderful day and a great year ahead.",
    "anniversary": (
        "{% if purchase %}It is {{ years }} since your {{ purchase }} with us: we hope you are "
        "still enjoying it, and if there is anything we can do, just ask."
        "{% else %}It is {{ years }} since you first came to us. "
        "Thank you for your trust all this time: it means a great deal to us.{% endif %}"
    ),
    "holiday": "All of us here wish you a warm and happy {{ occasion or 'holiday season' }}.",
    "welcome": (
        "Welcome, and thank you for choosing us. If there is anything you would like to know "
        "before your next visit, just ask: we are here to help."
    ),
    "follow_up": (
        "Thank you for your recent {{ usual or 'visit' }}. We hope everything is going well; "
        "if you have any questions at all, we are only a message away."
    ),
    "feedback": (
        "How did your recent {{ usual or 'visit' }} go? Two lines from you on what went well "
        "and what we could do better would help us a lot."
    ),
    "cadence_overdue": (
        "It has been a while since we were last in touch, and we were thinking of you. "
        "How are you doing?"
    ),
    "win_back": (
        "It has been a while since we last saw you, and we would love to welcome you back. "
        "Whenever you are ready, just reply or call us to find a time that suits you."
    ),
    "reminder": (
        "We said we would be back in touch, and here we are. How are you doing? If there is "
        "anything we can do for you, just reply or call us."
    ),
}

_SUBJECTS = {
    "lapsing": "We miss you, {{ first_name }}",
    "usage_up": "Making sure we still fit what you need, {{ first_name }}",
    "usage_down": "How could we do better for you, {{ first_name }}?",
    "cancellation": "Thank you, {{ first_name }}",
    "due": "Your {{ usual or 'appointment' }} is due{% if due %} on {{ due }}{% endif %}",
    "birthday": "Happy birthday, {{ first_name }}!",
    "anniversary": "{% if purchase %}{{ years|capitalize }} since your {{ purchase }}: "
    "how is it going?{% else %}Thank you for {{ years }} with us, {{ first_name }}{% endif %}",
    "holiday": "Warm wishes for {{ occasion or 'the holidays' }}, {{ first_name }}",
    "welcome": "Welcome, {{ first_name }}",
    "follow_up": "Thank you for your {{ usual or 'visit' }}, {{ first_name }}",
    "feedback": "How was your {{ usual or 'visit' }}, {{ first_name }}?",
    "cadence_overdue": "Thinking of you, {{ first_name }}",
    "win_back": "We would love to see you again, {{ first_name }}",
    "reminder": "Keeping in touch, {{ first_name }}",
}

_TEXTS = {
    "lapsing": "we have not seen you for {{ since_last }} and we miss you. Reply or call us "
    "to find a time that suits you.",
    "usage_up": "thank you for coming in so often lately! Could we have a quick chat about "
    "what you need now?",
    "usage_down": "we have missed you lately. If anything could suit you better, we would love "
    "to hear it.",
    "cancellation": "thank you for your time with us. Could we call you to hear how we could "
    "have done better?",
    "due": "your {{ usual or 'appointment' }} is due{% if due %} on {{ due }}{% endif %}. "
    "Reply and we will find a time that suits you.",
    "birthday": "happy birthday from all of us!",
    "anniversary": "{% if purchase %}{{ years }} since your {{ purchase }}: we hope it is going "
    "well!{% else %}thank you for {{ years }} with us!{% endif %}",
    "holiday": "warm wishes for {{ occasion or 'the holidays' }} from all of us!",
    "welcome": "welcome, and thank you for choosing us! Any questions, just reply.",
    "follow_up": "thank you for your recent {{ usual or 'visit' }}. Any questions, just reply.",
    "feedback": "how did your recent {{ usual or 'visit' }} go? A quick reply would help us a lot.",
    "cadence_overdue": "we were thinking of you. How are you doing?",
    "win_back": "we would love to see you again. Reply or call us whenever you are ready.",
    "reminder": "we said we would be back in touch: how are you doing? Any questions, just reply.",
}

_CALL_POINTS = {
    "lapsing": "Ask how they have been; last {{ usual or 'visit' }} {{ since_last }} ago.",
    "usage_up": "They come more often lately: ask what changed and whether our service fits.",
    "usage_down": "They come less often lately: ask gently whether anything could suit them "
    "better.",
    "cancellation": "They gave notice: thank them, listen, ask what we could have done better.",
    "due": "Their {{ usual or 'appointment' }} is due{% if due %} on {{ due }}{% endif %}: "
    "offer a time.",
    "birthday": "Wish them a happy birthday.",
    "anniversary": "{% if purchase %}{{ years }} since their {{ purchase }}: ask how it is "
    "going.{% else %}Thank them for {{ years }} with us.{% endif %}",
    "holiday": "Wish them a happy {{ occasion or 'holiday' }}.",
    "welcome": "Welcome them; ask if they have any questions before their next visit.",
    "follow_up": "Check in after their recent {{ usual or 'visit' }}: how is it going?",
    "feedback": "Ask how their last {{ usual or 'visit' }} went and what we could do better.",
    "cadence_overdue": "Just say hello: it has been a while since anyone here was in touch.",
    "win_back": "They left a while ago: say we miss them and would love to welcome them back.",
    "reminder": "You asked to be reminded to contact them: your note is below.",
}

LETTER = "Dear {{ first_name }},\n\n{opening}" + SIGN_OFF
CALL = (
    "Call {{ name }}{% if phone %} ({{ phone }}){% endif %}.\n"
    "- {point}\n"
    "{% for reason in reasons %}- Why: {{ reason }}\n{% endfor %}"
    "- Note what they say when you mark this done."
)

SMS = "Hi {{ first_name }}, {text} - {{ staff }}"

_FORMS: dict[str, tuple[str, dict[str, str]]] = {
    "letter": (LETTER.replace("{opening}", "{text}"), _LETTER_OPENINGS),
    "subject": ("{text}", _SUBJECTS),
    "sms": (SMS, _TEXTS),
    "call": (CALL.replace("{point}", "{text}"), _CALL_POINTS),
}
assert tuple(_FORMS) == TEMPLATE_FORMS, "one default per template form"

DEFAULTS: dict[str, str] = {
    f"{code}.{form}": frame.replace("{text}", text)
    for form, (frame, texts) in _FORMS.items()
    for code, text in texts.items()
}
"""Every default template by key, "<signal>.<form>" ("lapsing.letter", "due.subject", ...)."""

HELLO: dict[str, str] = {
    "letter": "Dear {{ first_name }},\n\nWe were just thinking of you and wanted to say hello. "
    "How are you doing? It would be lovely to hear from you." + SIGN_OFF,
    "subject": "Thinking of you, {{ first_name }}",
    "sms": SMS.replace("{text}", "we were just thinking of you. How are you doing?"),
    "call": CALL.replace("{point}", "Just say hello and ask how they are doing."),
}
"""The draft for a client on the list without a reason the templates know, by form."""
