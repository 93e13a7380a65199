"""The /v1/ weather endpoints: validate, call one service, return the cached bytes."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from accounts.authentication import principal_of
from accounts.credentials import Principal
from forecasts import serializers as s
from forecasts import services
from forecasts.cache import NotLocal, count_hits, local_only
from forecasts.operations import OPERATIONS, Operation
from forecasts.schema import EXACTLY_ONE, LOCATION_PARAMETERS, PLACE_NAME
from weatherapi.api import LOCATION_ERRORS, PROVIDER_ERRORS, ApiView, json_bytes_response
from weatherapi.context import request_context
from weatherapi.errors import ApplicationError
from weatherapi.scopes import WEATHER_READ

# --- OpenAPI annotations (documentation only; validation is in the query serializers) ---

_LANG = OpenApiParameter(
    "lang", type={"type": "string", "pattern": s.LANG_PATTERN, "default": "en"},
    location="query",
    description="OpenWeather language code for descriptions and place names, e.g. `en`, `de`, `fr`, "
                "`pt_br`, `zh_cn` (case and `-`/`_` do not matter).",
    examples=[OpenApiExample("English", value="en"), OpenApiExample("Brazilian Portuguese", value="pt_br")],
)
_Q = OpenApiParameter("q", type=PLACE_NAME, location="query", required=True, description=PLACE_NAME["description"])
_WEATHER_PARAMETERS: list[Any] = [s.WeatherQuerySerializer, *LOCATION_PARAMETERS, _LANG]
_FORECAST_PARAMETERS: list[Any] = [s.ForecastQuerySerializer, *LOCATION_PARAMETERS, _LANG]


# Response examples (London, metric), as the endpoints render them.
_CURRENT_EXAMPLE: dict[str, Any] = {'source': {'provider': 'openweather',
            'cached': True,
            'stale': False,
            'fetched_at': '2026-11-05T10:20:00Z',
            'age_seconds': 212},
 'location': {'name': 'London', 'country': 'GB', 'lat': 51.51, 'lon': -0.13},
 'observed_at': '2026-11-05T10:20:00Z',
 'units': 'metric',
 'temperature': 16.66,
 'feels_like': 13.55,
 'temperature_min': 15.46,
 'temperature_max': 18.06,
 'humidity': 84,
 'pressure': 1000,
 'wind': {'speed': 7.77, 'direction': 216, 'gust': 12.73},
 'conditions': [{'code': 500, 'main': 'Rain', 'description': 'light rain', 'icon': '10d'}],
 'clouds': 53,
 'visibility': 7794,
 'precipitation': {'rain_1h': 2.37, 'snow_1h': None},
 'sunrise': '2026-11-05T07:02:11Z',
 'sunset': '2026-11-05T16:22:40Z',
 'timezone_offset': 0}
_FORECAST_EXAMPLE: dict[str, Any] = {'source': {'provider': 'openweather',
            'cached': True,
            'stale': False,
            'fetched_at': '2026-11-05T10:20:00Z',
            'age_seconds': 95},
 'location': {'name': 'London', 'country': 'GB', 'lat': 51.51, 'lon': -0.13},
 'units': 'metric',
 'timezone_offset': 0,
 'sunrise': '2026-11-05T07:02:11Z',
 'sunset': '2026-11-05T16:22:40Z',
 'steps': [{'time': '2026-11-05T12:00:00Z',
            'temperature': 17.54,
            'feels_like': 15.01,
            'temperature_min': 16.34,
            'temperature_max': 18.94,
            'humidity': 84,
            'pressure': 1000,
            'wind': {'speed': 6.34, 'direction': 219, 'gust': 10.44},
            'conditions': [{'code': 500, 'main': 'Rain', 'description': 'light rain', 'icon': '10d'}],
            'clouds': 53,
            'visibility': 8279,
            'precipitation_probability': 0.3,
            'precipitation': {'rain_3h': 1.18, 'snow_3h': None}},
           {'time': '2026-11-05T15:00:00Z',
            'temperature': 16.67,
            'feels_like': 13.2,
            'temperature_min': 15.47,
            'temperature_max': 18.07,
            'humidity': 84,
            'pressure': 1000,
            'wind': {'speed': 8.67, 'direction': 222, 'gust': 14.17},
            'conditions': [{'code': 802, 'main': 'Clouds', 'description': 'scattered clouds', 'icon': '03d'}],
            'clouds': 53,
            'visibility': 8214,
            'precipitation_probability': 0,
            'precipitation': {'rain_3h': None, 'snow_3h': None}}]}
_GEOCODE_EXAMPLE: dict[str, Any] = {'source': {'provider': 'openweather',
            'cached': True,
            'stale': False,
            'fetched_at': '2026-11-05T10:20:00Z',
            'age_seconds': 3600},
 'results': [{'name': 'London',
              'local_names': {'en': 'London',
                              'de': 'London',
                              'fr': 'Londres',
                              'es': 'Londres',
                              'ru': 'Лондон',
                              'ja': 'ロンドン',
                              'pt': 'Londres'},
              'state': 'England',
              'country': 'GB',
              'lat': 51.5085,
              'lon': -0.1257}]}
_REVERSE_EXAMPLE: dict[str, Any] = {'source': {'provider': 'openweather',
            'cached': False,
            'stale': False,
            'fetched_at': '2026-11-05T10:20:00Z',
            'age_seconds': 0},
 'results': [{'name': 'London',
              'local_names': {'en': 'London',
                              'de': 'London',
                              'fr': 'Londres',
                              'es': 'Londres',
                              'ru': 'Лондон',
                              'ja': 'ロンドン',
                              'pt': 'Londres'},
              'state': 'England',
              'country': 'GB',
              'lat': 51.5085,
              'lon': -0.1257}]}
_AIR_EXAMPLE: dict[str, Any] = {'source': {'provider': 'openweather',
            'cached': True,
            'stale': False,
            'fetched_at': '2026-11-05T10:20:00Z',
            'age_seconds': 640},
 'location': {'lat': 51.51, 'lon': -0.13},
 'measurements': [{'time': '2026-11-05T10:00:00Z',
                   'aqi': 2,
                   'components': {'co': 630.0,
                                  'no': 17.4,
                                  'no2': 43.2,
                                  'o3': 64.2,
                                  'so2': 28.2,
                                  'pm2_5': 10.2,
                                  'pm10': 98.7,
                                  'nh3': 8.4}}]}


def _ok(serializer: type, description: str, example: dict[str, Any]) -> OpenApiResponse:
    return OpenApiResponse(serializer, description=description, examples=[OpenApiExample("London", value=example)])


def _cache_outcome(answer: services.WeatherAnswer) -> str:
    return "stale" if answer.stale else ("hit" if answer.cached else "miss")


class WeatherApiView(ApiView):
    """A read answered by ``services``: validate, call one service, send its bytes.

    ``prepare`` makes the same service call under ``local_only()``: it succeeds only from
    this process's own fresh copies (or the sandbox), without I/O, and its answer is the
    one sent. Anything else (an invalid query, a copy not held) is left to ``get``.
    """

    _prepared: bytes | None = None
    _prepared_hits: tuple[str, ...] = ()
    _query: dict[str, Any] | None = None  # validated by ``prepare``, not again by ``get``
    operation: Operation

    def answer(self, principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
        return self.operation.answer(principal, q)

    def prepare(self, request: Request) -> None:
        if request.method != "GET":
            return
        try:
            self._query = self.query(request)
            with local_only() as hits:
                answer = self.answer(principal_of(request), self._query)
        except (NotLocal, ApplicationError, APIException):
            return  # answered in ``get``, after the throttle, as ever
        self._prepared, self._prepared_hits = answer.render(), tuple(hits)
        context = request_context(request)
        context.cache, context.prepared = _cache_outcome(answer), True

    def get(self, request: Request) -> HttpResponse:
        body = self._prepared
        if body is None:
            q = self._query if self._query is not None else self.query(request)
            answer = self.answer(principal_of(request), q)
            body = answer.render()
            request_context(request).cache = _cache_outcome(answer)
        else:
            count_hits(self._prepared_hits)  # admitted: the hits were served
        return json_bytes_response(body)


class CurrentWeatherView(WeatherApiView):
    required_scopes = (WEATHER_READ,)
    operation = OPERATIONS["weather/current"]
    query_serializer = operation.query_serializer
    metering_endpoint = operation.metering_endpoint

    @extend_schema(
        operation_id="weather_current",
        summary="Current weather",
        description="Current conditions at one place, given as `lat`+`lon`, `q` or `zip`: temperature, "
                    "wind, clouds, visibility, precipitation of the last hour, sunrise and sunset. Units "
                    "follow `units` (precipitation in inches with `imperial`; visibility always metres). "
                    "Fresh for 10 minutes; `source` says whether the answer came from our cache. "
                    + EXACTLY_ONE,
        parameters=_WEATHER_PARAMETERS,
        responses={200: _ok(s.CurrentWeatherSerializer, "The current weather.", _CURRENT_EXAMPLE), **PROVIDER_ERRORS, **LOCATION_ERRORS},
        tags=["weather"],
    )
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)


class ForecastView(WeatherApiView):
    required_scopes = (WEATHER_READ,)
    operation = OPERATIONS["weather/forecast"]
    query_serializer = operation.query_serializer
    metering_endpoint = operation.metering_endpoint

    @extend_schema(
        operation_id="weather_forecast",
        summary="Five-day forecast",
        description="Forecast in three-hour steps from now: `cnt` steps, up to 40 (five days). Each "
                    "step has temperature, wind, clouds, visibility, the probability of precipitation "
                    "and the rain and snow of its three hours. Fresh for 30 minutes. "
                    + EXACTLY_ONE,
        parameters=_FORECAST_PARAMETERS,
        responses={200: _ok(s.ForecastSerializer, "The forecast steps.", _FORECAST_EXAMPLE), **PROVIDER_ERRORS, **LOCATION_ERRORS},
        tags=["weather"],
    )
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)


class GeocodeView(WeatherApiView):
    required_scopes = (WEATHER_READ,)
    operation = OPERATIONS["geocode"]
    query_serializer = operation.query_serializer
    metering_endpoint = operation.metering_endpoint

    @extend_schema(
        operation_id="geocode",
        summary="Find places by name",
        description="Places matching `city[,state][,country]`, best match first, with their coordinates "
                    "and names in other languages. An unknown name gives an empty `results` list (not a "
                    "404). Fresh for a day.",
        parameters=[s.GeocodeQuerySerializer, _Q],
        responses={200: _ok(s.GeocodeSerializer, "Matching places, best first (possibly none).", _GEOCODE_EXAMPLE), **PROVIDER_ERRORS},
        tags=["geocoding"],
    )
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)


class ReverseGeocodeView(WeatherApiView):
    required_scopes = (WEATHER_READ,)
    operation = OPERATIONS["geocode/reverse"]
    query_serializer = operation.query_serializer
    metering_endpoint = operation.metering_endpoint

    @extend_schema(
        operation_id="geocode_reverse",
        summary="Find places near coordinates",
        description="Named places near `lat`/`lon`, nearest first. Over the open sea the `results` list "
                    "is empty. Fresh for a day.",
        parameters=[s.ReverseGeocodeQuerySerializer],
        responses={200: _ok(s.GeocodeSerializer, "Places near the coordinates (possibly none).", _REVERSE_EXAMPLE), **PROVIDER_ERRORS},
        tags=["geocoding"],
    )
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)


class AirQualityView(WeatherApiView):
    required_scopes = (WEATHER_READ,)
    operation = OPERATIONS["air-quality"]
    query_serializer = operation.query_serializer
    metering_endpoint = operation.metering_endpoint

    @extend_schema(
        operation_id="air_quality",
        summary="Current air quality",
        description="Air quality index (1 good .. 5 very poor) and pollutant concentrations in μg/m³ "
                    "(CO, NO, NO₂, O₃, SO₂, PM2.5, PM10, NH₃) at `lat`/`lon`. Fresh for 30 minutes.",
        parameters=[s.LatLonSerializer],
        responses={200: _ok(s.AirQualitySerializer, "The current air quality.", _AIR_EXAMPLE), **PROVIDER_ERRORS},
        tags=["air quality"],
    )
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)

