"""The /v1/ weather endpoints: validate, call one service, return the cached bytes."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from forecasts import serializers as s
from forecasts import services
from weatherapi.api import COMMON_ERRORS, ApiView, json_bytes_response, problem

_NOT_FOUND = {404: problem("location_not_found: no place matches q or zip.")}


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
        description="Current conditions at one place, given as lat+lon, q or zip.",
        parameters=[s.WeatherQuerySerializer],
        responses={200: s.CurrentWeatherSerializer, **COMMON_ERRORS, **_NOT_FOUND},
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
        description="Forecast in three-hour steps (up to 40: five days).",
        parameters=[s.ForecastQuerySerializer],
        responses={200: s.ForecastSerializer, **COMMON_ERRORS, **_NOT_FOUND},
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
        description="Places matching city[,state][,country], best match first. An unknown name gives an empty list.",
        parameters=[s.GeocodeQuerySerializer],
        responses={200: s.GeocodeSerializer, **COMMON_ERRORS},
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
        parameters=[s.ReverseGeocodeQuerySerializer],
        responses={200: s.GeocodeSerializer, **COMMON_ERRORS},
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
        description="Air quality index (1..5) and pollutant concentrations in μg/m³.",
        parameters=[s.LatLonSerializer],
        responses={200: s.AirQualitySerializer, **COMMON_ERRORS},
        tags=["air quality"],
    )
    def get(self, request: Request) -> HttpResponse:
        q = self.query(request)
        answer = services.air_quality(principal=self.principal(request), location=q["location"])
        return _respond(request, answer)
