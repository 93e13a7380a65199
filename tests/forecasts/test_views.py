"""The /v1/ weather endpoints end to end: auth, validation, fake upstream over HTTP, cache."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

CURRENT = "/v1/weather/current"
PROBLEM = "application/problem+json"


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"].endswith("/" + code)
    assert body["request_id"] == response["X-Request-ID"]
    return body


def test_current_weather_normalized_with_source(live_client, upstream):
    response = live_client.get(CURRENT, {"lat": "51.5085", "lon": "-0.1257", "units": "metric"})
    assert response.status_code == 200
    body = response.json()
    assert body["source"]["provider"] == "openweather"
    assert body["source"]["cached"] is False and body["source"]["stale"] is False
    assert body["location"]["name"] == "London" and body["location"]["country"] == "GB"
    for field in ("observed_at", "temperature", "feels_like", "humidity", "pressure", "wind", "conditions",
                  "clouds", "visibility", "precipitation", "sunrise", "sunset", "timezone_offset"):
        assert field in body
    assert body["precipitation"]["rain_1h"] is not None  # London has rain in the fake
    assert body["units"] == "metric"
    assert "cod" not in body and "main" not in body  # never OpenWeather's raw JSON


def test_second_call_is_a_cache_hit_without_upstream_call(live_client, upstream):
    live_client.get(CURRENT, {"lat": "51.5085", "lon": "-0.1257"})
    response = live_client.get(CURRENT, {"lat": "51.51", "lon": "-0.13"})  # same place, rounded
    assert response.json()["source"]["cached"] is True
    assert upstream.calls("/data/2.5/weather") == 1


def test_optional_blocks_absent_upstream_are_null(live_client, upstream):
    body = live_client.get(CURRENT, {"lat": "35.6895", "lon": "139.6917"}).json()  # Tokyo
    assert body["wind"]["gust"] is None
    assert body["visibility"] is None
    assert body["precipitation"] == {"rain_1h": None, "snow_1h": None}


def test_q_is_geocoded_then_weather_by_coordinates_and_names_unicode(live_client, upstream):
    body = live_client.get(CURRENT, {"q": "Zürich,CH"}).json()
    assert body["location"]["name"] == "Zürich"
    assert body["location"]["country"] == "CH"
    assert upstream.calls("/geo/1.0/direct") == 1
    # The same place by coordinates now hits the weather cache.
    again = live_client.get(CURRENT, {"lat": "47.3667", "lon": "8.55"}).json()
    assert again["source"]["cached"] is True


def test_lang_names_a_place_given_as_q_in_that_language(live_client, upstream):
    """The geocoder's local_names name the place; the default en keeps its own name."""
    def name(q: str, lang: str) -> str:
        return live_client.get(CURRENT, {"q": q, "lang": lang}).json()["location"]["name"]

    assert name("Moscow,RU", "ru") == "Москва" and name("Moscow,RU", "de") == "Moskau"
    assert name("Tokyo,JP", "ja") == "東京都"
    assert name("Moscow,RU", "it") == "Moscow"  # no Italian name: the geocoder's own
    assert name("Zürich,CH", "en") == "Zürich"  # not local_names["en"], "Zurich"


def test_zip_location(live_client, upstream):
    body = live_client.get(CURRENT, {"zip": "SW1A,GB"}).json()
    assert body["location"]["country"] == "GB"


def test_imperial_units_convert_precipitation_to_inches(live_client, upstream):
    metric = live_client.get(CURRENT, {"lat": "51.5085", "lon": "-0.1257", "units": "metric"}).json()
    imperial = live_client.get(CURRENT, {"lat": "51.5085", "lon": "-0.1257", "units": "imperial"}).json()
    assert imperial["precipitation"]["rain_1h"] == pytest.approx(metric["precipitation"]["rain_1h"] / 25.4, abs=0.001)
    assert imperial["temperature"] == pytest.approx(metric["temperature"] * 9 / 5 + 32, abs=0.2)


def test_unknown_place_is_location_not_found(live_client, upstream):
    _problem(live_client.get(CURRENT, {"q": "Atlantis,ZZ"}), 404, "location_not_found")
    _problem(live_client.get(CURRENT, {"zip": "99999,ZZ"}), 404, "location_not_found")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": "91", "lon": "0"}, "lat"),
        ({"lat": "0", "lon": "-181"}, "lon"),
        ({"lat": "nan", "lon": "0"}, "lat"),
        ({"lat": "inf", "lon": "0"}, "lat"),
        ({"lat": "abc", "lon": "0"}, "lat"),
        ({"lat": "10"}, "lon"),
        ({}, "location"),
        ({"lat": "1", "lon": "1", "q": "London"}, "location"),
        ({"q": "x" * 101}, "q"),
        ({"q": "Lon\u0000don"}, "q"),
        ({"q": "Lon\u202edon"}, "q"),
        ({"zip": "12345"}, "zip"),
        ({"lat": "1", "lon": "1", "units": "kelvin"}, "units"),
        ({"lat": "1", "lon": "1", "lang": "english!"}, "lang"),
    ],
)
def test_invalid_parameters_are_named(live_client, upstream, params, field):
    body = _problem(live_client.get(CURRENT, params), 400, "invalid_parameter")
    assert field in body["errors"]
    assert upstream.calls() == 0


