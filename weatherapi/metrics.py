"""Our own Prometheus metrics. Labels stay low-cardinality: never an account, key or place.

Under gunicorn, prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) makes
one scrape of ``/metrics`` report every worker; gauges declare how workers combine.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

UPSTREAM_REQUESTS = Counter(
    "weatherapi_upstream_requests_total",
    "Calls to the weather provider, by outcome.",
    ["provider", "endpoint", "outcome"],
)
UPSTREAM_LATENCY = Histogram(
    "weatherapi_upstream_request_duration_seconds",
    "Latency of calls to the weather provider, retries included.",
    ["provider", "endpoint"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CIRCUIT_OPEN = Gauge(
    "weatherapi_circuit_breaker_open",
    "1 while the circuit breaker to the provider is open (per worker, max over workers).",
    ["provider"],
    multiprocess_mode="max",
)
CACHE_REQUESTS = Counter(
    "weatherapi_cache_requests_total",
    "Weather cache lookups by outcome (hit, miss, stale).",
    ["endpoint", "outcome"],
)
COALESCED_WAITS = Counter(
    "weatherapi_coalesced_waits_total",
    "Requests that waited for another request's upstream call instead of making their own.",
    ["endpoint"],
)
THROTTLE_REJECTIONS = Counter(
    "weatherapi_throttle_rejections_total",
    "Requests refused by the burst limit or the monthly quota.",
    ["plan", "reason"],
)
USAGE_EVENTS = Counter(
    "weatherapi_usage_events_total",
    "Usage events recorded, by where they went first (stream or database).",
    ["sink"],
)
USAGE_EVENTS_FLUSHED = Counter(
    "weatherapi_usage_events_flushed_total",
    "Usage events moved from the Redis stream into PostgreSQL by the usage worker.",
)
USAGE_STREAM_PENDING = Gauge(
    "weatherapi_usage_stream_pending",
    "Usage events in the stream not yet in PostgreSQL (set by the usage worker).",
    multiprocess_mode="max",
)
INVOICES_ISSUED = Counter(
    "weatherapi_invoices_issued_total",
    "Invoices issued by close_billing_period.",
)
