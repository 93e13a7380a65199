"""The OpenAPI description of the weather endpoints' location: ``lat``, ``lon``, ``q``, ``zip``.

They are four plain optional query parameters, as every weather API has them, so that
generated clients send them as they are (an object-valued parameter, even exploded in form
style, comes out of openapi-python-client as one parameter holding a dict). OpenAPI cannot
say "exactly one of lat+lon, q or zip" about parameters: each parameter's description and
the operation's 400 say it, and the server enforces it (``WeatherQuerySerializer.validate``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter

from forecasts.serializers import PLACE_NAME_PATTERN, POSTAL_CODE_PATTERN

LATITUDE: dict[str, Any] = {
    "type": "number", "format": "double", "minimum": -90, "maximum": 90,
    "description": "Latitude in decimal degrees, -90..90.", "example": 51.5085,
}
LONGITUDE: dict[str, Any] = {
    "type": "number", "format": "double", "minimum": -180, "maximum": 180,
    "description": "Longitude in decimal degrees, -180..180.", "example": -0.1257,
}
PLACE_NAME: dict[str, Any] = {
    "type": "string", "minLength": 1, "maxLength": 100, "pattern": PLACE_NAME_PATTERN,
    "description": (
        "Place name: `city[,state][,country]` (state: US only; country: ISO 3166 alpha-2), at most "
        "100 characters, any script; control characters, invisible formatting characters (zero-width, "
        "bidirectional controls, soft hyphen...) and private-use characters are refused."
    ),
    "example": "London,GB",
}
POSTAL_CODE: dict[str, Any] = {
    "type": "string", "maxLength": 16, "pattern": POSTAL_CODE_PATTERN,
    "description": "Postal code and ISO 3166 alpha-2 country code: `code,country`.",
    "example": "SW1A,GB",
}

EXACTLY_ONE = (
    "Exactly one location: `lat` and `lon` together, `q`, or `zip`. None, several, or `lat` or "
    "`lon` alone is a 400 `invalid_parameter`."
)


def _location_parameter(name: str, schema: dict[str, Any], what: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, type=schema, location="query", required=False, description=f"{what} {EXACTLY_ONE}",
    )


# Replace the query serializer's own lat/lon/q/zip (same names), keeping the serializer's
# other parameters (units, cnt).
LOCATION_PARAMETERS: list[OpenApiParameter] = [
    _location_parameter("lat", LATITUDE, "Latitude in decimal degrees, -90..90, with `lon`."),
    _location_parameter("lon", LONGITUDE, "Longitude in decimal degrees, -180..180, with `lat`."),
    _location_parameter("q", PLACE_NAME, PLACE_NAME["description"]),
    _location_parameter("zip", POSTAL_CODE, POSTAL_CODE["description"]),
]
