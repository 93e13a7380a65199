"""Weather reads: choose the provider, go through the cache, return encoded JSON bodies.

Every answer is ``WeatherAnswer``: the normalized body (bytes, without ``source``) and
the facts for its ``source`` object. Places given as ``q`` or ``zip`` are geocoded first
(cached a day), then the weather is read by coordinates, so every way of naming a place
shares one weather cache entry. The sandbox's answers go through the same cache, under
keys of their own (``wx:sandbox:``), so test mode shows what caching does.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from accounts.credentials import Principal
from forecasts.cache import CachedBody, NotLocal, encode, get_or_fetch, in_local_only
from forecasts.locations import Location, in_language
from forecasts.providers import Provider
from forecasts.providers.openweather import OpenWeatherProvider
from forecasts.providers.openweather_client import get_client
from forecasts.providers.sandbox import SandboxProvider
from weatherapi.errors import LocationNotFound, UpstreamUnavailable

logger = logging.getLogger(__name__)

_sandbox = SandboxProvider()


@dataclass(frozen=True, slots=True)
class WeatherAnswer:
    body: bytes  # JSON object without "source"
    provider: str
    cached: bool
    stale: bool
    fetched_at: float

    def source(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "cached": self.cached,
            "stale": self.stale,
            "fetched_at": datetime.fromtimestamp(self.fetched_at, tz=UTC).isoformat().replace("+00:00", "Z"),
            "age_seconds": max(0, int(time.time() - self.fetched_at)),
        }

    def render(self) -> bytes:
        """The response body: ``source`` spliced in front of the cached object, no re-encoding.
        Formatted by hand: it is on every answer, and every value is a plain literal
        (``test_render_matches_source`` holds it to ``source()``)."""
        fetched_at = datetime.fromtimestamp(self.fetched_at, tz=UTC).isoformat().replace("+00:00", "Z")
        source = (
            f'{{"provider":"{self.provider}","cached":{"true" if self.cached else "false"},'
            f'"stale":{"true" if self.stale else "false"},"fetched_at":"{fetched_at}",'
            f'"age_seconds":{max(0, int(time.time() - self.fetched_at))}}}'
        ).encode()
        if self.body == b"{}":
            return b'{"source":' + source + b"}"
        return b'{"source":' + source + b"," + self.body[1:]


def provider_for(principal: Principal) -> Provider:
    if principal.is_test:
        return _sandbox
    client = get_client()
    if client is None:
        if in_local_only():
            raise NotLocal("no provider")  # said once, by the ordinary path
        logger.error("a live request arrived but OPENWEATHER_API_KEY is not set")
        raise UpstreamUnavailable("Live weather is not configured on this server.", retry_after=60)
    return OpenWeatherProvider(client)


def _answer(
    provider: Provider,
    key: str,
    *,
    ttl: int,
    endpoint: str,
    fetch: Callable[[], Any],
) -> WeatherAnswer:
    # The cache's metrics tell how well it spares OpenWeather: the sandbox's lookups stay out.
    measured = None if provider.name == SandboxProvider.name else endpoint
    result: CachedBody = get_or_fetch(f"wx:{provider.name}:{key}", ttl=ttl, endpoint=measured, fetch=fetch)
    return WeatherAnswer(result.body, provider.name, result.cached, result.stale, result.fetched_at)


def _places(provider: Provider, location: Location) -> list[dict[str, Any]]:
    """Geocode ``q`` or ``zip`` through the geocode cache."""
    assert location.text is not None  # noqa: S101
    text = location.text
    if location.kind == "zip":
        answer = _answer(
            provider, f"zip:{location.cache_token}", ttl=settings.CACHE_TTL_GEOCODE, endpoint="geocode",
            fetch=lambda: {"results": provider.geocode_zip(text)},
        )
    else:
        answer = _answer(
            provider, f"geo:{location.cache_token}:5", ttl=settings.CACHE_TTL_GEOCODE, endpoint="geocode",
            fetch=lambda: {"results": provider.geocode(text, limit=5)},
        )
    results: list[dict[str, Any]] = json.loads(answer.body)["results"]
    return results


def _resolve(provider: Provider, location: Location) -> tuple[Location, dict[str, Any] | None]:
    if location.kind == "coords":
        return location, None
    places = _places(provider, location)
    if not places:
        raise LocationNotFound(f"No place matches {location.text!r}.")
    place = places[0]
    return Location.from_coords(place["lat"], place["lon"]), place


def _with_place(answer: WeatherAnswer, place: dict[str, Any] | None, lang: str) -> WeatherAnswer:
    """Name the place as the caller asked for it rather than the nearest station: in ``lang``
    where the geocoder knows a name in it (``local_names``; ``pt_br`` reads ``pt``), except
    for the default ``en``, which keeps the geocoder's own name ("Zürich", not "Zurich")."""
    if place is None:
        return answer
    payload = json.loads(answer.body)
    location = payload.get("location") or {}
    local_names = (place.get("local_names") or {}) if lang != "en" else {}
    location["name"] = in_language(local_names, lang) or place.get("name") or location.get("name")
    location["country"] = place.get("country") or location.get("country")
    payload["location"] = location
    return replace(answer, body=encode(payload))


