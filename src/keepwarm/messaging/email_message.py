"""The email a client receives, built from an OutgoingMessage with the standard library.

One message, two parts (multipart/alternative) written from the same plain text: the text as
staff wrote it, and HTML made by a small autoescaping template (paragraphs at blank lines, line
breaks kept). Nothing a client or a member of staff wrote reaches the HTML unescaped.

Headers: `From` is the practice (KEEPWARM_MAIL_FROM), `Reply-To` the member of staff when the
message has one, and, only on messages that carry it (`unsubscribe_url` set), the one-click
unsubscribe of RFC 8058: `List-Unsubscribe: <https://.../unsubscribe/TOKEN>` with
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`, plus a footer line with the same link.
"""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage
from email.utils import format_datetime

from jinja2 import Environment

from keepwarm.messaging.channels import OutgoingMessage

_HTML = Environment(autoescape=True).from_string(
    """<!doctype html>
<html><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; max-width: 40em">
{% for lines in paragraphs %}<p>{% for line in lines %}{{ line }}{% if not loop.last %}<br>
{% endif %}{% endfor %}</p>
{% endfor %}{% if unsubscribe_url %}<p style="color: #666; font-size: 0.85em">\
To stop these emails: <a href="{{ unsubscribe_url }}">unsubscribe</a>.</p>
{% endif %}</body></html>
"""
)

FOOTER = "To stop these emails, unsubscribe: {url}"


def paragraphs(text: str) -> list[list[str]]:
    """The text's paragraphs (split at blank lines), each a list of its lines."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return [block.split("\n") for block in blocks if block.strip()]


def html_body(message: OutgoingMessage) -> str:
    """The HTML part: the same text, escaped, paragraphs and line breaks kept."""
    return _HTML.render(
        subject=message.subject or "",
        paragraphs=paragraphs(message.body),
        unsubscribe_url=message.unsubscribe_url,
    )


def text_body(message: OutgoingMessage) -> str:
    text = message.body.replace("\r\n", "\n").strip() + "\n"
    if message.unsubscribe_url:
        text += "\n-- \n" + FOOTER.format(url=message.unsubscribe_url) + "\n"
    return text


def build_email(message: OutgoingMessage, *, date: dt.datetime | None = None) -> EmailMessage:
    """The MIME message for `message` (channel email). `message.sender` is the practice's
    address and must be set; `date` defaults to now."""
    if not message.sender:
        raise ValueError("sender: the practice's address (KEEPWARM_MAIL_FROM) is not set")
    email = EmailMessage()
    email["From"] = message.sender
    email["To"] = message.to
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email["Subject"] = message.subject or ""
    email["Date"] = format_datetime(date or dt.datetime.now(dt.UTC))
    email["Message-ID"] = message.message_id
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(text_body(message))
    email.add_alternative(html_body(message), subtype="html")
    return email
