"""The /v1/ weather endpoints: validate, call one service, return the cached bytes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from accounts.authentication import presented_credential
from accounts.credentials import Principal, resolve_in_process
from accounts.permissions import missing_scopes
from billing.throttles import admit_in_hand
from forecasts import serializers as s
from forecasts import services
from forecasts.cache import NotLocal, count_hits, local_only
from weatherapi.api import (
    LOCATION_ERRORS,
    PROVIDER_ERRORS,
    ApiView,
    ReadyAnswer,
    json_bytes_response,
)
from weatherapi.errors import ApplicationError
from weatherapi.schema import LOCATION_DESCRIPTION, LOCATION_PARAMETER_SCHEMA, PLACE_NAME

# --- OpenAPI annotations (documentation only; validation is in the query serializers) ---

# lat, lon, q and zip are one exploded `location` parameter: exactly one form is allowed.
_LOCATION: list[Any] = [
    *(OpenApiParameter(name, location="query", exclude=True) for name in ("lat", "lon", "q", "zip")),
    OpenApiParameter(
        "location", type=LOCATION_PARAMETER_SCHEMA, location="query", required=True, style="form",
        explode=True, description=LOCATION_DESCRIPTION,
        examples=[
            OpenApiExample("Coordinates", value={"lat": 51.5085, "lon": -0.1257}),
            OpenApiExample("Place name", value={"q": "London,GB"}),
            OpenApiExample("Postal code", value={"zip": "SW1A,GB"}),
        ],
    ),
]
_LANG = OpenApiParameter(
    "lang", type={"type": "string", "pattern": s.LANG_PATTERN, "default": "en"},
    location="query",
    description="OpenWeather language code for descriptions and place names, e.g. `en`, `de`, `fr`, "
                "`pt_br`, `zh_cn` (case and `-`/`_` do not matter).",
    examples=[OpenApiExample("English", value="en"), OpenApiExample("Brazilian Portuguese", value="pt_br")],
)
_Q = OpenApiParameter("q", type=PLACE_NAME, location="query", required=True, description=PLACE_NAME["description"])
_WEATHER_PARAMETERS: list[Any] = [s.WeatherQuerySerializer, *_LOCATION, _LANG]
_FORECAST_PARAMETERS: list[Any] = [s.ForecastQuerySerializer, *_LOCATION, _LANG]


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


_FINALIZE_HEADERS: dict[type, tuple[tuple[str, str], ...]] = {}


def _cache_outcome(answer: services.WeatherAnswer) -> str:
    return "stale" if answer.stale else ("hit" if answer.cached else "miss")


class WeatherApiView(ApiView):
    """A read answered by ``services``: validate, call one service, send its bytes.

    **Express path.** Most paid traffic is a warm cached read by a credential the process
    has seen: nothing to validate, resolve or fetch that the process does not already
    hold. ``dispatch`` answers such a request with the same functions the DRF pipeline
    calls (the credential's in-process copy, the scope check, the query memo, the answer
    under ``local_only()``, the throttle's one script call) without building DRF's request,
    authenticators, permissions, throttles and negotiation around them: that machinery
    was a quarter of such an answer's CPU (docs/performance.md). Anything else (no copy
    of the credential, a scope missing, a query not validated before, an answer that needs
    Redis or the upstream, a stale copy, a refusal) takes ``super().dispatch()``, which
    answers exactly as before; the throttle's refusal is handed over, not counted twice.
    Middleware (request id, access log, security headers, errors, metering, metrics) runs
    around both. ``tests/perf/test_hot_path.py`` holds the two paths' answers equal.
    """

    query_memo = True  # pure validation (weatherapi.api.ApiView)

    def answer(self, principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
        raise NotImplementedError

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        answered = self.express(request)
        return answered if answered is not None else super().dispatch(request, *args, **kwargs)

    def express(self, request: HttpRequest) -> HttpResponse | None:
        credential = presented_credential(request.META) if request.method == "GET" else None
        if credential is None:
            return None
        try:
            held = resolve_in_process(*credential)
            if held is None:
                return None
            principal, stamp = held
            q = self.known_query(request.META.get("QUERY_STRING", ""))
            if q is None or missing_scopes(self, principal):
                return None
            ready = self._ready(principal, q)
        except (ApplicationError, APIException):
            return None  # the ordinary path raises it, with DRF's challenge headers
        if ready is None:
            return None
        request.wx_principal = principal  # type: ignore[attr-defined]
        if admit_in_hand(request, principal=principal, stamp=stamp, endpoint=self.metering_endpoint,
                         ready=ready) is None:
            return None
        response = self._send(request, ready)
        for name, value in self._finalize_headers():
            response[name] = value
        return response

    def _finalize_headers(self) -> tuple[tuple[str, str], ...]:
        """What DRF's finalize_response adds to every answer of this view (``Allow``, ``Vary``):
        fixed per view class, so listed once rather than on every answer."""
        cls = type(self)
        headers = _FINALIZE_HEADERS.get(cls)
        if headers is None:
            headers = _FINALIZE_HEADERS.setdefault(cls, tuple(self.default_response_headers.items()))
        return headers

    def _ready(self, principal: Principal, q: dict[str, Any]) -> ReadyAnswer | None:
        # The same service call, allowed no I/O: it succeeds only from this process's own
        # fresh copies (or the sandbox).
        try:
            with local_only() as hits:
                answer = self.answer(principal, q)
        except NotLocal:
            return None
        return ReadyAnswer(body=answer.render(), cache=_cache_outcome(answer), cache_hits=tuple(hits))

    def answer_in_hand(self, request: Request) -> ReadyAnswer | None:
        # Errors (invalid parameters, a method the view lacks: DRF throttles before it
        # looks for the handler) are left to the ordinary path, which answers them after
        # the throttle as always.
        if request.method != "GET":
            return None
        try:
            return self._ready(self.principal(request), self.query(request))
        except (ApplicationError, APIException):
            return None

    def respond(self, request: Request) -> HttpResponse:
        ready = self.ready
        if ready is None:
            answer = self.answer(self.principal(request), self.query(request))
            ready = ReadyAnswer(body=answer.render(), cache=_cache_outcome(answer))
        return self._send(request._request, ready)

    @staticmethod
    def _send(request: HttpRequest, ready: ReadyAnswer) -> HttpResponse:
        count_hits(ready.cache_hits)
        # The metering middleware records the cache outcome with the usage event.
        request.wx_cache = ready.cache  # type: ignore[attr-defined]
        return json_bytes_response(ready.body)


class CurrentWeatherView(WeatherApiView):
    required_scopes = ("weather:read",)
    query_serializer = s.WeatherQuerySerializer
    metering_endpoint = "weather.current"

    @extend_schema(
        operation_id="weather_current",
        summary="Current weather",
        description="Current conditions at one place, given as `lat`+`lon`, `q` or `zip`: temperature, "
                    "wind, clouds, visibility, precipitation of the last hour, sunrise and sunset. Units "
                    "follow `units` (precipitation in inches with `imperial`; visibility always metres). "
                    "Fresh for 10 minutes; `source` says whether the answer came from our cache.",
        parameters=_WEATHER_PARAMETERS,
        responses={200: _ok(s.CurrentWeatherSerializer, "The current weather.", _CURRENT_EXAMPLE), **PROVIDER_ERRORS, **LOCATION_ERRORS},
        tags=["weather"],
    )
    def get(self, request: Request) -> HttpResponse:
        return self.respond(request)

    def answer(self, principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
        return services.weather_current(
            principal=principal, location=q["location"], units=q["units"], lang=q["lang"]
        )


class ForecastView(WeatherApiView):
    required_scopes = ("weather:read",)
    query_serializer = s.ForecastQuerySerializer
    metering_endpoint = "weather.forecast"

    @extend_schema(
        operation_id="weather_forecast",
        summary="Five-day forecast",
        description="Forecast in three-hour steps from now: `cnt` steps, up to 40 (five days). Each "
                    "step has temperature, wind, clouds, visibility, the probability of precipitation "
                    "and the rain and snow of its three hours. Fresh for 30 minutes.",
        parameters=_FORECAST_PARAMETERS,
        responses={200: _ok(s.ForecastSerializer, "The forecast steps.", _FORECAST_EXAMPLE), **PROVIDER_ERRORS, **LOCATION_ERRORS},
        tags=["weather"],
    )
    def get(self, request: Request) -> HttpResponse:
        return self.respond(request)

    def answer(self, principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
        return services.weather_forecast(
            principal=principal, location=q["location"], units=q["units"], lang=q["lang"],
            cnt=q["cnt"],
        )


class GeocodeView(WeatherApiView):
    required_scopes = ("weather:read",)
    query_serializer = s.GeocodeQuerySerializer
    metering_endpoint = "geocode"

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
        return self.respond(request)

    def answer(self, principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
        return services.geocode_search(principal=principal, query=q["q"], limit=q["limit"])


class ReverseGeocodeView(WeatherApiView):
    required_scopes = ("weather:read",)
    query_serializer = s.ReverseGeocodeQuerySerializer
    metering_endpoint = "geocode.reverse"

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
        return self.respond(request)

    def answer(self, principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
        return services.geocode_reverse(principal=principal, location=q["location"], limit=q["limit"])


class AirQualityView(WeatherApiView):
    required_scopes = ("weather:read",)
    query_serializer = s.LatLonSerializer
    metering_endpoint = "air_quality"

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
        return self.respond(request)

    def answer(self, principal: Principal, q: dict[str, Any]) -> services.WeatherAnswer:
        return services.air_quality(principal=principal, location=q["location"])
