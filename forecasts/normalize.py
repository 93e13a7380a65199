"""OpenWeather's JSON → our schema (docs/design.md, the API). Absent upstream fields become ``None``.

Upstream always sends precipitation in millimetres and visibility in metres, whatever
``units`` says; we convert precipitation to inches for ``imperial`` so that every numeric
field follows ``units`` as our schema documents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from weatherapi.errors import UpstreamUnavailable

MM_PER_INCH = 25.4


def iso_utc(unix: Any) -> str | None:
    if unix is None:
        return None
    try:
        return datetime.fromtimestamp(int(unix), tz=UTC).isoformat().replace("+00:00", "Z")
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _num(value: Any) -> float | int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    return None


def precipitation(mm: Any, units: str) -> float | None:
    value = _num(mm)
    if value is None:
        return None
    if units == "imperial":
        return round(value / MM_PER_INCH, 3)
    return value


def _conditions(items: Any) -> list[dict[str, Any]]:
    out = []
    for item in items or []:
        if isinstance(item, dict):
            out.append(
                {
                    "code": item.get("id"),
                    "main": item.get("main"),
                    "description": item.get("description"),
                    "icon": item.get("icon"),
                }
            )
    return out


def _wind(wind: Any) -> dict[str, Any]:
    wind = wind if isinstance(wind, dict) else {}
    return {"speed": _num(wind.get("speed")), "direction": _num(wind.get("deg")), "gust": _num(wind.get("gust"))}


def _block(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _readings(main: dict[str, Any]) -> dict[str, Any]:
    """The ``main`` block, shared by current weather and each forecast step."""
    return {
        "temperature": _num(main.get("temp")),
        "feels_like": _num(main.get("feels_like")),
        "temperature_min": _num(main.get("temp_min")),
        "temperature_max": _num(main.get("temp_max")),
        "humidity": _num(main.get("humidity")),
        "pressure": _num(main.get("pressure")),
    }


def _location(name: Any, country: Any, coord: dict[str, Any]) -> dict[str, Any]:
    return {"name": name or None, "country": country or None,
            "lat": _num(coord.get("lat")), "lon": _num(coord.get("lon"))}


def current_weather(data: Any, units: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("main"), dict):
        raise UpstreamUnavailable("The weather provider sent an unexpected answer.")
    main = data["main"]
    coord = _block(data, "coord")
    sys = _block(data, "sys")
    rain, snow = _block(data, "rain"), _block(data, "snow")
    return {
        "location": _location(data.get("name"), sys.get("country"), coord),
        "observed_at": iso_utc(data.get("dt")),
        "units": units,
        **_readings(main),
        "wind": _wind(data.get("wind")),
        "conditions": _conditions(data.get("weather")),
        "clouds": _num(_block(data, "clouds").get("all")),
        "visibility": _num(data.get("visibility")),
        "precipitation": {
            "rain_1h": precipitation(rain.get("1h"), units),
            "snow_1h": precipitation(snow.get("1h"), units),
        },
        "sunrise": iso_utc(sys.get("sunrise")),
        "sunset": iso_utc(sys.get("sunset")),
        "timezone_offset": _num(data.get("timezone")),
    }


def forecast(data: Any, units: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("list"), list):
        raise UpstreamUnavailable("The weather provider sent an unexpected answer.")
    city = _block(data, "city")
    coord = _block(city, "coord")
    steps = []
    for item in data["list"]:
        if not isinstance(item, dict):
            continue
        main = _block(item, "main")
        rain, snow = _block(item, "rain"), _block(item, "snow")
        steps.append(
            {
                "time": iso_utc(item.get("dt")),
                **_readings(main),
                "wind": _wind(item.get("wind")),
                "conditions": _conditions(item.get("weather")),
                "clouds": _num(_block(item, "clouds").get("all")),
                "visibility": _num(item.get("visibility")),
                "precipitation_probability": _num(item.get("pop")),
                "precipitation": {
                    "rain_3h": precipitation(rain.get("3h"), units),
                    "snow_3h": precipitation(snow.get("3h"), units),
                },
            }
        )
    return {
        "location": _location(city.get("name"), city.get("country"), coord),
        "units": units,
        "timezone_offset": _num(city.get("timezone")),
        "sunrise": iso_utc(city.get("sunrise")),
        "sunset": iso_utc(city.get("sunset")),
        "steps": steps,
    }


def place(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict) or _num(item.get("lat")) is None or _num(item.get("lon")) is None:
        return None
    local_names = item.get("local_names")
    return {
        "name": item.get("name") or None,
        "local_names": local_names if isinstance(local_names, dict) else None,
        "state": item.get("state") or None,
        "country": item.get("country") or None,
        "lat": _num(item.get("lat")),
        "lon": _num(item.get("lon")),
    }


def places(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):  # /geo/1.0/zip answers one object
        data = [data]
    if not isinstance(data, list):
        raise UpstreamUnavailable("The weather provider sent an unexpected answer.")
    return [p for p in (place(i) for i in data) if p is not None]


AIR_COMPONENTS = ("co", "no", "no2", "o3", "so2", "pm2_5", "pm10", "nh3")


def air_quality(data: Any, lat: float, lon: float) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("list"), list):
        raise UpstreamUnavailable("The weather provider sent an unexpected answer.")
    measurements = []
    for item in data["list"]:
        if not isinstance(item, dict):
            continue
        components = _block(item, "components")
        measurements.append(
            {
                "time": iso_utc(item.get("dt")),
                "aqi": _num(_block(item, "main").get("aqi")),
                "components": {name: _num(components.get(name)) for name in AIR_COMPONENTS},
            }
        )
    return {"location": {"lat": lat, "lon": lon}, "measurements": measurements}
