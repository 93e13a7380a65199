"""The OpenWeather call budget over real HTTP to the fake upstream: refusals through the
view, one budget for several processes, job workers waiting, the per-process fallback, and
a breaker that never hears of a refusal.

The budget's clock is replaced (``clock`` fixture) so a test sits 30 s into a fixed minute
and a waiting worker passes into the next minute without sleeping.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from prometheus_client import REGISTRY

from forecasts.providers import budget
from forecasts.providers.budget import (
    JITTER_SECONDS,
    KEY_PREFIX,
    UpstreamBudgetExhausted,
    budget_reset,
    budget_try_take,
    budget_used,
    upstream_budget_waits,
)
from forecasts.providers.openweather_client import OpenWeatherClient
from tests.support.servers import free_port
from weatherapi.errors import UpstreamUnavailable

CURRENT = "/v1/weather/current"
WEATHER = "/data/2.5/weather"
NOW = 1_800_000_030.0  # 30 s into a minute
WINDOW = int(NOW // 60)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock(NOW)
    monkeypatch.setattr(budget, "clock", fake)
    monkeypatch.setattr(budget, "sleep", fake.sleep)
    budget_reset()
    yield fake
    budget_reset()


@pytest.fixture(params=["redis", "memory"])
def store(request, settings) -> str:
    """Each budget test twice: counted in the suite's Redis, and with no Redis at all
    (REDIS_URL unset: each process counts its own window)."""
    if request.param == "redis":
        request.getfixturevalue("redis")
    else:
        settings.REDIS_URL = None
    return request.param


def make_client(fake_openweather, **options) -> OpenWeatherClient:
    defaults = {"connect_timeout": 0.5, "read_timeout": 0.5, "retries": 2, "backoff_base": 0.01,
                "breaker_fail_max": 3, "breaker_reset_seconds": 30}
    return OpenWeatherClient(base_url=fake_openweather.url, api_key=fake_openweather.api_key, **{**defaults, **options})


@pytest.fixture
def client(fake_openweather) -> OpenWeatherClient:
    return make_client(fake_openweather)


def place(n: int) -> dict[str, object]:
    """A distinct place per ``n``, so no two calls share a cache entry."""
    return {"lat": 10 + n, "lon": 20 + n, "units": "metric", "lang": "en"}


def refusals(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "weatherapi_upstream_budget_refusals_total", {"provider": "openweather", "outcome": outcome}
    )
    return value or 0.0


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


# --------------------------------------------------------------------- synchronous callers


@pytest.mark.django_db
def test_the_call_past_the_budget_is_503_with_retry_after_to_the_next_minute(live_client, upstream, clock, settings,
                                                                               store):
    settings.OPENWEATHER_CALLS_PER_MINUTE = 3
    before = refusals("refused")
    for n in range(3):
        response = live_client.get(CURRENT, {"lat": str(10 + n), "lon": str(20 + n)})
        assert response.status_code == 200, response.content
    response = live_client.get(CURRENT, {"lat": "13", "lon": "23"})
    _problem(response, 503, "upstream_unavailable")
    assert response["Retry-After"] == "30"  # the minute ends 30 s from now
    assert upstream.calls() == 3
    assert refusals("refused") == before + 1


@pytest.mark.django_db
def test_a_stale_copy_is_served_when_the_budget_is_used_up(live_client, upstream, clock, settings, store):
    settings.CACHE_TTL_CURRENT = 0  # stale at once, kept CACHE_STALE_SECONDS
    settings.OPENWEATHER_CALLS_PER_MINUTE = 1
    london = {"lat": "51.5085", "lon": "-0.1257"}
    first = live_client.get(CURRENT, london).json()
    assert first["source"]["stale"] is False
    response = live_client.get(CURRENT, london)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["source"]["stale"] is True and body["source"]["cached"] is True
    assert body["temperature"] == first["temperature"]
    assert upstream.calls() == 1


def test_without_a_budget_nothing_is_counted_or_refused(client, fake_openweather, clock, settings, store):
    settings.OPENWEATHER_CALLS_PER_MINUTE = 0
    for n in range(5):
        client.get(WEATHER, place(n), endpoint="current")
    assert fake_openweather.calls() == 5
    assert budget_used() == 0


def test_each_retry_takes_a_unit_and_a_used_up_budget_ends_the_retries(client, fake_openweather, clock, settings,
                                                                      store):
    settings.OPENWEATHER_CALLS_PER_MINUTE = 2
    fake_openweather.set_fault("status", status=502, path_prefix=WEATHER)
    with pytest.raises(UpstreamUnavailable) as excinfo:
        client.get(WEATHER, place(0), endpoint="current")
    # The upstream's failure is what the caller hears: it did fail, twice.
    assert not isinstance(excinfo.value, UpstreamBudgetExhausted)
    assert fake_openweather.calls(WEATHER) == 2  # one try, one retry; the second retry had no unit
    assert budget_used() == 2


def test_an_open_breaker_gives_the_unit_back(fake_openweather, clock, settings, store):
    client = make_client(fake_openweather, retries=0, breaker_fail_max=1)
    settings.OPENWEATHER_CALLS_PER_MINUTE = 2
    fake_openweather.set_fault("status", status=500, path_prefix=WEATHER)
    with pytest.raises(UpstreamUnavailable):
        client.get(WEATHER, place(0), endpoint="current")
    assert client.breaker.current_state == "open"
    for n in range(3):
        with pytest.raises(UpstreamUnavailable):
            client.get(WEATHER, place(1 + n), endpoint="current")
    assert fake_openweather.calls() == 1
    assert budget_used() == 1  # only the request that went out


def test_budget_refusals_leave_the_breaker_alone(fake_openweather, clock, settings, store):
    client = make_client(fake_openweather, retries=0, breaker_fail_max=2)
    settings.OPENWEATHER_CALLS_PER_MINUTE = 1
    fake_openweather.set_fault("status", status=500, times=1, path_prefix=WEATHER)
    with pytest.raises(UpstreamUnavailable) as excinfo:
        client.get(WEATHER, place(0), endpoint="current")
    assert not isinstance(excinfo.value, UpstreamBudgetExhausted)
    assert client.breaker.fail_counter == 1  # a real upstream failure counts
    for n in range(5):
        with pytest.raises(UpstreamBudgetExhausted) as refused:
            client.get(WEATHER, place(1 + n), endpoint="current")
        assert refused.value.code == "upstream_unavailable" and refused.value.retry_after == 30
    # Neither a failure (it would be open at 2) nor a success (the count would be back to 0).
    assert client.breaker.current_state == "closed"
    assert client.breaker.fail_counter == 1
    assert fake_openweather.calls() == 1


# --------------------------------------------------------------------- shared across processes

CHILD = """
import json, os, sys
import django
django.setup()
from forecasts.providers import budget
from forecasts.providers.openweather_client import OpenWeatherClient
from weatherapi.errors import UpstreamUnavailable
budget.clock = lambda: float(sys.argv[1])
client = OpenWeatherClient(base_url=os.environ["OPENWEATHER_BASE_URL"], api_key=os.environ["OPENWEATHER_API_KEY"])
outcomes = []
for n in range(3):
    try:
        client.get("/data/2.5/weather", {"lat": 40 + n, "lon": 50 + n}, endpoint="current")
        outcomes.append("ok")
    except UpstreamUnavailable as e:
        outcomes.append(e.code)
