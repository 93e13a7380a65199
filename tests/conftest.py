"""Suite-wide fixtures: the fake upstream, a clean cache, credentials from factories."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from forecasts.providers.openweather_client import reset_client
from tests.factories import AccountFactory, api_key_for
from tests.fakes.fixtures import fake_openweather, fake_openweather_server  # noqa: F401
from tests.fakes.openweather import FakeOpenWeather
from tests.support.client import RoutedClientHandler, routed_api_client
from tests.support.network import fake_dns, network_guard  # noqa: F401 - for tests that send nothing out


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    # Account ids repeat between tests, so per-process throttle counters must not leak.
    from billing.throttles import memory_limiter
    from forecasts.cache import local_clear

    cache.clear()
    local_clear()
    memory_limiter.clear()
    yield
    cache.clear()
    local_clear()
    memory_limiter.clear()


@pytest.fixture
def redis():
    """The real Redis of the suite, with an empty usage stream; skips where REDIS_URL is
    unset (Redis-only behaviour: without it metering writes to the database by design)."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL)")
    from django_redis import get_redis_connection

    client = get_redis_connection("default")
    client.delete(settings.USAGE_STREAM_KEY)
    yield client
    client.delete(settings.USAGE_STREAM_KEY)


@pytest.fixture(params=["single", "cluster"])
def metering_store(request, tmp_path, settings, redis):
    """A durable private redis-server as the metering store (``USAGE_REDIS_URL``), apart
    from the suite's Redis, which stays the cache: a plain server, and a one-node cluster
    as production's MemoryDB (``USAGE_REDIS_CLUSTER``), which refuses keys across slots."""
    from tests.support.services import PrivateRedis, redis_server_binary

    if redis_server_binary() is None:
        pytest.skip("needs redis-server")
    cluster = request.param == "cluster"
    store = PrivateRedis(tmp_path, durable=True, cluster=cluster)
    store.start()
    settings.USAGE_REDIS_URL = store.url
    settings.USAGE_REDIS_CLUSTER = cluster
    yield store
    store.kill()
    from weatherapi.redis import redis_reset

    redis_reset()


@pytest.fixture
def upstream(settings, fake_openweather: FakeOpenWeather) -> FakeOpenWeather:  # noqa: F811
    """The app pointed at the fake OpenWeather over real HTTP, with fast retries."""
    settings.OPENWEATHER_BASE_URL = fake_openweather.url
    settings.OPENWEATHER_API_KEY = fake_openweather.api_key
    settings.OPENWEATHER_READ_TIMEOUT = 1.0
    settings.OPENWEATHER_CONNECT_TIMEOUT = 0.5
    settings.OPENWEATHER_RETRIES = 2
    settings.OPENWEATHER_BREAKER_FAIL_MAX = 5
    settings.OPENWEATHER_BREAKER_RESET_SECONDS = 30
    settings.COALESCE_WAIT_SECONDS = 3
    reset_client()
    yield fake_openweather
    reset_client()


@pytest.fixture
def account(db):
    return AccountFactory()


@pytest.fixture
def live_key(account) -> str:
    return api_key_for(account, mode="live")


@pytest.fixture
def test_key(account) -> str:
    return api_key_for(account, mode="test")


@pytest.fixture
def api_client() -> APIClient:
    """DRF's test client, routed like the WSGI application (API paths: the lean stack)."""
    return routed_api_client()


@pytest.fixture
def client() -> Client:
    """pytest-django's ``client``, routed like the WSGI application."""
    django_client = Client()
    django_client.handler = RoutedClientHandler(enforce_csrf_checks=False, force_auth=False)
    return django_client


@pytest.fixture
def live_client(api_client: APIClient, live_key: str) -> APIClient:
    api_client.credentials(HTTP_X_API_KEY=live_key)
    return api_client


@pytest.fixture
def test_client(api_client: APIClient, test_key: str) -> APIClient:
    api_client.credentials(HTTP_X_API_KEY=test_key)
    return api_client
