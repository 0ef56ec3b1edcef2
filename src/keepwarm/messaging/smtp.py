"""Email over SMTP: the `email` channel, built on smtplib's command-level calls so that every
outcome says whether the server may have the message.

Connection rules (KEEPWARM_SMTP_URL):
- `smtps://user:password@host:465`: TLS from the first byte (implicit TLS).
- `smtp://user:password@host:587` (or any port): STARTTLS when the server offers it. A server
  that does not offer it is used in plain text only when it is on this machine (a loopback
  address or `localhost`, e.g. `smtp://127.0.0.1:2525`); to any other host keepwarm refuses to
  send in plain text, whatever the port.
- The login is made when the URL has a user name; the certificate is checked.
- Every connect and every command waits at most `timeout` seconds (default 30).

Outcomes: a refusal before the message's content went out (no connection, a 421 greeting, a
4xx or 5xx reply to MAIL, RCPT or the DATA command) is TRANSIENT for 4xx and connection
problems and PERMANENT for 5xx; once the content went out, 250 is SENT, a 4xx/5xx reply to the
end of data is TRANSIENT/PERMANENT (the server said it did not take it), and a dropped
connection or a timeout before that reply is UNKNOWN (the server may have it). `sendmail`
cannot tell these apart, hence the separate MAIL, RCPT and DATA steps here.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import smtplib
import ssl
from email import policy as email_policy
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from keepwarm.messaging.channels import Delivery, Outcome, OutgoingMessage
from keepwarm.messaging.email_message import build_email

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
# Headers are not folded before 998 characters: a long List-Unsubscribe link stays on its line.
_WIRE = email_policy.SMTP.clone(max_line_length=998)


class _Refused(Exception):
    """The server answered a command with a refusal (before or after the content)."""

    def __init__(self, step: str, code: int, reply: bytes | str) -> None:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
        super().__init__(f"{step}: {code} {text}".strip())
        self.code = code


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (plain-text SMTP is allowed only there)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _by_code(code: int, detail: str) -> Delivery:
    if 400 <= code < 500 or code < 0:
        return Delivery(Outcome.TRANSIENT, detail)
    return Delivery(Outcome.PERMANENT, detail)


def _quoted(data: bytes) -> bytes:
    """The content with CRLF line ends and leading dots doubled, ending with CRLF.CRLF."""
    data = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", data)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


class SmtpChannel:
    """The email channel: one connection kept for a batch, opened again after any error."""

    name = "email"

    def __init__(
        self, url: str, *, timeout: float = DEFAULT_TIMEOUT, context: ssl.SSLContext | None = None
    ) -> None:
        """`context` checks the server's certificate (default: the system's trusted ones)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("KEEPWARM_SMTP_URL: expected smtp://host:587 or smtps://host:465")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else ""
        self.timeout = timeout
        self.context = context
        self._smtp: smtplib.SMTP | None = None

    # --- the connection ---------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        context = self.context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if not self.implicit_tls:
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                elif not is_loopback(self.host):
                    raise _Refused(
                        "connect",
                        -1,
                        f"{self.host} does not offer STARTTLS; keepwarm sends in plain text "
                        "only to a server on this machine (use smtps:// or port 587)",
                    )
            if self.user:
                smtp.login(self.user, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    # --- one message ------------------------------------------------------------------------

    def send(self, message: OutgoingMessage) -> Delivery:
        """Deliver `message` once; the outcome says whether the server may have it."""
        content = build_email(message).as_bytes(policy=_WIRE)
        sender = parseaddr(message.sender or "")[1]
        return self._envelope(sender, message.to, content, fresh_on_loss=self._smtp is not None)

    def _envelope(self, sender: str, to: str, content: bytes, *, fresh_on_loss: bool) -> Delivery:
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            smtp = self._smtp
            self._step("MAIL", *smtp.mail(sender))
            self._step("RCPT", *smtp.rcpt(to))
            smtp.putcmd("data")
            code, reply = smtp.getreply()
            if code != 354:
                raise _Refused("DATA", code, reply)
        except _Refused as exc:
            self._reset()
            return _by_code(exc.code, str(exc))
        except smtplib.SMTPAuthenticationError as exc:
            # The setup, not the message: retried, and failed after the last attempt.
            self._drop()
            return Delivery(Outcome.TRANSIENT, f"login refused: {exc.smtp_code}")
        except smtplib.SMTPResponseException as exc:  # e.g. a 421 or 554 greeting
            self._drop()
            error = exc.smtp_error
            text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
            return _by_code(exc.smtp_code, f"connect: {exc.smtp_code} {text}")
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            if fresh_on_loss:
                # A kept connection the server closed meanwhile: nothing of this message went
                # out yet, so one fresh connection is tried at once.
                return self._envelope(sender, to, content, fresh_on_loss=False)
            return Delivery(Outcome.TRANSIENT, f"could not reach the mail server: {exc}")
        return self._content(smtp, content)

    def _content(self, smtp: smtplib.SMTP, content: bytes) -> Delivery:
        try:
            smtp.send(_quoted(content))
        except (OSError, smtplib.SMTPException) as exc:
            # The end-of-data mark is the last thing sent: unsent, the server cannot take it.
            self._drop()
            return Delivery(Outcome.TRANSIENT, f"connection lost while sending: {exc}")
        try:
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            return Delivery(
                Outcome.UNKNOWN, f"no answer after the message went out; it may have arrived: {exc}"
            )
        if code == 250:
            return Delivery(Outcome.SENT, f"{code} {reply.decode('utf-8', 'replace')}")
        self._reset()
        return _by_code(code, str(_Refused("end of data", code, reply)))

    def _step(self, step: str, code: int, reply: bytes) -> None:
        if code not in (250, 251):
            raise _Refused(step, code, reply)

    def _reset(self) -> None:
        """After a refusal the connection may be reused once the server forgot the envelope."""
        if self._smtp is None:
            return
        try:
            code, _ = self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            code = 0
        if code != 250:
            self._drop()
