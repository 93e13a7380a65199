"""The upstream client over real HTTP against the fake OpenWeather server."""

from __future__ import annotations

import logging
import time

import pytest

from forecasts.providers.openweather_client import OpenWeatherClient
from weatherapi.errors import LocationNotFound, UpstreamTimeout, UpstreamUnavailable

WEATHER = "/data/2.5/weather"
LONDON = {"lat": 51.51, "lon": -0.13, "units": "metric", "lang": "en"}


@pytest.fixture
def client(fake_openweather) -> OpenWeatherClient:
    return OpenWeatherClient(
        base_url=fake_openweather.url,
        api_key=fake_openweather.api_key,
        connect_timeout=0.5,
        read_timeout=0.5,
        retries=2,
        backoff_base=0.01,
        breaker_fail_max=3,
        breaker_reset_seconds=1,
    )


def test_success_sends_our_key_and_returns_parsed_json(client, fake_openweather):
    result = client.get(WEATHER, LONDON, endpoint="current")
    assert result.data["cod"] == 200
    assert result.data["name"] == "London"
    assert fake_openweather.requests[-1]["query"]["appid"] == fake_openweather.api_key
    assert fake_openweather.calls(WEATHER) == 1


def test_5xx_is_retried_and_then_succeeds(client, fake_openweather):
    fake_openweather.set_fault("status", status=502, times=2, path_prefix=WEATHER)
    result = client.get(WEATHER, LONDON, endpoint="current")
    assert result.data["name"] == "London"
    assert fake_openweather.calls(WEATHER) == 3


def test_5xx_every_time_gives_upstream_unavailable_after_bounded_retries(client, fake_openweather):
    fake_openweather.set_fault("status", status=500, path_prefix=WEATHER)
    with pytest.raises(UpstreamUnavailable) as excinfo:
        client.get(WEATHER, LONDON, endpoint="current")
    assert excinfo.value.code == "upstream_unavailable"
    assert excinfo.value.retry_after
    assert fake_openweather.calls(WEATHER) == 3  # one try and two retries


def test_dropped_connection_is_retried(client, fake_openweather):
    fake_openweather.set_fault("drop", times=1, path_prefix=WEATHER)
    assert client.get(WEATHER, LONDON, endpoint="current").data["name"] == "London"
    assert fake_openweather.calls(WEATHER) == 2


@pytest.mark.parametrize("status", [429, 401])
def test_429_and_401_are_not_retried_and_never_leak_upstream_text(client, fake_openweather, caplog, status):
    fake_openweather.set_fault("status", status=status, path_prefix=WEATHER)
    with caplog.at_level(logging.INFO), pytest.raises(UpstreamUnavailable) as excinfo:
        client.get(WEATHER, LONDON, endpoint="current")
    assert fake_openweather.calls(WEATHER) == 1
    assert "openweathermap" not in excinfo.value.detail.lower()
    assert "subscription" not in excinfo.value.detail.lower()
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    for record in caplog.records:
        assert fake_openweather.api_key not in record.getMessage()
        assert "openweathermap.org" not in record.getMessage()


def test_unknown_place_is_location_not_found(client, fake_openweather):
    with pytest.raises(LocationNotFound):
        client.get("/geo/1.0/zip", {"zip": "99999,ZZ"}, endpoint="geocode")


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
def test_malformed_body_is_upstream_unavailable(client, fake_openweather, kind):
    fake_openweather.set_fault(kind, path_prefix=WEATHER)
    with pytest.raises(UpstreamUnavailable):
        client.get(WEATHER, LONDON, endpoint="current")


def test_read_timeout_is_upstream_timeout_and_not_retried(client, fake_openweather):
    fake_openweather.set_fault("latency", latency=1.5, path_prefix=WEATHER)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as excinfo:
        client.get(WEATHER, LONDON, endpoint="current")
    assert excinfo.value.code == "upstream_timeout"
    assert time.monotonic() - started < 1.4
    assert fake_openweather.calls(WEATHER) == 1


def test_circuit_breaker_opens_short_circuits_and_closes(client, fake_openweather):
    fake_openweather.set_fault("status", status=503, path_prefix=WEATHER)
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable):
            client.get(WEATHER, LONDON, endpoint="current")
    calls_when_open = fake_openweather.calls(WEATHER)
    with pytest.raises(UpstreamUnavailable):
        client.get(WEATHER, LONDON, endpoint="current")
    assert fake_openweather.calls(WEATHER) == calls_when_open  # open: no upstream call
    fake_openweather.clear_faults()
    time.sleep(1.1)  # reset timeout: half-open, one trial call closes it
    assert client.get(WEATHER, LONDON, endpoint="current").data["name"] == "London"
    assert client.breaker.current_state == "closed"


def test_location_not_found_does_not_trip_the_breaker(client, fake_openweather):
    for _ in range(5):
        with pytest.raises(LocationNotFound):
            client.get("/geo/1.0/zip", {"zip": "99999,ZZ"}, endpoint="geocode")
    assert client.breaker.current_state == "closed"


def test_repr_hides_the_key(client, fake_openweather):
    assert fake_openweather.api_key not in repr(client)


def test_bulkhead_sheds_calls_beyond_the_concurrency_limit(fake_openweather):
    from concurrent.futures import ThreadPoolExecutor

    limited = OpenWeatherClient(
        base_url=fake_openweather.url, api_key=fake_openweather.api_key, read_timeout=2,
        max_concurrency=2, slot_wait=0.05, breaker_fail_max=100,
    )
    fake_openweather.set_fault("latency", latency=0.5, path_prefix=WEATHER)

    def call(_: int) -> str:
        try:
            limited.get(WEATHER, LONDON, endpoint="current")
            return "ok"
        except UpstreamUnavailable:
            return "shed"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(call, range(6)))
    assert outcomes.count("ok") == 2
    assert outcomes.count("shed") == 4
    assert fake_openweather.calls(WEATHER) == 2
