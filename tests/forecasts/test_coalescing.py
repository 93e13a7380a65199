"""Concurrent cold misses for one key make one upstream call: in-process and across gunicorn workers."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings as django_settings

from tests.factories import AccountFactory, api_key_for
from tests.support.servers import GunicornServer, current_database_url


@pytest.mark.django_db
def test_threads_in_one_process_share_one_upstream_call(upstream):
    from accounts.credentials import resolve_api_key
    from forecasts import services
    from forecasts.locations import Location

    principal = resolve_api_key(api_key_for(AccountFactory(), mode="live"))
    upstream.set_fault("latency", latency=0.3)  # keep the first call in flight while others arrive

    def call(_: int) -> bool:
        answer = services.weather_current(
            principal=principal, location=Location.from_coords(51.5085, -0.1257), units="metric", lang="en"
        )
        return answer.cached

    with ThreadPoolExecutor(max_workers=20) as pool:
        cached = list(pool.map(call, range(20)))
    assert upstream.calls("/data/2.5/weather") == 1
    assert cached.count(False) == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_40_concurrent_cold_requests_through_gunicorn_workers(upstream, tmp_path):
    key = api_key_for(AccountFactory(), mode="live")
    upstream.set_fault("latency", latency=0.5)
    env = {
        "DATABASE_URL": current_database_url(),
        "OPENWEATHER_BASE_URL": upstream.url,
        "OPENWEATHER_API_KEY": upstream.api_key,
        "DJANGO_DEBUG": "1",
        "CACHE_KEY_PREFIX": f"coalesce{os.getpid()}",
    }
    if django_settings.REDIS_URL:
        env["REDIS_URL"] = django_settings.REDIS_URL
    else:
        env.pop("REDIS_URL", None)
    workers = 3
    with GunicornServer(env, workers=workers, threads=16, log_path=tmp_path / "gunicorn.log") as server:
        url = server.url + "/v1/weather/current?lat=48.85&lon=2.35"

        def call(_: int) -> int:
            return requests.get(url, headers={"X-API-Key": key}, timeout=15).status_code

        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(call, range(40)))
    assert statuses == [200] * 40
    upstream_calls = upstream.calls("/data/2.5/weather")
    if django_settings.REDIS_URL:
        # The Redis lock coordinates every worker: exactly one call.
        assert upstream_calls == 1
    else:
        # Embedded default (no Redis): coalescing is per process, at most one call per worker.
        assert 1 <= upstream_calls <= workers
