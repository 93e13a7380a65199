"""Through real gunicorn workers: the throttle is exact across processes, and the billable
count after the usage worker equals the 2xx product answers exactly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.conf import settings
from django.db.models import Sum

from billing.models import UsageDaily, UsageEvent
from tests.billing.conftest import make_plan, subscribe
from tests.factories import AccountFactory, api_key_for
from tests.support.servers import ROOT, GunicornServer, current_database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


# A Redis database of its own: other test runs on this machine flush database 0 (the
# suite's cache fixture), which would reset counters and drop stream entries mid-test.
ISOLATED_REDIS_DB = 13


def _isolated_redis_url() -> str:
    parts = urlsplit(settings.REDIS_URL)
    return urlunsplit(parts._replace(path=f"/{ISOLATED_REDIS_DB}"))


def _env(upstream=None, *, flush: bool = True) -> dict[str, str]:
    env = {"DATABASE_URL": current_database_url(), "METRICS_TOKEN": "", "AXES_ENABLED": "0"}
    if settings.REDIS_URL:
        env["REDIS_URL"] = _isolated_redis_url()
        if flush:
            import redis

            redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    else:
        env["REDIS_URL"] = ""
    if upstream is not None:
        env["OPENWEATHER_BASE_URL"] = upstream.url
        env["OPENWEATHER_API_KEY"] = upstream.api_key
    return env


def _away_from_minute_boundary(margin: float = 8.0) -> None:
    # The minute window is fixed: a burst straddling a boundary may pass twice the limit.
    into = time.time() % 60
    if into > 60 - margin:
        time.sleep(60 - into + 0.5)


def test_exactly_n_of_n_plus_k_pass_across_workers():
    if not settings.REDIS_URL:
        pytest.skip("exact across processes needs Redis; without it the limiter is per process")
    account = AccountFactory()
    subscribe(account, make_plan("burst10", rpm=10))
    key = api_key_for(account, mode="test")
    with GunicornServer(_env(), workers=3, threads=8) as server:
        session_headers = {"X-API-Key": key}
        requests.get(server.url + "/healthz", timeout=5)
        _away_from_minute_boundary()

        def call(_: int) -> int:
            return requests.get(server.url + "/v1/weather/current?lat=1&lon=2", headers=session_headers,
                                timeout=10).status_code

        with ThreadPoolExecutor(40) as pool:
            statuses = Counter(pool.map(call, range(40)))
    assert statuses == {200: 10, 429: 30}


def test_billable_count_equals_2xx_weather_answers(upstream):
    account = AccountFactory()
    subscribe(account, make_plan("roomy", rpm=10_000))
    live = api_key_for(account, mode="live")
    test = api_key_for(account, mode="test")
    calls = (
        [("/v1/weather/current?lat=51.5&lon=-0.12", live)] * 12
        + [("/v1/weather/forecast?lat=48.85&lon=2.35", live)] * 6
        + [("/v1/weather/current?lat=999&lon=0", live)] * 7          # 400
        + [("/v1/weather/current?q=" + "x" * 101, live)] * 3          # 400
        + [("/v1/account", live)] * 4                                  # 2xx, not billable
        + [("/v1/weather/current?lat=1&lon=2", test)] * 5               # test mode, not billable
        + [("/v1/nowhere", live)] * 2                                   # 404, no view
    )
    with GunicornServer(_env(upstream), workers=2, threads=8) as server:
        def call(item: tuple[str, str]) -> tuple[str, int]:
            path, key = item
            answer = requests.get(server.url + path, headers={"X-API-Key": key}, timeout=15)
            return path, answer.status_code

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(call, calls))
    billable_answers = sum(
        1 for (path, status), (_, key) in zip(results, calls, strict=True)
        if 200 <= status < 300 and key == live and path.startswith("/v1/weather/")
    )
    assert billable_answers == 18, results
    if settings.REDIS_URL:
        # The worker as its own process, on the servers' Redis database.
        subprocess.run([sys.executable, "manage.py", "usage_worker", "--once"], cwd=ROOT, check=True,
                       env={**os.environ, **_env(flush=False)}, timeout=60)
    rollups = UsageDaily.objects.filter(account=account).aggregate(b=Sum("billable"), r=Sum("requests"))
    assert rollups["b"] == billable_answers
    # Every request that resolved a principal is one event (the 404 route has no view to
    # authenticate it, so it is not metered).
    assert rollups["r"] == len(calls) - 2
    assert UsageEvent.objects.filter(account=account).count() == len(calls) - 2
