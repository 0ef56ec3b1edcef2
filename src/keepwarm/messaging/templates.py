"""keepwarm's default draft templates: one per signal for letters (card, email, SMS) and one
per signal for calls and visits (talking points, not a letter). The owner can replace any of
them; these are what a new practice starts with."""

from __future__ import annotations

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
}

LETTER = "Dear {{ first_name }},\n\n{opening}" + SIGN_OFF
CALL = (
    "Call {{ name }}{% if phone %} ({{ phone }}){% endif %}.\n"
    "- {point}\n"
    "{% for reason in reasons %}- Why: {{ reason }}\n{% endfor %}"
    "- Note what they say when you mark this done."
)

DEFAULTS: dict[str, str] = {
    **{
        f"{code}.letter": LETTER.replace("{opening}", text)
        for code, text in _LETTER_OPENINGS.items()
    },
    **{f"{code}.call": CALL.replace("{point}", text) for code, text in _CALL_POINTS.items()},
}