print(json.dumps(outcomes))
"""


def test_two_processes_share_one_budget_through_redis(redis, client, fake_openweather, clock, settings):
    settings.OPENWEATHER_CALLS_PER_MINUTE = 3
    for n in range(2):
        client.get(WEATHER, place(n), endpoint="current")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "weatherapi.settings",
        "REDIS_URL": settings.REDIS_URL,
        "OPENWEATHER_CALLS_PER_MINUTE": "3",
        "OPENWEATHER_BASE_URL": fake_openweather.url,
        "OPENWEATHER_API_KEY": fake_openweather.api_key,
    }
    child = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, str(NOW)], env=env, cwd=django_settings.BASE_DIR,
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout.strip().splitlines()[-1]) == ["ok", "upstream_unavailable", "upstream_unavailable"]
    with pytest.raises(UpstreamBudgetExhausted):
        client.get(WEATHER, place(2), endpoint="current")
    assert fake_openweather.calls() == 3
    assert int(redis.get(KEY_PREFIX + str(WINDOW))) == 3
    assert 0 < redis.ttl(KEY_PREFIX + str(WINDOW)) <= 120


def test_two_clients_of_one_process_share_the_budget(redis, fake_openweather, clock, settings):
    settings.OPENWEATHER_CALLS_PER_MINUTE = 2
    one, two = make_client(fake_openweather), make_client(fake_openweather)
    one.get(WEATHER, place(0), endpoint="current")
    two.get(WEATHER, place(1), endpoint="current")
    for c in (one, two):
        with pytest.raises(UpstreamBudgetExhausted):
            c.get(WEATHER, place(2), endpoint="current")
    assert fake_openweather.calls() == 2


# --------------------------------------------------------------------- job workers wait


def test_a_job_worker_waits_for_the_next_minute_and_succeeds(client, fake_openweather, clock, settings, store):
    settings.OPENWEATHER_CALLS_PER_MINUTE = 1
    before = refusals("waited")
    client.get(WEATHER, place(0), endpoint="current")
    with upstream_budget_waits():
        result = client.get(WEATHER, place(1), endpoint="current")
    assert result.data["cod"] == 200
    assert len(clock.sleeps) == 1
    assert 30 <= clock.sleeps[0] <= 30 + JITTER_SECONDS
    assert int(clock.now // 60) == WINDOW + 1
    assert fake_openweather.calls() == 2
    assert refusals("waited") == before + 1


def test_outside_the_block_a_refusal_never_waits(client, fake_openweather, clock, settings, store):
    settings.OPENWEATHER_CALLS_PER_MINUTE = 1
    client.get(WEATHER, place(0), endpoint="current")
    with upstream_budget_waits():
        pass
    with pytest.raises(UpstreamBudgetExhausted):
        client.get(WEATHER, place(1), endpoint="current")
    assert clock.sleeps == []


def test_the_wait_is_bounded_then_it_fails_as_a_web_request_does(client, fake_openweather, clock, settings, store,
                                                                 monkeypatch):
    settings.OPENWEATHER_CALLS_PER_MINUTE = 1
    client.get(WEATHER, place(0), endpoint="current")

    def another_worker_takes_each_new_minute(seconds: float) -> None:
        clock.sleep(seconds)
        assert budget_try_take()

    monkeypatch.setattr(budget, "sleep", another_worker_takes_each_new_minute)
    with upstream_budget_waits(max_wait_seconds=100), pytest.raises(UpstreamBudgetExhausted) as excinfo:
        client.get(WEATHER, place(1), endpoint="current")
    # Woke at the next two minutes; the third starts past the bound (30 s + 100 s).
    assert len(clock.sleeps) == 2
    assert excinfo.value.code == "upstream_unavailable" and excinfo.value.retry_after >= 59
    assert fake_openweather.calls() == 1


# --------------------------------------------------------------------- Redis failing


@pytest.mark.django_db
def test_a_failing_redis_leaves_each_process_its_own_window(live_client, upstream, clock, settings, monkeypatch):
    import redis as redis_py

    dead = redis_py.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2, socket_timeout=0.2)
    monkeypatch.setattr(budget, "cache_store_client", lambda: dead)
    settings.OPENWEATHER_CALLS_PER_MINUTE = 2
    for n in range(2):
        response = live_client.get(CURRENT, {"lat": str(10 + n), "lon": str(20 + n)})
        assert response.status_code == 200, response.content
    _problem(live_client.get(CURRENT, {"lat": "12", "lon": "22"}), 503, "upstream_unavailable")
    assert upstream.calls() == 2
