"""A stand-in for an SMS gateway on loopback (the one remote service the tests mock).

    with running_gateway() as gateway:
        SmsChannel(gateway.url) ...      # http://user:secret@127.0.0.1:PORT/send
        gateway.requests                 # every request: (path, headers, JSON body)
        gateway.answer(400, {"error": "invalid number"})   # the next answers (times=1)
        gateway.answer("hang")           # read the request, answer after `hang_seconds`
        gateway.answer("drop")           # read the request, close without an answer

By default it answers 202 {"id": "..."} and records the request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USER, SECRET = "practice", "s3cret-token"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Gateway:
    port: int
    hang_seconds: float = 3.0
    requests: list[Request] = field(default_factory=list)
    _queue: list[tuple[int | str, Any, dict[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{USER}:{SECRET}@127.0.0.1:{self.port}/send"

    def answer(
        self,
        what: int | str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` requests get status `what` (with a JSON `body`), or "hang"/"drop"."""
        with self._lock:
            self._queue += [(what, body, headers or {})] * times

    def next_answer(self) -> tuple[int | str, Any, dict[str, str]]:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
        return 202, {"id": f"sms-{len(self.requests)}"}, {}

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()


def _handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            gateway.requests.append(Request(self.path, headers, body))
            what, answer, extra = gateway.next_answer()
            if what == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if what == "hang":
                time.sleep(gateway.hang_seconds)
                what, answer = 202, {"id": "late"}
            data = json.dumps(answer if answer is not None else {}).encode()
            self.send_response(int(what))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def running_gateway(hang_seconds: float = 3.0) -> Iterator[Gateway]:
    """A gateway stand-in on a free loopback port, for as long as the block runs."""
    gateway = Gateway(0, hang_seconds)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(gateway))
    server.daemon_threads = True
    gateway.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="sms-gateway", daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
