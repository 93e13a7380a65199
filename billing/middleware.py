"""Metering: one usage event per /v1/ request that resolved a principal, and the
rate-limit headers on every such answer (errors included).

The event is recorded after the view has answered (the status and latency are part of
it) and before the answer leaves: one XADD, or one database transaction without Redis
(``billing.services.usage.usage_event_record``).

No unmetered service (DESIGN §11): the throttle already refuses with 503 before the view
runs when Redis is failing and the database does not answer. If both stores fail only
while the view runs, a billable answer is replaced by 503 ``service_unavailable``: the
client does not get data we could not bill. A non-billable answer (an error, an account
read, a test-mode call) goes out, and the lost event is logged and counted
(``weatherapi_usage_events_total{sink="lost"}``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.credentials import Principal
from billing.endpoints import is_billable
from billing.services.usage import UsageRecord, usage_event_record
from billing.throttles import RateState, limiter_peek, ratelimit_headers
from weatherapi.errors import ServiceUnavailable, problem_response


def _endpoint(request: HttpRequest) -> str:
    match = request.resolver_match
    view_class = getattr(getattr(match, "func", None), "view_class", None)
    return str(getattr(view_class, "metering_endpoint", "") or "unknown")[:40]


class MeteringMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/v1/"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        principal = getattr(request, "wx_principal", None)
        if not isinstance(principal, Principal):
            return response  # nobody to meter or limit: unauthenticated or bad credentials
        latency_ms = int((time.perf_counter() - started) * 1000)

        state = getattr(request, "wx_ratelimit", None)
        if not isinstance(state, RateState):
            # The throttle never ran (e.g. 403 for a missing scope): read, do not count.
            state = limiter_peek(principal=principal)

        if settings.METERING_ENABLED:
            endpoint = _endpoint(request)
            record = UsageRecord(
                id=uuid.uuid4(),
                account_id=principal.account_id,
                credential_type=principal.credential_type,
                credential_id=principal.credential_id,
                endpoint=endpoint,
                mode=principal.mode,
                status=response.status_code,
                billable=is_billable(endpoint=endpoint, status=response.status_code, mode=principal.mode),
                cache=getattr(request, "wx_cache", None),
                latency_ms=latency_ms,
                occurred_at=datetime.now(tz=UTC),
                request_id=str(getattr(request, "request_id", "") or "")[:64],
            )
            if usage_event_record(record=record) is None and record.billable:
                response = problem_response(
                    ServiceUnavailable("Usage cannot be recorded right now.", retry_after=5)
                )

        for name, value in ratelimit_headers(state).items():
            response[name] = value
        return response
