"""Templates: Jinja2 with autoescaping on for every template (nothing is marked safe)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from keepwarm.web.auth import current_session

ENV = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

MESSAGES = {
    "done": "Done: the touch is recorded and the action is off the list.",
    "snoozed": "Snoozed: it comes back on its date.",
    "dismissed": "Dismissed: it will not come back for the same reasons.",
    "undone": "Undone: the action is back on the list as it was.",
    "reopened": "Reopened: the action is back on its member's list today.",
    "reminder_set": "Reminder set: it will be on the list on its day.",
    "reminder_deleted": "Reminder deleted.",
    "signed_out": "You are signed out.",
    "password_changed": "Password changed: sign in again with the new one.",
    "touch": "Touch recorded.",
    "saved": "Saved.",
    "imported": "Imported.",
    "token_revoked": "Token revoked.",
    "token_created": "Token created.",
    "feed_created": "Your calendar link is ready: add it to your phone's calendar below.",
    "feed_revoked": "Calendar link revoked: the old address no longer works.",
    "deleted": "The client and their history are deleted.",
    "erased": "The client is erased: nothing about them remains but a keyed hash of their ids.",
    "consent": "Contact preference recorded.",
    "moved": "Moved: the waiting actions come first on their new member's next lists.",
}


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    session = current_session(request)
    values = {
        "request": request,
        "user": session.user if session else None,
        "csrf_token": session.csrf if session else "",
        "message": MESSAGES.get(request.query_params.get("msg", ""), ""),
        "path": request.url.path,
        **(context or {}),
    }
    html = ENV.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=headers)
