"""One signed POST to a vetted target (``webhooks.targets``), under a wall-clock deadline.

We connect to the address the target check vetted, never to a fresh lookup of the name:
urllib3 is given the IP, and for TLS the URL's host as SNI and as the name the
certificate must carry (``server_hostname`` / ``assert_hostname``), and the ``Host``
header names the host. Redirects are not followed (a 3xx is an answer like any other
non-2xx), nothing is retried here (the delivery schedules retries) and no proxy from the
environment is used. The body of the answer is not read: its status is all we keep.

A socket timeout bounds each read, not the whole exchange: a receiver trickling its answer
byte by byte could hold a worker for minutes. A timer shuts the connection's socket down
when the attempt's time is up, which ends any read in progress.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError, NewConnectionError

from webhooks.targets import Target

USER_AGENT = "WeatherAPI-Webhooks/1.0"


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _Deadline:
    """Shuts down every socket it watches once ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed, or never connected: nothing to interrupt


class _WatchedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        self._deadline = deadline
        super().__init__(*args, **kwargs)

    def connect(self) -> None:
        super().connect()
        self._deadline.watch(self.sock)


class _WatchedHTTPSConnection(HTTPSConnection):
    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        self._deadline = deadline
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._deadline.watch(sock)  # the TCP socket, until TLS wraps it
        return sock

    def connect(self) -> None:
        super().connect()
        self._deadline.watch(self.sock)


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def _pool(target: Target, *, timeout: float, deadline: _Deadline) -> urllib3.HTTPConnectionPool:
    address = target.addresses[0]
    common: dict[str, Any] = {
        "port": target.port,
        "timeout": urllib3.Timeout(total=timeout),
        "retries": False,
        "maxsize": 1,
        "deadline": deadline,
    }
    if target.scheme == "https":
        return _HTTPSPool(
            address,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            **common,
        )
    return _HTTPPool(address, **common)


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` to ``target``; the answer's status, or what went wrong."""
    started = time.perf_counter()
    sent_headers = {"Host": target.host_header, "User-Agent": USER_AGENT, "Connection": "close", **headers}
    with _Deadline(timeout) as deadline:
        pool = _pool(target, timeout=timeout, deadline=deadline)
        try:
            response = pool.urlopen(
                "POST", target.request_target, body=body, headers=sent_headers, redirect=False,
                retries=False, preload_content=False, assert_same_host=False, release_conn=False,
            )
            status: int | None = response.status
            response.close()
            # Cut off mid-answer, http.client may still have made a status of the first line.
            error = f"timed out after {timeout:g} s" if deadline.expired else ""
            if deadline.expired:
                status = None
        except (HTTPError, OSError) as e:
            status = None
            error = f"timed out after {timeout:g} s" if deadline.expired else _describe(e, timeout=timeout)
        finally:
            pool.close()
    return Answer(status_code=status, error=error, duration_ms=int((time.perf_counter() - started) * 1000))


def _describe(error: BaseException, *, timeout: float) -> str:
    """A short reason for the portal, without the pool's description (which names the
    address we connected to, not the URL the user gave)."""
    # urllib3's NewConnectionError is a ConnectTimeoutError too: a refusal is not a timeout.
    if not isinstance(error, NewConnectionError) and isinstance(
        error, urllib3.exceptions.TimeoutError | TimeoutError | socket.timeout
    ):
        return f"timed out after {timeout:g} s"
    text = str(error)
    if "): " in text:
        text = text.split("): ", 1)[1]
    kind = "TLS error" if isinstance(error, urllib3.exceptions.SSLError | ssl.SSLError) else "connection failed"
    return f"{kind}: {text}"[:500]
