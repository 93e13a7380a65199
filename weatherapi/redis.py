"""The one way application code reaches Redis outside the cache API, with a short back-off.

``redis_client()`` is django-redis's client of the ``default`` cache: redis-py's own
connection pool (TLS with ``rediss://``, timeouts from ``CACHES``). Scripts are registered
with redis-py's ``register_script`` (EVALSHA, and EVAL once after Redis lost its script
cache).

When Redis is down every call would otherwise wait for its socket timeout. After one
failure this process stops trying for ``BILLING_REDIS_RETRY_SECONDS`` and callers take
their fallbacks (the in-memory limiter, metering straight to the database) at once.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_down_until = 0.0
# redis-py clients are thread-safe: one per process, rather than django-redis's lookup
# through Django's per-thread cache handler on every call.
_clients: dict[str, Any] = {}


def redis_client() -> Any | None:
    """The Redis client, or None without Redis (``REDIS_URL`` unset) or while backing off."""
    if not settings.REDIS_URL or time.monotonic() < _down_until:
        return None
    client = _clients.get(settings.REDIS_URL)
    if client is None:
        from django_redis import get_redis_connection

        client = _clients.setdefault(settings.REDIS_URL, get_redis_connection("default"))
    return client


def redis_failed(exc: BaseException, *, what: str) -> None:
    """Record a failure: callers use their fallbacks for the back-off period."""
    global _down_until
    with _lock:
        first = time.monotonic() >= _down_until
        _down_until = time.monotonic() + settings.BILLING_REDIS_RETRY_SECONDS
    if first:
        logger.warning("redis unavailable for %s, using the fallback: %s", what, type(exc).__name__)


def redis_reset() -> None:
    """Forget a back-off (tests, and the usage worker after it reconnects)."""
    global _down_until
    with _lock:
        _down_until = 0.0
