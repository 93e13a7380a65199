"""The /v1/ weather endpoints: validate, call one service, return the cached bytes."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.request import Request

from forecasts import serializers as s
from forecasts import services
from weatherapi.api import LOCATION_ERRORS, PROVIDER_ERRORS, ApiView, json_bytes_response
from weatherapi.schema import LOCATION_DESCRIPTION, LOCATION_PARAMETER_SCHEMA, PLACE_NAME

# --- OpenAPI annotations (documentation only; validation is in the query serializers) ---

_QUERY = OpenApiParameter.QUERY
# lat, lon, q and zip are one exploded `location` parameter: exactly one form is allowed.
_LOCATION = [
    *(OpenApiParameter(name, location=_QUERY, exclude=True) for name in ("lat", "lon", "q", "zip")),
    OpenApiParameter(
        "location", type=LOCATION_PARAMETER_SCHEMA, location=_QUERY, required=True, style="form",
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
    location=_QUERY,
    description="OpenWeather language code for descriptions and place names, e.g. `en`, `de`, `fr`, "
                "`pt_br`, `zh_cn` (case and `-`/`_` do not matter).",
    examples=[OpenApiExample("English", value="en"), OpenApiExample("Brazilian Portuguese", value="pt_br")],
)
_Q = OpenApiParameter("q", type=PLACE_NAME, location=_QUERY, required=True, description=PLACE_NAME["description"])
_WEATHER_PARAMETERS = [s.WeatherQuerySerializer, *_LOCATION, _LANG]
_FORECAST_PARAMETERS = [s.ForecastQuerySerializer, *_LOCATION, _LANG]


def _respond(request: Request, answer: services.WeatherAnswer) -> HttpResponse:
    # The metering middleware records the cache outcome with the usage event.
    request._request.wx_cache = "stale" if answer.stale else ("hit" if answer.cached else "miss")  # type: ignore[attr-defined]
    return json_bytes_response(answer.render())


class CurrentWeatherView(ApiView):
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
        responses={200: s.CurrentWeatherSerializer, **PROVIDER_ERRORS, **LOCATION_ERRORS},
        tags=["weather"],
    )
    def get(self, request: Request) -> HttpResponse:
        q = self.query(request)
        answer = services.weather_current(
            principal=self.principal(request), location=q["location"], units=q["units"], lang=q["lang"]
        )
        return _respond(request, answer)


class ForecastView(ApiView):
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
        responses={200: s.ForecastSerializer, **PROVIDER_ERRORS, **LOCATION_ERRORS},
        tags=["weather"],
    )
    def get(self, request: Request) -> HttpResponse:
        q = self.query(request)
        answer = services.weather_forecast(
            principal=self.principal(request), location=q["location"], units=q["units"], lang=q["lang"],
            cnt=q["cnt"],
        )
        return _respond(request, answer)


class GeocodeView(ApiView):
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
        responses={200: s.GeocodeSerializer, **PROVIDER_ERRORS},
        tags=["geocoding"],
    )
    def get(self, request: Request) -> HttpResponse:
        q = self.query(request)
        answer = services.geocode_search(principal=self.principal(request), query=q["q"], limit=q["limit"])
        return _respond(request, answer)


class ReverseGeocodeView(ApiView):
    required_scopes = ("weather:read",)
    query_serializer = s.ReverseGeocodeQuerySerializer
    metering_endpoint = "geocode.reverse"

    @extend_schema(
        operation_id="geocode_reverse",
        summary="Find places near coordinates",
        description="Named places near `lat`/`lon`, nearest first. Over the open sea the `results` list "
                    "is empty. Fresh for a day.",
        parameters=[s.ReverseGeocodeQuerySerializer],
        responses={200: s.GeocodeSerializer, **PROVIDER_ERRORS},
        tags=["geocoding"],
    )
    def get(self, request: Request) -> HttpResponse:
        q = self.query(request)
        answer = services.geocode_reverse(principal=self.principal(request), location=q["location"], limit=q["limit"])
        return _respond(request, answer)


class AirQualityView(ApiView):
    required_scopes = ("weather:read",)
    query_serializer = s.LatLonSerializer
    metering_endpoint = "air_quality"

    @extend_schema(
        operation_id="air_quality",
        summary="Current air quality",
        description="Air quality index (1 good .. 5 very poor) and pollutant concentrations in μg/m³ "
                    "(CO, NO, NO₂, O₃, SO₂, PM2.5, PM10, NH₃) at `lat`/`lon`. Fresh for 30 minutes.",
        parameters=[s.LatLonSerializer],
        responses={200: s.AirQualitySerializer, **PROVIDER_ERRORS},
        tags=["air quality"],
    )
    def get(self, request: Request) -> HttpResponse:
        q = self.query(request)
        answer = services.air_quality(principal=self.principal(request), location=q["location"])
        return _respond(request, answer)
