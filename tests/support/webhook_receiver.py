"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 in a thread.

It records every request (path, headers, body, time) and every connection, and answers
from a script: a status code, or an ``Answer`` with a delay (sleeps before answering: a
timeout), a trickle (sends the status line, then a header byte at a time), or headers (a
``Location`` for a redirect). Once the script is used up it answers ``default``. With
``tls`` (a server ``ssl.SSLContext``) it speaks HTTPS.

With ``secret`` set it verifies each request as a real receiver would, with the
``standardwebhooks`` package (``Webhook(secret).verify(body, headers)``), records the
result and answers 400 to a request that does not verify.

    with WebhookReceiver(secret=account_secret) as receiver:
        receiver.script(500, 204)
        ...  # deliver to receiver.url + "/hook"
        receiver.wait_for(2)
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Answer:
    status: int = 204
    delay: float = 0.0
    trickle: float = 0.0  # seconds between header bytes (0: none)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    verified: bool | None  # None: the receiver had no secret to verify with

    def header(self, name: str) -> str | None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get(name.lower())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still sleeping (a timeout test) must not hold up stop()
    receiver: WebhookReceiver

    def get_request(self) -> Any:
        conn, address = super().get_request()
        with self.receiver.lock:
            self.receiver.connections += 1
        return conn, address


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = dict(self.headers.items())
        verified = None
        if receiver.secret is not None:
            try:
                Webhook(receiver.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        with receiver.lock:
            receiver.received.append(Received(self.path, headers, body, time.time(), verified))
            answer = receiver.answers.popleft() if receiver.answers else receiver.default
        if answer.delay:
            time.sleep(answer.delay)
        status = 400 if verified is False else answer.status
        if answer.trickle:
            self.wfile.write(f"HTTP/1.1 {status} OK\r\n".encode())
            self.wfile.flush()
            try:
                for _ in range(200):
                    self.wfile.write(b"X")
                    self.wfile.flush()
                    time.sleep(answer.trickle)
            except OSError:
                pass  # the client gave up: what the test wants to see
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True


class WebhookReceiver:
    def __init__(self, *, secret: str | None = None, default: int = 204, tls: ssl.SSLContext | None = None) -> None:
        self.secret = secret
        self.tls = tls
        self.default = Answer(status=default)
        self.answers: deque[Answer] = deque()
        self.received: list[Received] = []
        self.connections = 0
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        if tls is not None:
            # The handshake runs in accept(); a failed one is dropped by socketserver.
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def script(self, *answers: int | Answer) -> None:
        with self.lock:
            self.answers.extend(a if isinstance(a, Answer) else Answer(status=a) for a in answers)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The requests, once at least ``count`` have arrived (AssertionError at the deadline)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"the receiver got {len(self.received)} requests, not {count}, within {timeout} s")

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
