"""Query validation and the documented response shapes of the weather endpoints."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from rest_framework import serializers

from forecasts.locations import Location

UNITS = ("metric", "imperial", "standard")
_LANG = re.compile(r"^[a-z]{2}(_[a-z]{2})?$")
# What a client may send (the OpenAPI pattern): case and "-" or "_" are normalized away.
LANG_PATTERN = r"^[A-Za-z]{2}([_-][A-Za-z]{2})?$"
_LANG_INPUT = re.compile(LANG_PATTERN)
_ZIP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{0,11},[A-Za-z]{2}$")
POSTAL_CODE_PATTERN = _ZIP.pattern
# Refused in place names: C0 and C1 controls, the format (invisible) characters of the Basic
# Multilingual Plane (soft hyphen, zero-width and bidirectional controls, BOM...) and private
# use. Written so Python, ECMA-262 (the OpenAPI pattern dialect) and Rust read it alike: the
# OpenAPI schema publishes the same rule (PLACE_NAME_PATTERN), so clients and the contract
# tests know in advance what is accepted.
_FORBIDDEN_CLASS = (
    r"\x00-\x1F\x7F-\x9F\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E"
    r"\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uE000-\uF8FF\uFEFF\uFFF9-\uFFFD"
)
# The whitespace ``str.strip`` removes, less the controls already refused above.
_SPACE_CLASS = r" \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_FORBIDDEN = re.compile(f"[{_FORBIDDEN_CLASS}]")
# No forbidden character, and at least one that is neither whitespace nor a comma.
PLACE_NAME_PATTERN = f"^[^{_FORBIDDEN_CLASS}]*[^{_FORBIDDEN_CLASS}{_SPACE_CLASS},][^{_FORBIDDEN_CLASS}]*$"


class FiniteFloatField(serializers.FloatField):
    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, str) and data.strip().lower() in {"nan", "inf", "-inf", "+inf", "infinity", "-infinity"}:
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


def _clean_text(value: str) -> str:
    # Checked before anything is stripped: a control character is refused wherever it is
    # (the text fields do not let DRF trim them first), as the published pattern says.
    if "\ufffd" in value:  # what Django decodes invalid UTF-8 to
        raise serializers.ValidationError("Must be valid UTF-8.")
    if _FORBIDDEN.search(value):
        raise serializers.ValidationError("Must not contain control or invisible characters.")
    return unicodedata.normalize("NFC", value).strip()


class LatLonSerializer(serializers.Serializer):
    lat = FiniteFloatField(min_value=-90, max_value=90, help_text="Latitude in decimal degrees, -90..90.")
    lon = FiniteFloatField(min_value=-180, max_value=180, help_text="Longitude in decimal degrees, -180..180.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["location"] = Location.from_coords(attrs["lat"], attrs["lon"])
        return attrs


class WeatherQuerySerializer(serializers.Serializer):
    lat = FiniteFloatField(required=False, min_value=-90, max_value=90,
                           help_text="Latitude in decimal degrees, -90..90 (with lon).")
    lon = FiniteFloatField(required=False, min_value=-180, max_value=180,
                           help_text="Longitude in decimal degrees, -180..180 (with lat).")
    q = serializers.CharField(required=False, max_length=100, min_length=1, trim_whitespace=False,
                              help_text="Place name: city[,state][,country], at most 100 characters.")
    zip = serializers.CharField(required=False, max_length=16, trim_whitespace=False,
                                help_text="Postal code and ISO 3166 country code: code,country.")
    units = serializers.ChoiceField(choices=UNITS, default="metric", required=False,
                                    help_text="metric (°C, m/s, mm), imperial (°F, mph, inches) or standard (K, m/s, mm).")
    lang = serializers.CharField(default="en", required=False, max_length=5, trim_whitespace=False,
                                 help_text="OpenWeather language code, e.g. en, de, pt_br, zh_cn.")

    def validate_q(self, value: str) -> str:
        value = _clean_text(value)
        if not value or not value.replace(",", "").strip():
            raise serializers.ValidationError("Must name a place.")
        return value

    def validate_zip(self, value: str) -> str:
        if not _ZIP.fullmatch(value):
            raise serializers.ValidationError("Use code,country, e.g. 94040,US.")
        return _clean_text(value)

    def validate_lang(self, value: str) -> str:
        if not _LANG_INPUT.fullmatch(value):
            raise serializers.ValidationError("Use an OpenWeather language code such as en, de or pt_br.")
        value = value.lower().replace("-", "_")
        if not _LANG.match(value):
            raise serializers.ValidationError("Use an OpenWeather language code such as en, de or pt_br.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_lat, has_lon = "lat" in attrs, "lon" in attrs
        forms = [name for name, present in (("lat/lon", has_lat or has_lon), ("q", "q" in attrs), ("zip", "zip" in attrs)) if present]
        if len(forms) != 1:
            raise serializers.ValidationError(
                {"location": ["Give exactly one location: lat and lon, q, or zip."]}
            )
        if has_lat != has_lon:
            missing = "lon" if has_lat else "lat"
            raise serializers.ValidationError({missing: ["lat and lon must be given together."]})
        if has_lat:
            attrs["location"] = Location.from_coords(attrs["lat"], attrs["lon"])
        elif "q" in attrs:
            attrs["location"] = Location(kind="query", text=attrs["q"])
        else:
            attrs["location"] = Location(kind="zip", text=attrs["zip"])
        return attrs


class ForecastQuerySerializer(WeatherQuerySerializer):
    cnt = serializers.IntegerField(default=40, required=False, min_value=1, max_value=40,
                                   help_text="Number of three-hour steps, 1..40.")


class GeocodeQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=100, min_length=1, trim_whitespace=False, help_text="city[,state][,country]")
    limit = serializers.IntegerField(default=5, required=False, min_value=1, max_value=5,
                                     help_text="At most this many places, 1..5.")

    def validate_q(self, value: str) -> str:
        value = _clean_text(value)
        if not value.replace(",", "").strip():
            raise serializers.ValidationError("Must name a place.")
        return value


class ReverseGeocodeQuerySerializer(LatLonSerializer):
    limit = serializers.IntegerField(default=5, required=False, min_value=1, max_value=5,
                                     help_text="At most this many places, 1..5.")


# --- Response shapes (documentation; bodies are rendered from the cache) --------------


class SourceSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(choices=["openweather", "sandbox"])
    cached = serializers.BooleanField(help_text="Answered from our cache.")
    stale = serializers.BooleanField(help_text="A copy past its freshness, served because the provider failed.")
    fetched_at = serializers.DateTimeField(help_text="When the data was fetched from the provider (UTC).")
    age_seconds = serializers.IntegerField(min_value=0)


class LocationSerializer(serializers.Serializer):
    name = serializers.CharField(allow_null=True)
    country = serializers.CharField(allow_null=True, help_text="ISO 3166 alpha-2 code.")
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)


class WindSerializer(serializers.Serializer):
    speed = serializers.FloatField(allow_null=True, help_text="m/s (metric, standard) or mph (imperial).")
    direction = serializers.FloatField(allow_null=True, help_text="Degrees, meteorological.")
    gust = serializers.FloatField(allow_null=True, help_text="m/s or mph; null when not reported.")


class ConditionSerializer(serializers.Serializer):
    code = serializers.IntegerField(allow_null=True, help_text="OpenWeather condition code.")
    main = serializers.CharField(allow_null=True)
    description = serializers.CharField(allow_null=True, help_text="In the requested language.")
    icon = serializers.CharField(allow_null=True)


class Precipitation1hSerializer(serializers.Serializer):
    rain_1h = serializers.FloatField(allow_null=True, help_text="mm (metric, standard) or inches (imperial).")
    snow_1h = serializers.FloatField(allow_null=True, help_text="mm (metric, standard) or inches (imperial).")


class Precipitation3hSerializer(serializers.Serializer):
    rain_3h = serializers.FloatField(allow_null=True, help_text="mm or inches (imperial).")
    snow_3h = serializers.FloatField(allow_null=True, help_text="mm or inches (imperial).")


_TEMP_HELP = "K (standard), °C (metric) or °F (imperial)."


class CurrentWeatherSerializer(serializers.Serializer):
    source = SourceSerializer()  # type: ignore[assignment]  # a field named "source" shadows Field.source in the stubs
    location = LocationSerializer()
    observed_at = serializers.DateTimeField(allow_null=True)
    units = serializers.ChoiceField(choices=UNITS)
    temperature = serializers.FloatField(allow_null=True, help_text=_TEMP_HELP)
    feels_like = serializers.FloatField(allow_null=True, help_text=_TEMP_HELP)
    temperature_min = serializers.FloatField(allow_null=True, help_text=_TEMP_HELP)
    temperature_max = serializers.FloatField(allow_null=True, help_text=_TEMP_HELP)
    humidity = serializers.FloatField(allow_null=True, help_text="%")
    pressure = serializers.FloatField(allow_null=True, help_text="hPa")
    wind = WindSerializer()
    conditions = ConditionSerializer(many=True)
    clouds = serializers.FloatField(allow_null=True, help_text="Cloud cover, %.")
    visibility = serializers.FloatField(allow_null=True, help_text="Metres, whatever the units.")
    precipitation = Precipitation1hSerializer()
    sunrise = serializers.DateTimeField(allow_null=True)
    sunset = serializers.DateTimeField(allow_null=True)
    timezone_offset = serializers.IntegerField(allow_null=True, help_text="Seconds from UTC.")


class ForecastStepSerializer(serializers.Serializer):
    time = serializers.DateTimeField(allow_null=True)
    temperature = serializers.FloatField(allow_null=True, help_text=_TEMP_HELP)
    feels_like = serializers.FloatField(allow_null=True, help_text=_TEMP_HELP)
    temperature_min = serializers.FloatField(allow_null=True, help_text=_TEMP_HELP)
    temperature_max = serializers.FloatField(allow_null=True, help_text=_TEMP_HELP)
    humidity = serializers.FloatField(allow_null=True, help_text="%")
    pressure = serializers.FloatField(allow_null=True, help_text="hPa")
    wind = WindSerializer()
    conditions = ConditionSerializer(many=True)
    clouds = serializers.FloatField(allow_null=True, help_text="%")
    visibility = serializers.FloatField(allow_null=True, help_text="Metres.")
    precipitation_probability = serializers.FloatField(allow_null=True, help_text="0..1")
    precipitation = Precipitation3hSerializer()


class ForecastSerializer(serializers.Serializer):
    source = SourceSerializer()  # type: ignore[assignment]  # a field named "source" shadows Field.source in the stubs
    location = LocationSerializer()
    units = serializers.ChoiceField(choices=UNITS)
    timezone_offset = serializers.IntegerField(allow_null=True, help_text="Seconds from UTC.")
    sunrise = serializers.DateTimeField(allow_null=True)
    sunset = serializers.DateTimeField(allow_null=True)
    steps = ForecastStepSerializer(many=True)


class PlaceSerializer(serializers.Serializer):
    name = serializers.CharField(allow_null=True)
    local_names = serializers.DictField(child=serializers.CharField(), allow_null=True)
    state = serializers.CharField(allow_null=True)
    country = serializers.CharField(allow_null=True)
    lat = serializers.FloatField()
    lon = serializers.FloatField()


class GeocodeSerializer(serializers.Serializer):
    source = SourceSerializer()  # type: ignore[assignment]  # a field named "source" shadows Field.source in the stubs
    results = PlaceSerializer(many=True)


class AirComponentsSerializer(serializers.Serializer):
    co = serializers.FloatField(allow_null=True, help_text="μg/m³")
    no = serializers.FloatField(allow_null=True, help_text="μg/m³")
    no2 = serializers.FloatField(allow_null=True, help_text="μg/m³")
    o3 = serializers.FloatField(allow_null=True, help_text="μg/m³")
    so2 = serializers.FloatField(allow_null=True, help_text="μg/m³")
    pm2_5 = serializers.FloatField(allow_null=True, help_text="μg/m³")
    pm10 = serializers.FloatField(allow_null=True, help_text="μg/m³")
    nh3 = serializers.FloatField(allow_null=True, help_text="μg/m³")


class AirMeasurementSerializer(serializers.Serializer):
    time = serializers.DateTimeField(allow_null=True)
    aqi = serializers.IntegerField(allow_null=True, help_text="Air quality index, 1 (good) .. 5 (very poor).")
    components = AirComponentsSerializer()


class AirLocationSerializer(serializers.Serializer):
    lat = serializers.FloatField()
    lon = serializers.FloatField()


class AirQualitySerializer(serializers.Serializer):
    source = SourceSerializer()  # type: ignore[assignment]  # a field named "source" shadows Field.source in the stubs
    location = AirLocationSerializer()
    measurements = AirMeasurementSerializer(many=True)
