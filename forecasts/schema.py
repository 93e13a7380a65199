"""The OpenAPI description of the weather endpoints' location forms.

The weather endpoints take exactly one of lat+lon, q or zip. Separate optional query
parameters cannot say "exactly one", so the schema has one ``location`` parameter in form
style, exploded (each property is a query parameter of its own: ``?lat=..&lon=..``),
whose value is one of three objects. Clients send the same query string either way.
"""

from __future__ import annotations

from typing import Any

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
LOCATION_SCHEMAS: dict[str, dict[str, Any]] = {
    "Coordinates": {
        "type": "object",
        "description": "`lat` and `lon`, both.",
        "properties": {"lat": LATITUDE, "lon": LONGITUDE},
        "required": ["lat", "lon"],
        "additionalProperties": False,
    },
    "PlaceName": {
        "type": "object",
        "description": "`q`: a place name.",
        "properties": {"q": PLACE_NAME},
        "required": ["q"],
        "additionalProperties": False,
    },
    "PostalCode": {
        "type": "object",
        "description": "`zip`: a postal code and its country.",
        "properties": {
            "zip": {
                "type": "string", "maxLength": 16, "pattern": POSTAL_CODE_PATTERN,
                "description": "Postal code and ISO 3166 alpha-2 country code: `code,country`.",
                "example": "SW1A,GB",
            }
        },
        "required": ["zip"],
        "additionalProperties": False,
    },
}
LOCATION_PARAMETER_SCHEMA: dict[str, Any] = {
    "oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in LOCATION_SCHEMAS],
}
LOCATION_DESCRIPTION = (
    "Where: exactly one of `lat` and `lon` (decimal degrees), `q` (a place name, "
    "`city[,state][,country]`) or `zip` (`code,country`). Each is a query parameter of its own, "
    "e.g. `?lat=51.5085&lon=-0.1257`, `?q=London,GB` or `?zip=SW1A,GB`; anything else is a 400."
)



def postprocess_location(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: the location forms' component schemas,
    where an operation takes the ``location`` parameter."""
    uses_location = any(
        parameter.get("name") == "location"
        for item in result.get("paths", {}).values()
        for operation in item.values() if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
    )
    if uses_location:
        schemas = result.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in LOCATION_SCHEMAS.items():
            schemas.setdefault(name, schema)
        result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result
