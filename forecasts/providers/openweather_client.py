"""The OpenWeather HTTP client: the only code that talks to the upstream.

One pooled ``requests.Session``; connect and read timeouts on every call; retries with
jittered exponential backoff on connection errors and 5xx only (every call is an
idempotent GET, but a read timeout is not retried: it would double the wait); a circuit
breaker; the global calls-per-minute budget (forecasts.providers.budget), one unit per
request sent, retries included; every upstream failure mapped onto our ``Upstream*`` errors. Upstream message
text and our API key never leave this module (not in errors, not in logs at INFO).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import pybreaker
import requests
from requests.adapters import HTTPAdapter

from forecasts.providers.budget import budget_give_back, budget_take, budget_try_take
from weatherapi.errors import LocationNotFound, UpstreamTimeout, UpstreamUnavailable
from weatherapi.metrics import CIRCUIT_OPEN, UPSTREAM_LATENCY, UPSTREAM_REQUESTS

logger = logging.getLogger(__name__)

PROVIDER = "openweather"


@dataclass(frozen=True, slots=True)
class UpstreamResult:
    endpoint: str
    data: Any
    fetched_at: float
    elapsed: float


class _Retryable(Exception):
    """A failure worth another attempt (connection error, 5xx)."""

    def __init__(self, outcome: str, error: Exception | None = None) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.error = error


class _BreakerListener(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        is_open = new_state.name == pybreaker.STATE_OPEN
        CIRCUIT_OPEN.labels(PROVIDER).set(1 if is_open else 0)
        log = logger.warning if is_open else logger.info
        log("upstream circuit breaker %s -> %s", getattr(old_state, "name", old_state), new_state.name)


class ConcurrentCircuitBreaker(pybreaker.CircuitBreaker):
    """pybreaker's breaker without its process-wide serialization of the guarded call.

    ``pybreaker.CircuitBreaker.call`` holds the breaker's lock for the whole guarded call
    (danielfm/pybreaker#55, open), so every upstream call of a process would run one at a
    time, whatever the bulkhead allows. While the circuit is closed the call runs
    outside the lock (the failure counter and the transition to open still go through
    pybreaker, under its lock); open and half-open keep pybreaker's locked behaviour, so a
    recovering upstream still gets a single trial call at a time.
    """

    def call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            state = self.state
            if state.name != pybreaker.STATE_CLOSED:
                return state.call(func, *args, **kwargs)
        return state.call(func, *args, **kwargs)


class OpenWeatherClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
        retries: int = 2,
        backoff_base: float = 0.1,
        breaker_fail_max: int = 5,
        breaker_reset_seconds: int = 30,
        pool_size: int = 64,
        max_concurrency: int = 16,
        slot_wait: float = 0.25,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.backoff_base = backoff_base
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": "weatherapi/1.0", "Accept": "application/json"})
        self.breaker = ConcurrentCircuitBreaker(
            fail_max=breaker_fail_max,
            reset_timeout=breaker_reset_seconds,
            # A place that does not exist is an answer, not an upstream failure.
            exclude=[LocationNotFound],
            listeners=[_BreakerListener()],
            name=PROVIDER,
        )
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self.slot_wait = slot_wait

    def __repr__(self) -> str:  # never show the key
        return f"OpenWeatherClient(base_url={self.base_url!r})"

    def get(self, path: str, params: dict[str, Any], *, endpoint: str) -> UpstreamResult:
        # The budget's unit for the first request, before anything else: a job worker waiting
        # for the next minute holds no bulkhead slot and no breaker lock, and a refusal never
        # reaches the breaker (it is no upstream failure, nor a success).
        unit = budget_take()
        # Bulkhead: a slow upstream may hold at most ``max_concurrency`` of this process's
        # threads; the rest keep serving cached answers. Past it, fail fast (stale copy or 503).
        if not self._slots.acquire(timeout=self.slot_wait):
            budget_give_back(unit)
            UPSTREAM_REQUESTS.labels(PROVIDER, endpoint, "shed").inc()
            logger.warning("upstream concurrency limit reached on %s; shedding", endpoint)
            raise UpstreamUnavailable("The weather provider is slow right now; try again shortly.", retry_after=2)
        started = time.monotonic()
        sent = False

        def guarded() -> Any:
            nonlocal sent
            sent = True
            return self._get_with_retries(path, params, endpoint)

        try:
            data = self.breaker.call(guarded)
        except pybreaker.CircuitBreakerError as e:
            if not sent:  # open: no request left, the unit is not spent
                budget_give_back(unit)
            UPSTREAM_REQUESTS.labels(PROVIDER, endpoint, "circuit_open").inc()
            raise UpstreamUnavailable(retry_after=max(1, int(self.breaker.reset_timeout))) from e
        finally:
            self._slots.release()
            UPSTREAM_LATENCY.labels(PROVIDER, endpoint).observe(time.monotonic() - started)
        return UpstreamResult(endpoint=endpoint, data=data, fetched_at=time.time(), elapsed=time.monotonic() - started)

    def _get_with_retries(self, path: str, params: dict[str, Any], endpoint: str) -> Any:
        attempt = 0
        while True:
            try:
                return self._get_once(path, params, endpoint)
            except _Retryable as e:
                retry = attempt < self.retries
                if retry:
                    # Full jitter: spreads the retries of many workers hitting one outage.
                    time.sleep(random.uniform(0, self.backoff_base * (2**attempt)))  # noqa: S311 # nosec B311
                    # A retry is a request too: it takes a unit, in the minute it is sent,
                    # and never waits for one, so a used-up budget ends the retries.
                    retry = budget_try_take()
                if not retry:
                    UPSTREAM_REQUESTS.labels(PROVIDER, endpoint, "error").inc()
                    logger.warning("upstream %s failed after %d attempts: %s", endpoint, attempt + 1, e.outcome)
                    raise UpstreamUnavailable(retry_after=5) from e.error
                attempt += 1

    def _get_once(self, path: str, params: dict[str, Any], endpoint: str) -> Any:
        query = {**params, "appid": self._api_key}
        try:
            response = self.session.get(self.base_url + path, params=query, timeout=self.timeout)
        except requests.ConnectTimeout as e:
            raise _Retryable("connect_timeout", e) from e
        except requests.ReadTimeout as e:
            UPSTREAM_REQUESTS.labels(PROVIDER, endpoint, "timeout").inc()
            logger.warning("upstream %s timed out", endpoint)
            raise UpstreamTimeout(retry_after=5) from e
        except requests.RequestException as e:  # connection refused, reset, dropped
            raise _Retryable(type(e).__name__, e) from e

        status = response.status_code
        if status >= 500:
            raise _Retryable(f"http_{status}")
        if status == 401:
            UPSTREAM_REQUESTS.labels(PROVIDER, endpoint, "unauthorized").inc()
            logger.error("upstream rejected our API key (401) on %s; check OPENWEATHER_API_KEY", endpoint)
            raise UpstreamUnavailable(retry_after=60)
        if status == 429:
            UPSTREAM_REQUESTS.labels(PROVIDER, endpoint, "rate_limited").inc()
            logger.error("upstream quota exhausted (429) on %s", endpoint)
            raise UpstreamUnavailable(retry_after=60)
        if status == 404:
            UPSTREAM_REQUESTS.labels(PROVIDER, endpoint, "not_found").inc()
            raise LocationNotFound()
        if status == 400:
            UPSTREAM_REQUESTS.labels(PROVIDER, endpoint, "not_found").inc()
            raise LocationNotFound("The weather provider does not know this location.")
        if status != 200:
            UPSTREAM_REQUESTS.labels(PROVIDER, endpoint, "error").inc()
            logger.error("upstream answered an unexpected status %s on %s", status, endpoint)
            raise UpstreamUnavailable(retry_after=5)
        try:
            data = response.json()
        except (json.JSONDecodeError, ValueError) as e:
            UPSTREAM_REQUESTS.labels(PROVIDER, endpoint, "error").inc()
            logger.error("upstream sent a body that is not JSON on %s", endpoint)
            raise UpstreamUnavailable(retry_after=5) from e
        UPSTREAM_REQUESTS.labels(PROVIDER, endpoint, "ok").inc()
        return data


_client: OpenWeatherClient | None = None
_client_lock = threading.Lock()


def get_client() -> OpenWeatherClient | None:
    """The process-wide client, or None when no upstream key is configured."""
    global _client
    from django.conf import settings

    api_key, base_url = settings.OPENWEATHER_API_KEY, settings.OPENWEATHER_BASE_URL
    if not api_key:
        return None
    client = _client
    # Every weather request asks: no lock while the settings match the client's.
    if client is not None and client.base_url == base_url and client._api_key == api_key:
        return client
    with _client_lock:
        if _client is None or _client.base_url != base_url or _client._api_key != api_key:
            _client = OpenWeatherClient(
                base_url=base_url,
                api_key=api_key,
                connect_timeout=settings.OPENWEATHER_CONNECT_TIMEOUT,
                read_timeout=settings.OPENWEATHER_READ_TIMEOUT,
                retries=settings.OPENWEATHER_RETRIES,
                breaker_fail_max=settings.OPENWEATHER_BREAKER_FAIL_MAX,
                breaker_reset_seconds=settings.OPENWEATHER_BREAKER_RESET_SECONDS,
                max_concurrency=settings.OPENWEATHER_MAX_CONCURRENCY,
            )
        return _client


def reset_client() -> None:
    """Drop the process-wide client (tests switch upstreams and breaker settings)."""
    global _client
    with _client_lock:
        _client = None
