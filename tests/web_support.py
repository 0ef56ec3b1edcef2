"""Helpers for web tests: a signed-in client that sends each form with its CSRF token."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str, action: str | None = None) -> str:
    """The CSRF token of the page's first form (or of the form posting to `action`)."""
    if action is not None:
        start = html.find(f'action="{action}"')
        assert start >= 0, f"no form posting to {action} on this page"
        html = html[start:]
    found = _CSRF.search(html)
    assert found, "no form with a CSRF token on this page"
    return found.group(1)


class Web:
    """A browser-like client of the app (cookies kept; redirects not followed by default)."""

    def __init__(self, app: Any) -> None:
        self.client = TestClient(app, follow_redirects=False)
        self.token = ""

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def sign_in(self, email: str, password: str = PASSWORD) -> Any:
        page = self.client.get("/login")
        answer = self.client.post(
            "/login",
            data={
                "csrf_token": csrf_of(page.text, "/login"),
                "email": email,
                "password": password,
            },
        )
        if answer.status_code == 303:
            self.token = csrf_of(self.client.get("/account").text)
        return answer

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """A form POST with this session's CSRF token."""
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kwargs)