def weather_current(*, principal: Principal, location: Location, units: str, lang: str) -> WeatherAnswer:
    provider = provider_for(principal)
    coords, place = _resolve(provider, location)
    answer = _answer(
        provider, f"cur:{coords.cache_token}:{units}:{lang}", ttl=settings.CACHE_TTL_CURRENT, endpoint="current",
        fetch=lambda: provider.current(coords, units=units, lang=lang),
    )
    return _with_place(answer, place, lang)


def weather_forecast(
    *, principal: Principal, location: Location, units: str, lang: str, cnt: int
) -> WeatherAnswer:
    provider = provider_for(principal)
    coords, place = _resolve(provider, location)
    answer = _answer(
        provider, f"fc:{coords.cache_token}:{units}:{lang}", ttl=settings.CACHE_TTL_FORECAST, endpoint="forecast",
        fetch=lambda: provider.forecast(coords, units=units, lang=lang),
    )
    if cnt < 40:
        payload = json.loads(answer.body)
        payload["steps"] = payload["steps"][:cnt]
        answer = replace(answer, body=encode(payload))
    return _with_place(answer, place, lang)


def geocode_search(*, principal: Principal, query: str, limit: int) -> WeatherAnswer:
    provider = provider_for(principal)
    location = Location(kind="query", text=query)
    answer = _answer(
        provider, f"geo:{location.cache_token}:5", ttl=settings.CACHE_TTL_GEOCODE, endpoint="geocode",
        fetch=lambda: {"results": provider.geocode(query, limit=5)},
    )
    return _limit_results(answer, limit)


def geocode_reverse(*, principal: Principal, location: Location, limit: int) -> WeatherAnswer:
    provider = provider_for(principal)
    answer = _answer(
        provider, f"rev:{location.cache_token}:5", ttl=settings.CACHE_TTL_GEOCODE, endpoint="geocode_reverse",
        fetch=lambda: {"results": provider.reverse(location, limit=5)},
    )
    return _limit_results(answer, limit)


def _limit_results(answer: WeatherAnswer, limit: int) -> WeatherAnswer:
    if limit >= 5:
        return answer
    payload = json.loads(answer.body)
    payload["results"] = payload["results"][:limit]
    return replace(answer, body=encode(payload))


def air_quality(*, principal: Principal, location: Location) -> WeatherAnswer:
    provider = provider_for(principal)
    return _answer(
        provider, f"air:{location.cache_token}", ttl=settings.CACHE_TTL_AIR, endpoint="air_quality",
        fetch=lambda: provider.air_quality(location),
    )
