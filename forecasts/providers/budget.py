"""The OpenWeather call budget: at most ``OPENWEATHER_CALLS_PER_MINUTE`` upstream requests a
minute, across every web and job worker process (0 or unset: no budget).

Every real HTTP request to the upstream, each retry included, first takes one unit of the
current minute (forecasts.providers.openweather_client). The minute is a fixed window,
``floor(epoch / 60)``, counted in the cache's Redis (``REDIS_URL``) under
``upstream-budget:openweather:<window>`` by one script: it grants a unit only while the count
is below the limit, so the count is the units granted and a unit given back (a request that
never left) is usable again.

When the minute is used up:

* a synchronous caller (a web request) gets ``UpstreamBudgetExhausted``, an
  ``UpstreamUnavailable`` whose ``retry_after`` is the seconds to the next minute: the
  cache serves a stale copy when it has one (forecasts.cache), else the client gets 503
  ``upstream_unavailable`` with ``Retry-After``;
* inside ``upstream_budget_waits()`` (job workers) the caller sleeps into the next minute,
  with a little jitter so waiters do not all arrive at once, and tries again; when the
  next minute starts past ``max_wait_seconds`` it raises as a synchronous caller does.

Without Redis, or for ``REDIS_RETRY_SECONDS`` after it failed, each process counts its own
window with the same limit. That is exact for a single process; with several, a minute
in which Redis is down may see up to processes x limit calls in total. Approximate, but
never unlimited and never an error for the caller.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from weatherapi.errors import UpstreamUnavailable
from weatherapi.metrics import UPSTREAM_BUDGET_REFUSALS
from weatherapi.redis import cache_store_client

logger = logging.getLogger(__name__)

PROVIDER = "openweather"
WINDOW_SECONDS = 60
# Not the cache's ("wx:1:...", Django's prefix and version) nor the metering store's ("{wx}:").
KEY_PREFIX = "upstream-budget:openweather:"
REDIS_RETRY_SECONDS = 1.0
JITTER_SECONDS = 1.0
DEFAULT_MAX_WAIT_SECONDS = 600.0

# The time and the sleep, looked up on every use: tests replace them to pass a minute at once.
clock: Callable[[], float] = time.time
sleep: Callable[[float], None] = time.sleep

# KEYS[1] the window's counter; ARGV[1] the limit, ARGV[2] the key's lifetime.
_TAKE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
if used == 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
# EXISTS first: a unit given back after its window expired must not leave a key without a TTL.
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
  return redis.call('DECR', KEYS[1])
end
return -1
"""


class UpstreamBudgetExhausted(UpstreamUnavailable):
    default_detail = "The weather provider's call budget for this minute is used up; try again shortly."


@dataclass(frozen=True, slots=True)
class Unit:
    """One granted upstream request: its window, and whether Redis or this process counted it."""

    window: int
    shared: bool


