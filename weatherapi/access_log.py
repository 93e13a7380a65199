"""One structured log line per request (logger ``weatherapi.access``).

Placed right after ``RequestIdMiddleware``, so it sees the final status (the problem
document of an exception, the metering middleware's 503, the 429 of the throttle) and
the request id is still in context. Fields:

``request_id`` (from the formatter), ``method``, ``path`` (never the query string: it can
hold a place, and clients put keys in it), ``route`` (the URL pattern), ``view`` (the URL
name), ``status``, ``latency_ms``, ``account_id`` and ``credential_prefix`` (from the
caller that authentication put in the request context), ``cache`` (hit, miss, stale)
and ``error_code``, also from the context (``weatherapi.context``).

The full credential is never logged: only its display prefix. The logging filters redact
any key or token that reaches a message anyway (``weatherapi.logging``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from weatherapi.context import request_context

logger = logging.getLogger("weatherapi.access")

_MAX_PATH = 200


def access_fields(request: HttpRequest, response: HttpResponse, latency_ms: float) -> dict[str, object]:
    match = getattr(request, "resolver_match", None)
    context = request_context(request)
    caller = context.caller
    return {
        "method": request.method,
        "path": request.path[:_MAX_PATH],
        "route": getattr(match, "route", None) or None,
        "view": getattr(match, "view_name", None) or None,
        "status": response.status_code,
        "latency_ms": round(latency_ms, 1),
        "account_id": caller.account_id if caller is not None else None,
        "credential_prefix": caller.credential_prefix if caller is not None else None,
        "cache": context.cache,
        "error_code": context.error_code,
    }


class AccessLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        latency_ms = (time.perf_counter() - started) * 1000
        status = response.status_code
        level = logging.ERROR if status >= 500 else logging.INFO
        if logger.isEnabledFor(level):
            fields = access_fields(request, response, latency_ms)
            logger.log(level, "%s %s %s", fields["method"], fields["path"], status, extra=fields)
        return response
