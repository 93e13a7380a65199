"""Which endpoints are metered how (docs/design.md, metering).

The weather, geocoding and air-quality endpoints are the product: their 2xx answers to a
GET of a live credential are billable, and the monthly quota counts exactly those
(``billing.throttles``: reserved at admission, given back for an answer that is not a 2xx). ``/v1/account*``, HEAD and OPTIONS carry no data and only count
toward the per-minute burst.
"""

from __future__ import annotations

PRODUCT_ENDPOINTS = frozenset(
    {"weather.current", "weather.forecast", "geocode", "geocode.reverse", "air_quality"}
)


def is_product_endpoint(endpoint: str) -> bool:
    return endpoint in PRODUCT_ENDPOINTS or endpoint.startswith(("weather.", "geocode"))


def counts_toward_quota(*, endpoint: str, mode: str, method: str) -> bool:
    return mode == "live" and method == "GET" and is_product_endpoint(endpoint)


def is_billable(*, endpoint: str, status: int, mode: str, method: str) -> bool:
    return 200 <= status < 300 and counts_toward_quota(endpoint=endpoint, mode=mode, method=method)


# How the portal's usage pages name the endpoints a usage event records (the views'
# ``metering_endpoint``; a batch's or a job's items are recorded as their own endpoints); a
# name not listed is shown as it is.
ENDPOINT_PATHS = {
    "weather.current": "/v1/weather/current",
    "weather.forecast": "/v1/weather/forecast",
    "geocode": "/v1/geocode",
    "geocode.reverse": "/v1/geocode/reverse",
    "air_quality": "/v1/air-quality",
    "account": "/v1/account",
    "account.usage": "/v1/account/usage",
    "account.invoices": "/v1/account/invoices",
    "batch": "/v1/batch",
    "jobs": "/v1/jobs",
    "jobs.get": "/v1/jobs/{id}",
    "webhook_endpoints": "/v1/webhook-endpoints",
    "webhook_endpoint": "/v1/webhook-endpoints/{id}",
    "unknown": "(a batch or job item naming no endpoint)",
}


def endpoint_path(endpoint: str) -> str:
    return ENDPOINT_PATHS.get(endpoint, endpoint)
