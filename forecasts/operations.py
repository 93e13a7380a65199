"""The product's read operations, by the name a batch or job item gives them.

One table for every way an operation is reached: its view (``forecasts.views``) and the
items of ``POST /v1/batch`` and ``/v1/jobs`` (``jobs``) validate with the same query
serializer and answer with the same service, so an item's ``body`` is exactly what the
single endpoint answers: its document, or its problem document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from accounts.credentials import Principal
from forecasts import serializers as s
from forecasts import services
from weatherapi.api import query_validator
from weatherapi.errors import InvalidParameter


@dataclass(frozen=True, slots=True)
class Operation:
    name: str  # the path under /v1/, as batch items name it
    metering_endpoint: str  # the usage event's endpoint (billing.endpoints)
    query_serializer: type[serializers.Serializer]
    answer: Callable[[Principal, dict[str, Any]], services.WeatherAnswer]

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """An item's ``params`` as the query string would carry them: each value a string
        (numbers written as JSON numbers are accepted), nothing nested."""
        nested = sorted(k for k, v in params.items() if isinstance(v, dict | list) or v is None)
        if nested:
            raise InvalidParameter(
                f"{nested[0]}: Give a string or a number.",
                errors={k: ["Give a string or a number."] for k in nested},
            )
        as_query = {_as_query_text(str(k)): _as_query_text(v if isinstance(v, str) else _scalar(v))
                    for k, v in params.items()}
        return dict(query_validator(self.query_serializer).run_validation(as_query))


def _as_query_text(text: str) -> str:
    """The text as a query string could carry it: Django decodes a query string as UTF-8,
    replacing what does not decode; a JSON string can also hold lone surrogates."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _current(principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
    return services.weather_current(principal=principal, location=q["location"], units=q["units"], lang=q["lang"])


def _forecast(principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
    return services.weather_forecast(
        principal=principal, location=q["location"], units=q["units"], lang=q["lang"], cnt=q["cnt"]
    )


def _geocode(principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
    return services.geocode_search(principal=principal, query=q["q"], limit=q["limit"])


def _reverse(principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
    return services.geocode_reverse(principal=principal, location=q["location"], limit=q["limit"])


def _air(principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
    return services.air_quality(principal=principal, location=q["location"])


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("weather/current", "weather.current", s.WeatherQuerySerializer, _current),
        Operation("weather/forecast", "weather.forecast", s.ForecastQuerySerializer, _forecast),
        Operation("geocode", "geocode", s.GeocodeQuerySerializer, _geocode),
        Operation("geocode/reverse", "geocode.reverse", s.ReverseGeocodeQuerySerializer, _reverse),
        Operation("air-quality", "air_quality", s.LatLonSerializer, _air),
    )
}
