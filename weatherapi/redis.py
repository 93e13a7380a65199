"""The one way application code reaches Redis outside the cache API, with a short back-off.

Two roles, one or two servers:

* the **cache** (``REDIS_URL``): weather answers and credential copies through Django's
  cache API (django-redis). Losing it costs only misses.
* the **metering store** (``USAGE_REDIS_URL``, defaulting to ``REDIS_URL``): the usage
  stream, the rate and quota counters, the plan limits and the credential version tokens:
  everything ``redis_client()`` returns a client for. They share one server because the
  throttle's script reads and writes them in one atomic call. In production it is a durable
  store (Amazon MemoryDB: a write is acknowledged once in its Multi-AZ transaction log),
  so a billed event is durable before its answer leaves (docs/design.md, metering).

Every key of the metering store starts with the hash tag ``{wx}`` (the stream, counters,
limits and version tokens), so they share one hash slot: the throttle's script touches
several of them at once, which a cluster-mode store (MemoryDB is one) refuses across slots
(CROSSSLOT). The store is therefore one shard, scaled up and given replicas, not sharded;
docs/design.md says what its ceiling is.

``redis_client()`` is django-redis's client of the ``default`` cache when both roles share
``REDIS_URL``, else a redis-py client of ``USAGE_REDIS_URL`` with the same timeouts. Scripts
are registered with redis-py's ``register_script`` (EVALSHA, and EVAL once after Redis lost
its script cache).

When the store is down every call would otherwise wait for its socket timeout. After one
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

# Every key of the metering store starts with this hash tag (module docstring); the stream's
# default name in settings (USAGE_STREAM_KEY) carries it too.
METERING_KEY_PREFIX = "{wx}:"

_lock = threading.Lock()
_down_until = 0.0
# redis-py clients are thread-safe: one per process, rather than django-redis's lookup
# through Django's per-thread cache handler on every call.
_clients: dict[str, Any] = {}


def metering_store_url() -> str | None:
    """The metering store's URL: ``USAGE_REDIS_URL``, else ``REDIS_URL``, else None."""
    return settings.USAGE_REDIS_URL or settings.REDIS_URL or None


def metering_store_connect(url: str, *, socket_timeout: float = 0.25) -> Any:
    """A new client of the metering store at ``url``: redis-py's ``RedisCluster`` when
    ``USAGE_REDIS_CLUSTER`` is set (MemoryDB is always in cluster mode: a plain client
    would get MOVED from a replica behind the cluster endpoint), else ``Redis``. The
    request path's timeouts by default: a dead store must cost a fraction of a second."""
    import redis

    options: dict[str, Any] = {"socket_connect_timeout": min(1.0, socket_timeout),
                               "socket_timeout": socket_timeout, "health_check_interval": 30}
    if settings.USAGE_REDIS_CLUSTER:
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, max_connections=100, **options)


def _connect(url: str) -> Any:
    if url == settings.REDIS_URL and not settings.USAGE_REDIS_CLUSTER:
        from django_redis import get_redis_connection

        return get_redis_connection("default")
    return metering_store_connect(url)


def metering_store_client(url: str) -> Any:
    """This process's one client of the store at ``url``, made on first use; raises when it
    cannot be made (RedisCluster asks the nodes for their slots when created)."""
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.get(url)
            if client is None:
                client = _clients[url] = _connect(url)
    return client


def cache_store_client() -> Any | None:
    """The cache's Redis (``REDIS_URL``) as a raw redis-py client (django-redis's pool and
    timeouts), for counters that belong with the cache, not the metering store (the
    upstream call budget); None without ``REDIS_URL``. Callers handle its errors and keep
    their own back-off: a cache failure must not send the metering store's users to their
    fallbacks."""
    if not settings.REDIS_URL:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def redis_client() -> Any | None:
    """The metering store's client, or None without one or while backing off."""
    url = metering_store_url()
    if not url or time.monotonic() < _down_until:
        return None
    try:
        return metering_store_client(url)
    except Exception as e:  # noqa: BLE001 - a store down when first reached: the fallbacks
        redis_failed(e, what="metering store connection")
        return None


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
