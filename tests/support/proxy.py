"""A reverse proxy in front of a test server that does what the ALB does.

``AlbProxy(upstream_url)`` listens on 127.0.0.1 and forwards every request to the upstream,
after it, like the ALB, APPENDS the connecting client's address to ``X-Forwarded-For`` (any
value the client sent stays to its left) and sets ``X-Forwarded-Proto: https``. All test
clients connect from 127.0.0.1, so a client may name the address to append in
``X-Test-Client-Addr`` (``CLIENT_ADDR_HEADER``), which the proxy strips: tests play clients
at different addresses, and attackers who send their own ``X-Forwarded-For``.

Answers come back unchanged (redirects are not followed, cookies pass through).

``AlbProxy(upstream_url, tls_dir=path)`` also terminates TLS as the ALB does, with a
self-signed certificate for 127.0.0.1 written to ``tls_dir`` (``proxy.certificate``, for a
client's ``verify=``; a browser is told to accept it). A browser then talks to the app as
in production: ``https`` origins, ``Secure`` cookies, CSRF's origin check against https.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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

    def setup(self) -> None:
        # The handshake runs in this connection's thread, not in the one accepting them.
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

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

    def __init__(self, upstream_url: str, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        parts = urlsplit(upstream_url)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80

    def handle_error(self, request: object, client_address: object) -> None:
        # Chromium checks the certificate before it applies "ignore HTTPS errors", so it
        # drops its first connections to a self-signed proxy; nothing to report.
        if isinstance(sys.exc_info()[1], ssl.SSLError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost valid for a day, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        # Its own trust anchor: clients verify against this one file.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "proxy-cert.pem", directory / "proxy-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class AlbProxy:
    """``with AlbProxy(server.url) as proxy: requests.get(proxy.url + "/...")``."""

    def __init__(self, upstream_url: str, *, tls_dir: Path | None = None) -> None:
        context = None
        self.certificate: Path | None = None
        if tls_dir is not None:
            self.certificate, key = self_signed_certificate(tls_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certificate, key)
        self._server = _ProxyServer(upstream_url, context)
        scheme = "https" if context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
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
