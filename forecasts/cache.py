"""The weather cache: fresh and stale copies, and one upstream call per key at a time.

An entry is ``(fetched_at, fresh_until, body)`` where ``body`` is the JSON of the
normalized answer without its ``source`` object, already encoded: a hit costs one cache
read and no re-serialization. Entries live ``ttl + CACHE_STALE_SECONDS`` so a stale copy
can be served when the upstream fails.

Concurrent misses are coalesced twice: threads of one process wait on an in-process
event (``_local_flights``), and processes race for a short ``SET NX`` lock in the cache
(``cache.add``); the winner fetches, the others poll the cache briefly. When Redis is
down ``cache.add`` answers ``None`` and each process fetches for itself.

In front of the shared cache, each process keeps the fresh entries it has read or written
(``_local``: at most ``CACHE_LOCAL_ENTRIES``, each for at most ``CACHE_LOCAL_SECONDS`` and
never past its ``fresh_until``), so a popular place costs no Redis round trip at all. Only
fresh copies are kept: staleness and coalescing are always decided by the shared cache.
Inside ``local_only()`` a lookup that the process cannot answer from its own copies raises
``NotLocal`` instead of doing I/O; the weather views use it to know, before the throttle
runs, whether the answer is already in hand (``weatherapi.api``).

``endpoint`` labels the metrics of a lookup; ``None`` counts nothing (the sandbox's lookups:
a miss there computes, it calls nobody).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from weatherapi.errors import ApplicationError, LocationNotFound, UpstreamUnavailable
from weatherapi.metrics import CACHE_REQUESTS, COALESCED_WAITS, labelled

logger = logging.getLogger(__name__)

LOCK_SECONDS = 15
POLL_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class CachedBody:
    body: bytes
    fetched_at: float
    cached: bool
    stale: bool


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Flight:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.result: CachedBody | None = None
        self.error: BaseException | None = None


_local_flights: dict[str, _Flight] = {}
_local_lock = threading.Lock()


Entry = tuple[float, float, bytes]  # (fetched_at, fresh_until, body)


class NotLocal(Exception):  # noqa: N818 - a signal, not an error
    """Inside ``local_only()``: the answer needs the shared cache or the upstream."""


class LocalCopies:
    """This process's fresh copies: bounded, oldest inserted evicted first."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Entry]] = {}  # key -> (keep until, entry)
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> Entry | None:
        # Lock-free read; an expired entry stays until put() replaces or evicts it, so
        # only put() and clear() ever change the dict, both under the lock.
        found = self._entries.get(key)
        if found is None or found[0] <= now:
            return None
        return found[1]

    def put(self, key: str, entry: Entry, now: float) -> None:
        limit = settings.CACHE_LOCAL_ENTRIES
        keep_until = min(entry[1], now + settings.CACHE_LOCAL_SECONDS)
        if limit <= 0 or keep_until <= now:
            return
        with self._lock:
            while len(self._entries) >= limit and key not in self._entries:
                self._entries.pop(next(iter(self._entries)), None)
            self._entries[key] = (keep_until, entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_local = LocalCopies()
# Inside local_only(): the cache endpoints of the hits so far, counted only if the answer
# is used (a request refused by the throttle afterwards served nothing).
_local_only: ContextVar[list[str] | None] = ContextVar("weather_cache_local_only", default=None)


def local_clear() -> None:
    """Forget this process's copies (tests; the shared cache is cleared separately)."""
    _local.clear()


@contextmanager
def local_only() -> Iterator[list[str]]:
    """Lookups answer from this process's copies or raise ``NotLocal``; yields the cache
    endpoints of the hits, for ``count_hits`` once the answer is actually given."""
    hits: list[str] = []
    token = _local_only.set(hits)
    try:
        yield hits
    finally:
        _local_only.reset(token)


def in_local_only() -> bool:
    return _local_only.get() is not None


def count_hits(endpoints: Iterable[str]) -> None:
    for endpoint in endpoints:
        labelled(CACHE_REQUESTS, endpoint, "hit").inc()


def _read(key: str) -> Entry | None:
    entry = cache.get(key)
    if isinstance(entry, tuple) and len(entry) == 3:
        return entry
    return None


def get_or_fetch(
    key: str, *, ttl: int, endpoint: str | None, fetch: Callable[[], Any]
) -> CachedBody:
    now = time.time()
    entry = _local.get(key, now)
    local_hits = _local_only.get()
    if entry is None:
        if local_hits is not None:
            raise NotLocal(key)
        entry = _read(key)
        if entry is not None and entry[1] > now:
            _local.put(key, entry, now)
    if entry is not None and entry[1] > now:
        if local_hits is not None:
            if endpoint is not None:
                local_hits.append(endpoint)
        elif endpoint is not None:
            labelled(CACHE_REQUESTS, endpoint, "hit").inc()
        return CachedBody(body=entry[2], fetched_at=entry[0], cached=True, stale=False)

    with _local_lock:
        flight = _local_flights.get(key)
        leader = flight is None
        if leader:
            flight = _Flight()
            _local_flights[key] = flight
    assert flight is not None  # noqa: S101
    if not leader:
        if endpoint is not None:
            COALESCED_WAITS.labels(endpoint).inc()
        if flight.event.wait(settings.COALESCE_WAIT_SECONDS):
            if flight.result is not None:
                return CachedBody(flight.result.body, flight.result.fetched_at, True, flight.result.stale)
            if flight.error is not None:
                raise flight.error
        return _serve_stale_or_raise(key, endpoint, UpstreamUnavailable(retry_after=5))
    try:
        result = _fetch_across_processes(key, ttl=ttl, endpoint=endpoint, fetch=fetch, stale=entry)
        flight.result = result
        return result
    except BaseException as e:
        flight.error = e
        raise
    finally:
        flight.event.set()
        with _local_lock:
            _local_flights.pop(key, None)


def _fetch_across_processes(
    key: str,
    *,
    ttl: int,
    endpoint: str | None,
    fetch: Callable[[], Any],
    stale: Entry | None,
) -> CachedBody:
    lock_key = f"{key}:lock"
    deadline = time.monotonic() + settings.COALESCE_WAIT_SECONDS
    waited = False
    while True:
        token = uuid.uuid4().hex
        acquired = cache.add(lock_key, token, LOCK_SECONDS)
        if acquired or acquired is None:  # None: the cache is down, coordinate nothing
            try:
                return _fetch_and_store(key, ttl=ttl, endpoint=endpoint, fetch=fetch, stale=stale)
            finally:
                if acquired:
                    cache.delete(lock_key)
        if not waited:
            if endpoint is not None:
                COALESCED_WAITS.labels(endpoint).inc()
            waited = True
        # Another worker is fetching this key: wait for its result to land in the cache.
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            entry = _read(key)
            if entry is not None and entry[1] > time.time():
                return CachedBody(body=entry[2], fetched_at=entry[0], cached=True, stale=False)
            if cache.get(lock_key) is None:
                break  # the leader gave up (failure): try to lead ourselves
        else:
            return _serve_stale_or_raise(key, endpoint, UpstreamUnavailable(retry_after=5))


def _fetch_and_store(
    key: str,
    *,
    ttl: int,
    endpoint: str | None,
    fetch: Callable[[], Any],
    stale: Entry | None,
) -> CachedBody:
    # Re-check: the key may have been filled between our miss and taking the lock.
    entry = _read(key)
    if entry is not None and entry[1] > time.time():
        if endpoint is not None:
            CACHE_REQUESTS.labels(endpoint, "hit").inc()
        return CachedBody(body=entry[2], fetched_at=entry[0], cached=True, stale=False)
    if endpoint is not None:
        CACHE_REQUESTS.labels(endpoint, "miss").inc()
    try:
        payload = fetch()
    except LocationNotFound:
        raise
    except ApplicationError as e:
        if isinstance(e, UpstreamUnavailable):
            return _serve_stale_or_raise(key, endpoint, e, entry or stale)
        raise
    body = encode(payload)
    fetched_at = time.time()
    cache.set(key, (fetched_at, fetched_at + ttl, body), ttl + settings.CACHE_STALE_SECONDS)
    _local.put(key, (fetched_at, fetched_at + ttl, body), fetched_at)
    return CachedBody(body=body, fetched_at=fetched_at, cached=False, stale=False)


def _serve_stale_or_raise(
    key: str,
    endpoint: str | None,
    error: ApplicationError,
    entry: Entry | None = None,
) -> CachedBody:
    entry = entry or _read(key)
    # entry[1] is when it stopped being fresh; it may be served for CACHE_STALE_SECONDS more.
    if entry is not None and entry[1] + settings.CACHE_STALE_SECONDS > time.time():
        if endpoint is not None:
            CACHE_REQUESTS.labels(endpoint, "stale").inc()
        logger.warning("serving a stale copy for %s: %s", endpoint, error.code)
        return CachedBody(body=entry[2], fetched_at=entry[0], cached=True, stale=True)
    raise error
