"""The one way billing code reaches Redis, with a short back-off after a failure.

When Redis is down every call would otherwise wait for its socket timeout; after one
failure this process stops trying for ``BILLING_REDIS_RETRY_SECONDS`` and the callers
take their fallbacks (in-memory limiter, metering straight to the database) at once.

``script_run`` is the hot path's one round trip (the throttle's script): it goes out on a
connection of the calling thread's own instead of through the client's pool, which per
command takes a lock, checks the pid, polls the socket for stray data and runs redis-py's
observability hooks. That was ~40 % of the client's CPU per call, and the poll is one
more system call that gives up the GIL under load (docs/performance.md).

The same connection keeps its read and write timeouts in the kernel (``SO_RCVTIMEO``,
``SO_SNDTIMEO``) rather than in Python when it is plain TCP: a Python socket timeout
makes every send and receive a ``poll()`` first, two more GIL hand-offs per call that the
threads of a busy worker queue for. The call still fails after ``SOCKET_TIMEOUT`` when
Redis stops answering. A TLS connection (``rediss://``, ElastiCache in transit) keeps the
Python timeout: Python's TLS read retries a read the kernel timed out, so it would wait
for TCP to give up instead (minutes).

The script's command is written by libc's ``send()`` called through ctypes *without*
giving up the GIL (``_write``), non-blocking: a write of a few hundred bytes to a socket
with room completes at once, so there is nothing to wait for, while ``sendall`` hands the
GIL to another of the worker's busy threads and then queues to get it back before it can
even start waiting for the reply. With eight threads busy that was ~35 µs of CPU per call
(``scripts/bench_scale.py threads``, docs/performance.md). Anything short of the whole command written at once (a full
buffer, an error, a TLS socket, no libc) goes to ``sendall``, which finishes the write or
raises as before. The reply is read the ordinary way, the GIL released while it waits.

A thread's connection that has been idle for a second is checked before use, as the pool
checks its connections: one the server closed meanwhile (a restart, an idle timeout, a
killed client) is replaced instead of failing the call and sending the whole process to
its fallbacks. Busy threads skip the check.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import hiredis
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_down_until = 0.0
# One client per Redis URL and process (thread-safe; django-redis's lookup of it through
# the per-thread cache handler is ~10 us, paid twice per request before).
_clients: dict[str, Any] = {}
_own = threading.local()
_IDLE_CHECK_SECONDS = 1.0


def _forget_after_fork() -> None:
    # A forked child must not use its parent's sockets (redis-py's pool checks the pid).
    global _own
    _own = threading.local()
    _clients.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _libc_send() -> Any | None:
    """libc's ``send(2)`` called with the GIL held (``PyDLL``); None where it cannot be had."""
    try:
        send = ctypes.PyDLL(None).send
    except (OSError, AttributeError):  # no C library to load the symbol from (not Linux/macOS)
        return None
    send.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
    send.restype = ctypes.c_ssize_t
    return send


_send_holding_gil = _libc_send()
# Never block (the GIL is held) and never raise SIGPIPE: a closed socket is left to sendall.
_SEND_FLAGS = socket.MSG_DONTWAIT | getattr(socket, "MSG_NOSIGNAL", 0)


def _write(conn: Any, command: bytes) -> None:
    """One packed command to the connection's socket (module docstring): at once with the
    GIL held when the socket takes it all, else (TLS, a full buffer, an error) through
    ``sendall`` with the connection's timeout and errors."""
    sock = conn._sock
    sent = 0
    if _send_holding_gil is not None and not isinstance(sock, ssl.SSLSocket):
        sent = max(0, _send_holding_gil(sock.fileno(), command, len(command), _SEND_FLAGS))
    if sent < len(command):
        # redis-py's own errors for a failed write, as its send_packed_command raises them.
        try:
            sock.sendall(command[sent:])
        except TimeoutError as e:
            raise RedisTimeoutError("Timeout writing to socket") from e
        except OSError as e:
            raise RedisConnectionError(f"Error while writing to socket: {e}") from e


