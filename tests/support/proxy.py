"""A reverse proxy in front of a test server that does what the ALB does.

``AlbProxy(upstream_url)`` listens on 127.0.0.1 and forwards every request to the upstream,
after it, like the ALB, APPENDS the connecting client's address to ``X-Forwarded-For`` (any
value the client sent stays to its left) and sets ``X-Forwarded-Proto: https``. All test
clients connect from 127.0.0.1, so a client may name the address to append in
``X-Test-Client-Addr`` (``CLIENT_ADDR_HEADER``), which the proxy strips: tests play clients
at different addresses, and attackers who send their own ``X-Forwarded-For``.

Answers come back unchanged (redirects are not followed, cookies pass through).
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

CLIENT_ADDR_HEADER = "X-Test-Client-Addr"
# Hop-by-hop headers (RFC 9110, 7.6.1) are not forwarded.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        client = self.headers.get(CLIENT_ADDR_HEADER) or self.client_address[0]
        headers: list[tuple[str, str]] = []
        sent_xff: list[str] = []
        for name, value in self.headers.items():
            lower = name.lower()
            if lower in HOP_BY_HOP or lower in {CLIENT_ADDR_HEADER.lower(), "x-forwarded-proto", "content-length"}:
                continue
            if lower == "x-forwarded-for":
                sent_xff.append(value)
                continue
            headers.append((name, value))
        headers.append(("X-Forwarded-For", ", ".join([*sent_xff, client])))
        headers.append(("X-Forwarded-Proto", "https"))
        conn = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _forward

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream_url: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        parts = urlsplit(upstream_url)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80


class AlbProxy:
    """``with AlbProxy(server.url) as proxy: requests.get(proxy.url + "/...")``."""

    def __init__(self, upstream_url: str) -> None:
        self._server = _ProxyServer(upstream_url)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="alb-proxy", daemon=True)

    def start(self) -> AlbProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> AlbProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