class _LocalWindow:
    """This process's count for the current window: the fallback without Redis."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = -1
        self._used = 0

    def take(self, window: int, limit: int) -> bool:
        with self._lock:
            if window != self._window:
                self._window, self._used = window, 0
            if self._used >= limit:
                return False
            self._used += 1
            return True

    def give_back(self, window: int) -> None:
        with self._lock:
            if window == self._window and self._used > 0:
                self._used -= 1

    def used(self, window: int) -> int:
        with self._lock:
            return self._used if window == self._window else 0

    def clear(self) -> None:
        with self._lock:
            self._window, self._used = -1, 0


_local = _LocalWindow()
_state_lock = threading.Lock()
_redis_down_until = 0.0
_scripts: dict[str, Any] = {}
_last_logged_window = -1
# Inside upstream_budget_waits(): the longest a refused caller may wait, in seconds.
_max_wait: ContextVar[float | None] = ContextVar("upstream_budget_max_wait", default=None)


@contextmanager
def upstream_budget_waits(max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS) -> Iterator[None]:
    """Under this block a used-up budget makes the caller wait for the next minute instead
    of failing (job workers), for at most ``max_wait_seconds`` in all."""
    token = _max_wait.set(max_wait_seconds)
    try:
        yield
    finally:
        _max_wait.reset(token)


def budget_take() -> Unit | None:
    """Take one unit for the first request of an upstream call; None when there is no budget.

    Used up: waits inside ``upstream_budget_waits()``, else (or past the wait's bound)
    raises ``UpstreamBudgetExhausted``.
    """
    limit = settings.OPENWEATHER_CALLS_PER_MINUTE
    if limit <= 0:
        return None
    max_wait = _max_wait.get()
    deadline = None if max_wait is None else clock() + max_wait
    while True:
        now = clock()
        window = int(now // WINDOW_SECONDS)
        unit = _take(window, limit)
        if unit is not None:
            return unit
        next_window_at = (window + 1) * WINDOW_SECONDS
        if deadline is None or next_window_at > deadline:
            _refused(window)
            raise UpstreamBudgetExhausted(retry_after=max(1, math.ceil(next_window_at - now)))
        UPSTREAM_BUDGET_REFUSALS.labels(PROVIDER, "waited").inc()
        sleep(next_window_at - now + random.uniform(0, JITTER_SECONDS))  # noqa: S311 # nosec B311


def budget_try_take() -> bool:
    """Take one unit for a retry, never waiting (a retry holds a bulkhead slot): False when
    the minute is used up. True without a budget."""
    limit = settings.OPENWEATHER_CALLS_PER_MINUTE
    if limit <= 0:
        return True
    window = int(clock() // WINDOW_SECONDS)
    if _take(window, limit) is not None:
        return True
    _refused(window)
    return False


def budget_give_back(unit: Unit | None) -> None:
    """Return a unit whose request never left (the bulkhead or the open breaker refused it)."""
    if unit is None:
        return
    if not unit.shared:
        _local.give_back(unit.window)
        return
    client = _shared_client()
    if client is None:
        return  # the unit stays spent: only ever too few calls, never too many
    try:
        _script(client, "give_back", _GIVE_BACK)(keys=[KEY_PREFIX + str(unit.window)], args=[], client=client)
    except Exception as e:  # noqa: BLE001 - Redis failing: the unit stays spent
        _redis_failed(e)


def budget_used() -> int:
    """Units granted in the current minute (Redis's count, or this process's without it)."""
    window = int(clock() // WINDOW_SECONDS)
    client = _shared_client()
    if client is not None:
        try:
            return int(client.get(KEY_PREFIX + str(window)) or 0)
        except Exception as e:  # noqa: BLE001 - Redis failing: this process's count
            _redis_failed(e)
    return _local.used(window)


def budget_reset() -> None:
    """Forget this process's window and any Redis back-off (tests)."""
    global _redis_down_until, _last_logged_window
    _local.clear()
    with _state_lock:
        _redis_down_until = 0.0
        _last_logged_window = -1


def _take(window: int, limit: int) -> Unit | None:
    client = _shared_client()
    if client is not None:
        try:
            granted = _script(client, "take", _TAKE)(
                keys=[KEY_PREFIX + str(window)], args=[limit, 2 * WINDOW_SECONDS], client=client
            )
            return Unit(window, shared=True) if granted else None
        except Exception as e:  # noqa: BLE001 - Redis failing: this process's window
            _redis_failed(e)
    return Unit(window, shared=False) if _local.take(window, limit) else None


def _shared_client() -> Any | None:
    if time.monotonic() < _redis_down_until:
        return None
    try:
        return cache_store_client()
    except Exception as e:  # noqa: BLE001 - no client to be had: this process's window
        _redis_failed(e)
        return None


def _script(client: Any, name: str, source: str) -> Any:
    # redis-py's Script runs EVALSHA on whichever client it is given (EVAL once after a
    # Redis restart lost its scripts), so one registration serves every client.
    script = _scripts.get(name)
    if script is None:
        script = _scripts.setdefault(name, client.register_script(source))
    return script


def _redis_failed(exc: BaseException) -> None:
    global _redis_down_until
    with _state_lock:
        first = time.monotonic() >= _redis_down_until
        _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
    if first:
        logger.warning("redis unavailable for the upstream budget, counting in this process: %s", type(exc).__name__)


def _refused(window: int) -> None:
    global _last_logged_window
    UPSTREAM_BUDGET_REFUSALS.labels(PROVIDER, "refused").inc()
    with _state_lock:
        first = window != _last_logged_window
        _last_logged_window = window
    if first:  # once a minute per process; the counter has every refusal
        logger.warning(
            "upstream call budget of %d a minute used up; refusing until the next minute",
            settings.OPENWEATHER_CALLS_PER_MINUTE,
        )
