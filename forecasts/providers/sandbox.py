"""Deterministic synthetic weather for test mode: derived from the place, no network.

The same location, units and time bucket always give the same numbers, so client
developers can write assertions against the sandbox.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from forecasts.locations import Location, normalize_text
from forecasts.normalize import AIR_COMPONENTS, iso_utc, precipitation
from weatherapi.errors import LocationNotFound

_CONDITIONS = [
    (800, "Clear", "clear sky", "01d"),
    (801, "Clouds", "few clouds", "02d"),
    (803, "Clouds", "broken clouds", "04d"),
    (500, "Rain", "light rain", "10d"),
    (600, "Snow", "light snow", "13d"),
    (701, "Mist", "mist", "50d"),
]


def _seed(*parts: Any) -> int:
    raw = "|".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big")


def _frac(seed: int, salt: int) -> float:
    return ((seed >> (salt % 48)) % 10_000) / 10_000


def _temperature(celsius: float, units: str) -> float:
    if units == "imperial":
        return round(celsius * 9 / 5 + 32, 2)
    if units == "standard":
        return round(celsius + 273.15, 2)
    return round(celsius, 2)


def _wind_speed(ms: float, units: str) -> float:
    return round(ms * 2.23694, 2) if units == "imperial" else round(ms, 2)


def _place_for_text(text: str) -> tuple[str, str, float, float]:
    seed = _seed("place", normalize_text(text))
    name = text.split(",")[0].strip() or "Sandbox"
    country = (text.split(",")[-1].strip().upper()[:2] if "," in text else "ZZ") or "ZZ"
    lat = round(-60 + 120 * _frac(seed, 3), 4)
    lon = round(-180 + 360 * _frac(seed, 17), 4)
    return name, country, lat, lon


class SandboxProvider:
    name = "sandbox"

    def _bucket(self) -> int:
        # A new synthetic observation every 10 minutes, like the real data's refresh rate.
        return int(time.time()) // 600 * 600

    def _weather(self, lat: float, lon: float, units: str, dt: int, salt: str) -> dict[str, Any]:
        seed = _seed(f"{lat:.2f}", f"{lon:.2f}", dt, salt)
        base_c = 30 - abs(lat) * 0.5 + 8 * math.sin(dt / 86400 * 2 * math.pi)
        temp_c = base_c + 6 * (_frac(seed, 1) - 0.5)
        code, main, description, icon = _CONDITIONS[seed % len(_CONDITIONS)]
        wind_ms = 12 * _frac(seed, 5)
        rain = round(4 * _frac(seed, 9), 2) if main == "Rain" else None
        snow = round(2 * _frac(seed, 11), 2) if main == "Snow" else None
        return {
            "temperature": _temperature(temp_c, units),
            "feels_like": _temperature(temp_c - 1.5, units),
            "temperature_min": _temperature(temp_c - 2, units),
            "temperature_max": _temperature(temp_c + 2, units),
            "humidity": 30 + seed % 70,
            "pressure": 990 + seed % 40,
            "wind": {
                "speed": _wind_speed(wind_ms, units),
                "direction": seed % 360,
                "gust": _wind_speed(wind_ms * 1.4, units) if seed % 3 else None,
            },
            "conditions": [{"code": code, "main": main, "description": description, "icon": icon}],
            "clouds": seed % 101,
            "visibility": 10000 if main != "Mist" else 2000,
            "rain": precipitation(rain, units),
            "snow": precipitation(snow, units),
        }

    def current(self, location: Location, *, units: str, lang: str) -> dict[str, Any]:
        lat, lon = location.rounded
        dt = self._bucket()
        w = self._weather(lat, lon, units, dt, "current")
        offset = int(round(lon / 15)) * 3600
        day = dt // 86400 * 86400
        return {
            "location": {"name": "Sandbox", "country": None, "lat": lat, "lon": lon},
            "observed_at": iso_utc(dt),
            "units": units,
            "temperature": w["temperature"],
            "feels_like": w["feels_like"],
            "temperature_min": w["temperature_min"],
            "temperature_max": w["temperature_max"],
            "humidity": w["humidity"],
            "pressure": w["pressure"],
            "wind": w["wind"],
            "conditions": w["conditions"],
            "clouds": w["clouds"],
            "visibility": w["visibility"],
            "precipitation": {"rain_1h": w["rain"], "snow_1h": w["snow"]},
            "sunrise": iso_utc(day + 6 * 3600 - offset),
            "sunset": iso_utc(day + 18 * 3600 - offset),
            "timezone_offset": offset,
        }

    def forecast(self, location: Location, *, units: str, lang: str) -> dict[str, Any]:
        lat, lon = location.rounded
        start = self._bucket() // 10800 * 10800 + 10800
        steps = []
        for i in range(40):
            dt = start + i * 10800
            w = self._weather(lat, lon, units, dt, "forecast")
            steps.append(
                {
                    "time": iso_utc(dt),
                    "temperature": w["temperature"],
                    "feels_like": w["feels_like"],
                    "temperature_min": w["temperature_min"],
                    "temperature_max": w["temperature_max"],
                    "humidity": w["humidity"],
                    "pressure": w["pressure"],
                    "wind": w["wind"],
                    "conditions": w["conditions"],
                    "clouds": w["clouds"],
                    "visibility": w["visibility"],
                    "precipitation_probability": round(w["clouds"] / 100, 2),
                    "precipitation": {"rain_3h": w["rain"], "snow_3h": w["snow"]},
                }
            )
        offset = int(round(lon / 15)) * 3600
        day = start // 86400 * 86400
        return {
            "location": {"name": "Sandbox", "country": None, "lat": lat, "lon": lon},
            "units": units,
            "timezone_offset": offset,
            "sunrise": iso_utc(day + 6 * 3600 - offset),
            "sunset": iso_utc(day + 18 * 3600 - offset),
            "steps": steps,
        }

    def geocode(self, query: str, *, limit: int) -> list[dict[str, Any]]:
        if normalize_text(query).startswith("nowhere"):
            return []  # a documented way to see location_not_found in test mode
        name, country, lat, lon = _place_for_text(query)
        return [{"name": name, "local_names": None, "state": None, "country": country, "lat": lat, "lon": lon}]

    def geocode_zip(self, zip_code: str) -> list[dict[str, Any]]:
        if normalize_text(zip_code).startswith("00000"):
            raise LocationNotFound()
        name, country, lat, lon = _place_for_text(zip_code)
        return [{"name": name, "local_names": None, "state": None, "country": country, "lat": lat, "lon": lon}]

    def reverse(self, location: Location, *, limit: int) -> list[dict[str, Any]]:
        lat, lon = location.rounded
        return [{"name": "Sandbox", "local_names": None, "state": None, "country": None, "lat": lat, "lon": lon}]

    def air_quality(self, location: Location) -> dict[str, Any]:
        lat, lon = location.rounded
        dt = self._bucket()
        seed = _seed(f"{lat:.2f}", f"{lon:.2f}", dt, "air")
        components = {name: round(50 * _frac(seed, i * 5 + 1), 2) for i, name in enumerate(AIR_COMPONENTS)}
        return {
            "location": {"lat": lat, "lon": lon},
            "measurements": [{"time": iso_utc(dt), "aqi": 1 + seed % 5, "components": components}],
        }
