"""A real SMTP server on loopback for the tests and benchmarks (aiosmtpd), told to misbehave.

    with running_smtp() as (host, port, handler):
        ...send to smtp://{host}:{port}...
        handler.messages          # every message the server took in, parsed
        handler.fail("rcpt_5xx")  # the next RCPT is refused with 550 (once; times=N, or None)

Faults: "rcpt_4xx" (450 to RCPT), "rcpt_5xx" (550 to RCPT), "data_4xx" / "data_5xx" (refused
at the end of data, message not taken), "drop_after_data" (the message is taken, then the
connection is closed without a reply), "hang_after_data" (taken, the reply comes after
`hang_seconds`: the client times out first). `greeting_421()` is a server that answers every
connection with "421 busy" and closes it; `free_port()` a port nobody listens on.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import random
import socket
import ssl
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

FAULTS = (
    "rcpt_4xx",
    "rcpt_5xx",
    "data_4xx",
    "data_5xx",
    "drop_after_data",
    "hang_after_data",
)


def own_address() -> str | None:
    """This machine's address on its network (not loopback), or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if address.startswith("127.") else address


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FaultyHandler:
    """An aiosmtpd handler that keeps what it received and injects the faults it is told."""

    def __init__(self, *, hang_seconds: float = 3.0, delay: float = 0.0) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.hang_seconds = hang_seconds
        self.delay = delay  # seconds each message takes at the end of data
        self.random_faults: tuple[float, random.Random] | None = None
        self.injected: Counter[str] = Counter()  # faults met, by kind
        self._queue: list[list[Any]] = []  # [fault, times left (None: always)]
        self._lock = threading.Lock()

    def fail(self, fault: str, times: int | None = 1) -> None:
        """Inject `fault` into the next `times` messages (None: every one until `clear`)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        with self._lock:
            self._queue.append([fault, times])

    def fail_at_random(self, rate: float, seed: int) -> None:
        """Each message meets a random fault with probability `rate` (fixed seed)."""
        self.random_faults = (rate, random.Random(seed))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.random_faults = None

    def _take(self, stage: str) -> str | None:
        with self._lock:
            for item in self._queue:
                if item[0].startswith(stage):
                    if item[1] is not None:
                        item[1] -= 1
                        if item[1] <= 0:
                            self._queue.remove(item)
                    return str(item[0])
        return None

    def message_ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.messages)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        fault = self._take("rcpt")
        if fault is None and self.random_faults is not None:
            rate, rng = self.random_faults
            if rng.random() < rate:
                fault = rng.choice(FAULTS)
                if not fault.startswith("rcpt"):
                    self.fail(fault)
        if fault in ("rcpt_4xx", "rcpt_5xx"):
            self.injected[fault] += 1
        if fault == "rcpt_4xx":
            return "450 4.2.1 mailbox busy, try later"
        if fault == "rcpt_5xx":
            return "550 5.1.1 user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        fault = self._take("data") or self._take("drop") or self._take("hang")
        if self.delay:
            await asyncio.sleep(self.delay)
        if fault is not None:
            self.injected[fault] += 1
        if fault == "data_4xx":
            return "451 4.3.0 local problem, try later"
        if fault == "data_5xx":
            return "554 5.7.1 message refused"
        with self._lock:
            parsed = email.message_from_bytes(
                envelope.original_content, policy=email.policy.default
            )
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if fault == "drop_after_data":
            server.transport.abort()
            await asyncio.sleep(0.05)
            return "250 never heard"
        if fault == "hang_after_data":
            await asyncio.sleep(self.hang_seconds)
        return "250 2.0.0 queued"


@contextmanager
def running_smtp(
    handler: FaultyHandler | None = None,
    host: str = "127.0.0.1",
    *,
    tls: str | None = None,
    cert: tuple[Path, Path] | None = None,
    users: dict[str, str] | None = None,
) -> Iterator[tuple[str, int, FaultyHandler]]:
    """An SMTP server on `host` (a free port) for the block: (host, port, handler). Plain by
    default (no STARTTLS offered); `tls="starttls"` requires STARTTLS, `tls="implicit"` speaks
    TLS from the first byte, both with `cert` (certificate, key: see `self_signed`); `users`
    (name -> password) makes it require a login."""
    handler = handler or FaultyHandler()
    port = free_port()
    options: dict[str, Any] = {}
    if tls is not None:
        assert cert is not None, "TLS needs a certificate (self_signed)"
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert)
        if tls == "starttls":
            options.update(tls_context=context, require_starttls=True)
        else:
            options["ssl_context"] = context
    if users is not None:

        def login(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
            name = auth_data.login.decode()
            return AuthResult(success=users.get(name) == auth_data.password.decode())

        # aiosmtpd knows of STARTTLS only: on implicit TLS it must not ask for it again.
        options.update(authenticator=login, auth_require_tls=tls == "starttls")
    controller = Controller(handler, hostname=host, port=port, ready_timeout=10, **options)
    controller.start()
    try:
        yield host, port, handler
    finally:
        controller.stop()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def greeting_421() -> Iterator[int]:
    """A server that answers every connection "421 busy" and hangs up; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"421 4.3.2 busy, try later\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()
