"""Text messages through an HTTP gateway: the `sms` channel.

The gateway contract (KEEPWARM_SMS_URL, e.g. `https://user:token@sms.example.com/send`): one
POST per text, a JSON body `{"to": "+15035550100", "body": "...", "reference": "<message
id>"}`, HTTP basic auth from the URL's user and password (never logged). The answer decides:

- 2xx: SENT (the gateway took the text).
- 400, 401, 403, 404, 422: PERMANENT, with the gateway's message (a bad number, wrong
  credentials, a wrong address): sending it again would not help.
- 429 and 5xx: TRANSIENT (the gateway refused it for now); a `Retry-After` is named in the
  detail. Any other status is treated the same way: the gateway said it did not take the text.
- No connection (refused, DNS, TLS, connect timeout): TRANSIENT, the request never went out.
- The connection dropped or timed out once the request was written: UNKNOWN (the gateway may
  have sent the text), never resent automatically.

Any gateway that speaks this JSON works; for one that does not, a small adapter in front of it.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from keepwarm.messaging.channels import Delivery, Outcome, OutgoingMessage

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 422})
_DETAIL_CHARS = 200
_NUMBER = re.compile(r"\+?\d[\d ()-]{5,}\d")  # a phone number in a gateway's words


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without its user:password, and those as basic-auth credentials."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return bare, (unquote(parts.username), unquote(parts.password or ""))


def _gateway_says(response: httpx.Response) -> str:
    """The gateway's own words about a refusal: a JSON `error`/`message`/`detail`, or text."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
    else:
        text = ""
        if isinstance(data, dict):
            for key in ("error", "message", "detail"):
                if isinstance(data.get(key), str):
                    text = data[key]
                    break
        text = text or str(data)
    return " ".join(text.split())[:_DETAIL_CHARS]


class SmsChannel:
    """Sends texts through the gateway at `url`; one HTTP connection kept between texts."""

    name = "sms"

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url, auth = _split_credentials(url)
        self._client = httpx.Client(
            auth=auth, timeout=httpx.Timeout(timeout), follow_redirects=False
        )

    def send(self, message: OutgoingMessage) -> Delivery:
        payload = {"to": message.to, "body": message.body, "reference": message.message_id}
        try:
            response = self._client.post(self.url, json=payload)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return self._said(message, Delivery(Outcome.TRANSIENT, f"no connection: {_kind(exc)}"))
        except httpx.TransportError as exc:  # the request went out (or part of it)
            detail = f"the gateway did not answer: {_kind(exc)}; the text may have been sent"
            return self._said(message, Delivery(Outcome.UNKNOWN, detail))
        status = response.status_code
        if 200 <= status < 300:
            return self._said(message, Delivery(Outcome.SENT, f"{status}"))
        detail = f"{status} {_gateway_says(response)}".strip()
        if status in PERMANENT_STATUSES:
            return self._said(message, Delivery(Outcome.PERMANENT, detail))
        retry_after = response.headers.get("retry-after")
        if retry_after:
            detail += f" (retry after {retry_after[:40]})"
        return self._said(message, Delivery(Outcome.TRANSIENT, detail))

    def _said(self, message: OutgoingMessage, delivery: Delivery) -> Delivery:
        # The outcome and the gateway's status only: never the number, the text or the login.
        detail = _NUMBER.sub("<number>", delivery.detail)
        log.info("outbox %s: sms %s (%s)", message.outbox_id, delivery.outcome, detail)
        return delivery

    def close(self) -> None:
        self._client.close()


def _kind(exc: Exception) -> str:
    return type(exc).__name__
