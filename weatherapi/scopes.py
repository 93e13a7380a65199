"""The OAuth2 scopes of the API, defined once: settings (django-oauth-toolkit), the
credential resolver, the client services and the OpenAPI security scheme read them here."""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "weather:read": "Weather, forecasts, geocoding and air quality.",
    "account:read": "The account, its usage and invoices.",
    "account:write": "The account's settings (its monthly spend cap).",
}
ALL_SCOPES = frozenset(SCOPES)
WEATHER_READ = "weather:read"
ACCOUNT_READ = "account:read"
ACCOUNT_WRITE = "account:write"
