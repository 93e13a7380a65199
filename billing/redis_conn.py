"""The one way billing code reaches Redis, with a short back-off after a failure.

When Redis is down every call would otherwise wait for its socket timeout; after one
failure this process stops trying for ``BILLING_REDIS_RETRY_SECONDS`` and the callers
take their fallbacks (in-memory limiter, metering straight to the database) at once.
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


def redis_client() -> Any | None:
    """A Redis client from django-redis's pool, or None without Redis or while backing off."""
    if not settings.REDIS_URL:
        return None
    if time.monotonic() < _down_until:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


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