def redis_client() -> Any | None:
    """A Redis client from django-redis's pool, or None without Redis or while backing off."""
    if not settings.REDIS_URL:
        return None
    if time.monotonic() < _down_until:
        return None
    client = _clients.get(settings.REDIS_URL)
    if client is None:
        from django_redis import get_redis_connection

        client = _clients.setdefault(settings.REDIS_URL, get_redis_connection("default"))
    return client


def _own_connection(client: Any) -> Any:
    """This thread's connection to the client's server: the pool's connection class and
    arguments (address, database, password, TLS, timeouts), never shared, never pooled
    (so 32 per worker on top of the pool's ``max_connections``)."""
    pool = client.connection_pool
    if getattr(_own, "pool", None) is not pool:
        previous = getattr(_own, "conn", None)
        if previous is not None:
            previous.disconnect()
        _own.conn, _own.pool, _own.used = pool.connection_class(**pool.connection_kwargs), pool, 0.0
    return _own.conn


def _usable(conn: Any) -> None:
    """Connected, with the kernel's timeouts where they apply; after an idle second, first
    make sure the server has not closed the connection (EOF or stray data: reconnect)."""
    now = time.monotonic()
    if conn._sock is not None and now - _own.used > _IDLE_CHECK_SECONDS:
        try:
            stale = conn.can_read()
        except Exception:  # noqa: BLE001 - EOF and socket errors alike: not usable
            stale = True
        if stale:
            conn.disconnect()
        else:
            _kernel_timeouts(conn)  # can_read() put a Python timeout back
    _own.used = now
    if conn._sock is None:
        conn.connect()
        _kernel_timeouts(conn)


def _kernel_timeouts(conn: Any) -> None:
    """After the handshake: a blocking socket whose timeouts the kernel enforces."""
    timeout = conn.socket_timeout
    sock = conn._sock  # redis-py keeps it private; requirements.lock pins the version
    if not timeout or sock is None or isinstance(sock, ssl.SSLSocket):
        return
    timeval = struct.pack("ll", int(timeout), int(timeout % 1 * 1_000_000))
    sock.settimeout(None)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


@dataclass(frozen=True, slots=True)
class LuaScript:
    """A script's source and the SHA-1 Redis names it by (what ``script_run`` needs of
    redis-py's ``Script``, without a client to register it with)."""

    script: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.script.encode(), usedforsecurity=False).hexdigest())


def script_run(client: Any, script: Any, keys: list[Any], args: list[Any]) -> Any:
    """EVALSHA of a script (a ``LuaScript``, or redis-py's ``Script``) in one round trip; EVAL
    when the server has lost its script cache (a restart, a failover). Any failure
    disconnects (the reply may still be on its way) and is raised for the caller's
    fallback; the next call connects again."""
    conn = _own_connection(client)
    try:
        _usable(conn)
        try:
            # hiredis packs the command itself: redis-py's packer around it re-checks and
            # re-encodes every argument, twice hiredis's own time (~5 us a call here).
            _write(conn, hiredis.pack_command(("EVALSHA", script.sha, len(keys), *keys, *args)))
            return conn.read_response()
        except NoScriptError:
            _write(conn, hiredis.pack_command(("EVAL", script.script, len(keys), *keys, *args)))
            return conn.read_response()
    except BaseException:
        conn.disconnect()
        raise


def redis_failed(exc: BaseException, *, what: str) -> None:
    global _down_until
    with _lock:
        first = time.monotonic() >= _down_until
        _down_until = time.monotonic() + settings.BILLING_REDIS_RETRY_SECONDS
    if first:
        logger.warning("redis unavailable for %s, using the fallback: %s", what, type(exc).__name__)


def redis_reset() -> None:
    """Forget a back-off (tests, and the worker after it reconnects)."""
    global _down_until
    with _lock:
        _down_until = 0.0