def test_repeated_parameter_is_rejected(live_client, upstream):
    body = _problem(live_client.get(CURRENT + "?lat=1&lat=2&lon=3"), 400, "invalid_parameter")
    assert "lat" in body["errors"]


@pytest.mark.parametrize("cnt", ["0", "41", "1000000", "-1"])
def test_forecast_cnt_range(live_client, upstream, cnt):
    _problem(live_client.get("/v1/weather/forecast", {"lat": "1", "lon": "1", "cnt": cnt}), 400, "invalid_parameter")


def test_forecast_cnt_slices_one_cached_forecast(live_client, upstream):
    two = live_client.get("/v1/weather/forecast", {"lat": "51.5085", "lon": "-0.1257", "cnt": "2"}).json()
    full = live_client.get("/v1/weather/forecast", {"lat": "51.5085", "lon": "-0.1257"}).json()
    assert len(two["steps"]) == 2 and len(full["steps"]) == 40
    assert full["source"]["cached"] is True
    assert upstream.calls("/data/2.5/forecast") == 1
    assert "rain_3h" in full["steps"][0]["precipitation"]


def test_geocode_and_reverse(live_client, upstream):
    body = live_client.get("/v1/geocode", {"q": "Springfield,US", "limit": "1"}).json()
    assert len(body["results"]) == 1 and body["results"][0]["country"] == "US"
    assert live_client.get("/v1/geocode", {"q": "Atlantis"}).json()["results"] == []
    rev = live_client.get("/v1/geocode/reverse", {"lat": "51.5085", "lon": "-0.1257"}).json()
    assert rev["results"][0]["name"] == "London"
    _problem(live_client.get("/v1/geocode", {"q": "x", "limit": "6"}), 400, "invalid_parameter")


def test_air_quality(live_client, upstream):
    body = live_client.get("/v1/air-quality", {"lat": "51.5085", "lon": "-0.1257"}).json()
    measurement = body["measurements"][0]
    assert 1 <= measurement["aqi"] <= 5
    assert set(measurement["components"]) == {"co", "no", "no2", "o3", "so2", "pm2_5", "pm10", "nh3"}


def test_upstream_down_without_stale_copy_is_503_with_retry_after(live_client, upstream):
    upstream.set_fault("status", status=500)
    body = _problem(live_client.get(CURRENT, {"lat": "1", "lon": "1"}), 503, "upstream_unavailable")
    assert "Retry-After" in live_client.get(CURRENT, {"lat": "1", "lon": "1"}).headers
    assert "500" not in body["detail"]


@pytest.mark.parametrize("status", [401, 429])
def test_upstream_rejecting_our_key_or_quota_is_503_without_upstream_text(live_client, upstream, status):
    upstream.set_fault("status", status=status)
    response = live_client.get(CURRENT, {"lat": "1", "lon": "1"})
    body = _problem(response, 503, "upstream_unavailable")
    text = response.content.decode()
    assert "openweathermap" not in text and "Invalid API key" not in text and upstream.api_key not in text
    assert body["detail"]


def test_stale_copy_served_when_upstream_fails_after_ttl(live_client, upstream, settings):
    settings.CACHE_TTL_CURRENT = 0  # fresh for no time at all, kept CACHE_STALE_SECONDS
    first = live_client.get(CURRENT, {"lat": "51.5085", "lon": "-0.1257"}).json()
    upstream.set_fault("status", status=503)
    response = live_client.get(CURRENT, {"lat": "51.5085", "lon": "-0.1257"})
    assert response.status_code == 200
    body = response.json()
    assert body["source"]["stale"] is True and body["source"]["cached"] is True
    assert body["temperature"] == first["temperature"]


def test_upstream_timeout_is_reported_as_upstream_timeout(live_client, upstream):
    upstream.set_fault("latency", latency=1.5)
    _problem(live_client.get(CURRENT, {"lat": "2", "lon": "2"}), 504, "upstream_timeout")


def test_test_key_uses_sandbox_without_any_upstream_call(test_client, upstream):
    a = test_client.get(CURRENT, {"lat": "51.5", "lon": "-0.12"}).json()
    b = test_client.get(CURRENT, {"lat": "51.5", "lon": "-0.12"}).json()
    assert a["source"]["provider"] == "sandbox"
    assert a["temperature"] == b["temperature"]  # deterministic
    assert upstream.calls() == 0


def test_live_key_without_upstream_key_is_503(live_client, settings):
    settings.OPENWEATHER_API_KEY = None
    _problem(live_client.get(CURRENT, {"lat": "1", "lon": "1"}), 503, "upstream_unavailable")
