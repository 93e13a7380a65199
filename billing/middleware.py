"""Metering: one usage event per /v1/ request that resolved a principal, and the
rate-limit headers on every such answer (errors included).

An answer that is not a 2xx gives back the unit of the monthly quota that the throttle
reserved for it (``billing.throttles.limiter_refund``): the quota counts billable answers.

The event is recorded after the view has answered (the status and latency are part of
it) and before the answer leaves: one XADD, or one database transaction without Redis
(``billing.services.usage.usage_event_record``). When the view had its answer before the
throttle ran (``weatherapi.context.RequestContext.prepared``), the throttle's script has
already appended the event with the admission (``RateState.event_appended``) and nothing
is recorded here.

No unmetered service (docs/design.md, failure behaviour): the throttle already refuses with 503 before the view
runs when Redis is failing and the database does not answer. If both stores fail only
while the view runs, a billable answer is replaced by 503 ``service_unavailable``: the
client does not get data we could not bill. A non-billable answer (an error, an account
read, a test-mode call) goes out, and the lost event is logged and counted
(``weatherapi_usage_events_total{sink="lost"}``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from django.http import HttpRequest, HttpResponse

from accounts.credentials import Principal
from billing.services.usage import usage_event_record, usage_record_build
from billing.throttles import RateState, limiter_peek, limiter_settle
from weatherapi.context import request_context
from weatherapi.errors import ServiceUnavailable, problem_response

logger = logging.getLogger(__name__)


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
        response = self.get_response(request)
        context = request_context(request)
        principal = context.caller
        if not isinstance(principal, Principal):
            return response  # nobody to meter or limit: unauthenticated or bad credentials
        state = context.rate
        if not isinstance(state, RateState):
            # The throttle never ran (e.g. 403 for a missing scope): read, do not count.
            state = limiter_peek(account_id=principal.account_id)

        if state.event_appended:
            if response.status_code != 200:
                # Appended as a 200 with the admission; only a bug after it can get here.
                logger.error("usage event appended as 200 at admission, answered %s", response.status_code)
        else:
            record = usage_record_build(
                principal=principal,
                endpoint=_endpoint(request),
                method=request.method or "",
                status=response.status_code,
                cache=context.cache,
                latency_ms=int((time.perf_counter() - context.started) * 1000),
                request_id=context.request_id,
            )
            if state.event is not None:
                # The throttle's script may have appended this request's event although its
                # reply never arrived (a timeout): the same id makes the store keep one.
                record = replace(record, id=state.event.id, occurred_at=state.event.occurred_at)
            if usage_event_record(record=record) is None and record.billable:
                response = problem_response(
                    ServiceUnavailable("Usage cannot be recorded right now.", retry_after=5)
                )

        # The quota counts billable answers: what the admission reserved for an answer that
        # is not a 2xx is given back (a batch view settles its items itself).
        state = limiter_settle(account_id=principal.account_id, state=state,
                               billable=state.reserved_units if 200 <= response.status_code < 300 else 0)

        for name, value in state.headers().items():
            response[name] = value
        return response
