"""Weather providers: OpenWeather for live credentials, the sandbox for test mode.

Both answer in our normalized schema (``forecasts.normalize``) without the ``source``
object, which the services add.
"""

from __future__ import annotations

from typing import Any, Protocol

from forecasts.locations import Location


class Provider(Protocol):
    name: str

    def current(self, location: Location, *, units: str, lang: str) -> dict[str, Any]: ...

    def forecast(self, location: Location, *, units: str, lang: str) -> dict[str, Any]: ...

    def geocode(self, query: str, *, limit: int) -> list[dict[str, Any]]: ...

    def geocode_zip(self, zip_code: str) -> list[dict[str, Any]]: ...

    def reverse(self, location: Location, *, limit: int) -> list[dict[str, Any]]: ...

    def air_quality(self, location: Location) -> dict[str, Any]: ...
