"""Which endpoints are metered how (docs/design.md, metering).

The weather, geocoding and air-quality endpoints are the product: their 2xx answers to a
live credential are billable, and every such request admitted by the throttle counts
toward the monthly quota. ``/v1/account*`` only counts toward the per-minute burst.
"""

from __future__ import annotations

PRODUCT_ENDPOINTS = frozenset(
    {"weather.current", "weather.forecast", "geocode", "geocode.reverse", "air_quality"}
)


def is_product_endpoint(endpoint: str) -> bool:
    return endpoint in PRODUCT_ENDPOINTS or endpoint.startswith(("weather.", "geocode"))


def is_billable(*, endpoint: str, status: int, mode: str) -> bool:
    return mode == "live" and 200 <= status < 300 and is_product_endpoint(endpoint)
