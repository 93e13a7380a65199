"""Our own Prometheus metrics. Labels stay low-cardinality: never an account, key or place.

Under gunicorn, prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) makes
one scrape of ``/metrics`` report every worker; gauges declare how workers combine.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django_prometheus.middleware import PrometheusAfterMiddleware
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
UPSTREAM_BUDGET_REFUSALS = Counter(
    "weatherapi_upstream_budget_refusals_total",
    "Upstream calls the calls-per-minute budget refused: raised to the caller (stale copy or"
    " 503), or waited for the next minute (job workers).",
    ["provider", "outcome"],
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
JOBS = Counter(
    "weatherapi_jobs_total",
    "Asynchronous jobs by event (created, succeeded, failed).",
    ["event"],
)
JOB_ITEMS = Counter(
    "weatherapi_job_items_total",
    "Job items by event (queued, succeeded, failed, rate_wait: waited for the account's minute).",
    ["event"],
)
JOBS_QUEUE_DEPTH = Gauge(
    "weatherapi_jobs_queue_depth",
    "Tasks ready to run on the queue (set by the jobs worker), by queue.",
    ["queue"],
    multiprocess_mode="max",
)
JOBS_OLDEST_READY = Gauge(
    "weatherapi_jobs_oldest_ready_age_seconds",
    "How long the oldest task ready to run has waited (set by the jobs worker), by queue.",
    ["queue"],
    multiprocess_mode="max",
)
WEBHOOK_DELIVERIES = Counter(
    "weatherapi_webhook_deliveries_total",
    "Webhook and callback delivery attempts by outcome: succeeded, retry (failed, retried "
    "later) or failed (failed, no retry left).",
    ["outcome"],
)


_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def labelled(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)``, looked up once: ``labels()`` validates and takes a lock
    on every call, which showed in the hot path's profile. Children are never removed, so
    keeping them is safe; label values here are a small fixed set (never ids or places)."""
    key = (id(metric), values)
    child = _children.get(key)
    if child is None:
        child = _children.setdefault(key, metric.labels(*values))
    return child


class PrometheusMiddleware(PrometheusAfterMiddleware):
    """django-prometheus's request metrics, only the series something reads.

    The alerts, the dashboard, the KEDA trigger and the CloudWatch export read four
    ``django_http_*`` series: requests by view, responses by status (and by status, view
    and method), latency by view and method, and exceptions by type. The stock before/after
    pair records about a dozen per request (body-size histograms, charset, transport...)
    that nothing reads. Labelled children are looked up once
    (``labelled``).
    """

    def process_request(self, request: HttpRequest) -> None:
        request.prometheus_after_middleware_event = time.perf_counter()  # type: ignore[attr-defined]

    def process_view(self, request: HttpRequest, view_func: Any, *view_args: Any, **view_kwargs: Any) -> None:
        match = getattr(request, "resolver_match", None)
        if match is not None:
            view = match.view_name or "<unnamed view>"
            transport = "https" if request.is_secure() else "http"
            labelled(self.metrics.requests_by_view_transport_method, view, transport, self._method(request)).inc()

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        method = self._method(request)
        view = self._get_view_name(request)
        status = str(response.status_code)
        labelled(self.metrics.responses_by_status, status).inc()
        labelled(self.metrics.responses_by_status_view_method, status, view, method).inc()
        started = getattr(request, "prometheus_after_middleware_event", None)
        if started is not None:
            labelled(self.metrics.requests_latency_by_view_method, view, method).observe(
                time.perf_counter() - started
            )
        return response
