"""OpenWeather as a ``Provider``: paths and parameters, then normalization."""

from __future__ import annotations

from typing import Any

from forecasts import normalize
from forecasts.locations import Location
from forecasts.providers.openweather_client import OpenWeatherClient


class OpenWeatherProvider:
    name = "openweather"

    def __init__(self, client: OpenWeatherClient) -> None:
        self.client = client

    def current(self, location: Location, *, units: str, lang: str) -> dict[str, Any]:
        lat, lon = location.rounded
        result = self.client.get(
            "/data/2.5/weather", {"lat": lat, "lon": lon, "units": units, "lang": lang}, endpoint="current"
        )
        return normalize.current_weather(result.data, units)

    def forecast(self, location: Location, *, units: str, lang: str) -> dict[str, Any]:
        lat, lon = location.rounded
        # Always the full 40 steps: one cache entry serves every ``cnt``.
        result = self.client.get(
            "/data/2.5/forecast",
            {"lat": lat, "lon": lon, "units": units, "lang": lang, "cnt": 40},
            endpoint="forecast",
        )
        return normalize.forecast(result.data, units)

    def geocode(self, query: str, *, limit: int) -> list[dict[str, Any]]:
        result = self.client.get("/geo/1.0/direct", {"q": query, "limit": limit}, endpoint="geocode")
        return normalize.places(result.data)

    def geocode_zip(self, zip_code: str) -> list[dict[str, Any]]:
        result = self.client.get("/geo/1.0/zip", {"zip": zip_code}, endpoint="geocode")
        return normalize.places(result.data)

    def reverse(self, location: Location, *, limit: int) -> list[dict[str, Any]]:
        lat, lon = location.rounded
        result = self.client.get(
            "/geo/1.0/reverse", {"lat": lat, "lon": lon, "limit": limit}, endpoint="geocode_reverse"
        )
        return normalize.places(result.data)

    def air_quality(self, location: Location) -> dict[str, Any]:
        lat, lon = location.rounded
        result = self.client.get("/data/2.5/air_pollution", {"lat": lat, "lon": lon}, endpoint="air_quality")
        return normalize.air_quality(result.data, lat, lon)
