"""The sending mailbox over IMAP, where bounces arrive (KEEPWARM_IMAP_URL).

Connection rules, as for SMTP: `imaps://user:password@host:993` is TLS from the first byte;
`imap://user:password@host:143` upgrades with STARTTLS when the server offers it, and is used
in plain text only to this machine (a loopback test server). The certificate is checked.

Messages are read with BODY.PEEK (reading does not mark them \\Seen); the caller marks each
one \\Seen once it is handled, so a run that stops half-way leaves the rest for the next.
"""

from __future__ import annotations

import imaplib
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_TIMEOUT = 30.0


class MailboxError(Exception):
    """The mailbox could not be opened or read (the message names the step, never the
    password)."""


@dataclass(frozen=True)
class Fetched:
    uid: str
    raw: bytes


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Mailbox:
    """An open INBOX of the sending mailbox."""

    def __init__(self, imap: imaplib.IMAP4) -> None:
        self._imap = imap
        _ok(imap.select("INBOX"), "select INBOX")
        self.uidvalidity = _uidvalidity(imap)

    def unseen(self, limit: int) -> list[Fetched]:
        """The oldest `limit` messages not marked \\Seen, unread (PEEK)."""
        data = _ok(self._imap.uid("SEARCH", "UNSEEN"), "search")
        uids = [u.decode() for u in (data[0] or b"").split()[:limit]] if data else []
        out = []
        for uid in uids:
            fetched = _ok(self._imap.uid("FETCH", uid, "(BODY.PEEK[])"), "fetch")
            raw = next(
                (p[1] for p in fetched if isinstance(p, tuple) and isinstance(p[1], bytes)), None
            )
            if raw is not None:
                out.append(Fetched(uid, raw))
        return out

    def mark_seen(self, uid: str) -> None:
        _ok(self._imap.uid("STORE", uid, "+FLAGS", "(\\Seen)"), "mark seen")


def _ok(answer: tuple[str, Any], step: str) -> list[Any]:
    status, data = answer
    if status != "OK":
        raise MailboxError(f"IMAP {step}: the server answered {status}")
    return list(data or [])


def _uidvalidity(imap: imaplib.IMAP4) -> str:
    _, data = imap.response("UIDVALIDITY")
    value = data[0] if data else None
    return value.decode() if isinstance(value, bytes) else "0"


@contextmanager
def open_mailbox(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Mailbox]:
    """The INBOX of the mailbox at `url`, logged in; closed when the block ends."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        if parts.scheme == "imaps":
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                host, parts.port or 993, ssl_context=ssl.create_default_context(), timeout=timeout
            )
        else:
            imap = imaplib.IMAP4(host, parts.port or 143, timeout=timeout)
            if "STARTTLS" in imap.capabilities:
                imap.starttls(ssl.create_default_context())
            elif not _is_loopback(host):
                imap.logout()
                raise MailboxError(
                    f"{host} does not offer STARTTLS: use imaps:// (keepwarm does not send the "
                    "mailbox's password in plain text except to this machine)"
                )
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"cannot connect to {host}: {exc}") from None
    try:
        if parts.username:
            try:
                imap.login(unquote(parts.username), unquote(parts.password or ""))
            except imaplib.IMAP4.error:
                raise MailboxError(f"the mailbox at {host} refused the login") from None
        yield Mailbox(imap)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"reading the mailbox at {host} failed: {exc}") from None
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            imap.logout()
