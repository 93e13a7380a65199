from __future__ import annotations

from forecasts import normalize


def _current(**overrides):
    data = {
        "coord": {"lon": 10.0, "lat": 20.0},
        "weather": [{"id": 500, "main": "Rain", "description": "light rain", "icon": "10d"}],
        "main": {"temp": 12.5, "feels_like": 11.0, "temp_min": 10.0, "temp_max": 14.0, "pressure": 1010, "humidity": 80},
        "wind": {"speed": 3.2, "deg": 200},
        "clouds": {"all": 75},
        "dt": 1717243200,
        "sys": {"country": "GB", "sunrise": 1717214400, "sunset": 1717272000},
        "timezone": 3600,
        "name": "Somewhere",
        "cod": 200,
    }
    data.update(overrides)
    return data


def test_absent_optional_blocks_are_null_never_missing():
    out = normalize.current_weather(_current(), "metric")
    assert out["wind"]["gust"] is None
    assert out["visibility"] is None
    assert out["precipitation"] == {"rain_1h": None, "snow_1h": None}
    assert out["observed_at"] == "2024-06-01T12:00:00Z"
    assert out["timezone_offset"] == 3600


def test_precipitation_in_inches_with_imperial_because_upstream_always_sends_mm():
    out = normalize.current_weather(_current(rain={"1h": 25.4}), "imperial")
    assert out["precipitation"]["rain_1h"] == 1.0
    metric = normalize.current_weather(_current(rain={"1h": 25.4}), "metric")
    assert metric["precipitation"]["rain_1h"] == 25.4


def test_empty_name_over_open_sea_is_null():
    out = normalize.current_weather(_current(name="", sys={}), "standard")
    assert out["location"]["name"] is None
    assert out["location"]["country"] is None


def test_places_accepts_the_zip_object_and_drops_junk():
    assert normalize.places({"zip": "SW1A", "name": "London", "lat": 51.5, "lon": -0.1, "country": "GB"})[0]["name"] == "London"
    assert normalize.places([{"name": "x"}, "junk"]) == []
