"""Operations endpoints: /healthz, /readyz, /metrics (docs/design.md, operations endpoints)."""

from __future__ import annotations

import hmac
import logging
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView

from weatherapi.redis import metering_store_client

logger = logging.getLogger(__name__)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no dependency."""
    return JsonResponse({"status": "ok"})


def check_database() -> dict[str, object]:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as e:  # noqa: BLE001 - any failure means "down"
        connection.close_if_unusable_or_obsolete()
        return {"status": "down", "error": type(e).__name__}
    return {"status": "up", "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _ping(client: object) -> dict[str, object]:
    started = time.monotonic()
    try:
        client.ping()  # type: ignore[attr-defined]
    except Exception as e:  # noqa: BLE001
        return {"status": "down", "error": type(e).__name__}
    return {"status": "up", "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def check_redis() -> dict[str, object]:
    if not settings.REDIS_URL:
        return {"status": "not_configured"}
    from django_redis import get_redis_connection

    return _ping(get_redis_connection("default"))


def check_metering_store() -> dict[str, object] | None:
    """The separate metering store (``USAGE_REDIS_URL``); None when it is the cache's Redis."""
    url = settings.USAGE_REDIS_URL
    if not url or url == settings.REDIS_URL:
        return None
    # The request path's client, without its back-off: the probe must see a recovery at once.
    try:
        client = metering_store_client(url)
    except Exception as e:  # noqa: BLE001 - RedisCluster asks the nodes for the slots on creation
        return {"status": "down", "error": type(e).__name__}
    return _ping(client)


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready while metered traffic can be served: PostgreSQL or the metering store answering.

    One dependency's outage must not take every pod out of the load balancer: usage
    events fall back to whichever store is up.
    """
    database = check_database()
    redis = check_redis()
    metering = check_metering_store()
    checks = {"database": database, "redis": redis}
    if metering is not None:
        checks["metering_store"] = metering
    stores_up = [c for c in (database, metering or redis) if c["status"] == "up"]
    ready = bool(stores_up)
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": checks,
        "upstream_configured": bool(settings.OPENWEATHER_API_KEY),
    }
    return JsonResponse(body, status=200 if ready else 503)


_export = ExportToDjangoView


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.encode(), token.encode()):
            response = HttpResponse("metrics need a bearer token\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not settings.DEBUG:
        return HttpResponse("metrics are disabled: set METRICS_TOKEN\n", status=403, content_type="text/plain")
    return _export(request)
