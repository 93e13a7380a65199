#!/usr/bin/env python
"""Per-request cost of metering and throttling, measured through the real middleware.

Runs N requests of a trivial view through ``MeteringMiddleware`` with metering off
(baseline) and on, and N throttle decisions, against whatever the environment gives:
Redis (``REDIS_URL``: one XADD per request, one EVALSHA per throttle) or the database
(no Redis: one transaction per event). Prints microseconds per request.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/weatherapi REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python scripts/bench_metering.py -n 5000

Writes go to a separate stream key and to account id 0, and are removed afterwards. The
database must be migrated (``python manage.py migrate``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "weatherapi.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import ResolverMatch  # noqa: E402

from accounts.credentials import Principal  # noqa: E402
from billing.middleware import MeteringMiddleware  # noqa: E402
from billing.models import UsageDaily, UsageEvent  # noqa: E402
from billing.selectors import PlanLimits  # noqa: E402
from billing.throttles import RateState, limiter_hit  # noqa: E402

BENCH_ACCOUNT = 0


class _View:
    metering_endpoint = "weather.current"


def _view(request):  # noqa: ANN001
    return HttpResponse(b"{}", content_type="application/json")


_view.view_class = _View  # type: ignore[attr-defined]


def _principal() -> Principal:
    return Principal(account_id=BENCH_ACCOUNT, credential_type="api_key", credential_id=0,
                     credential_prefix="wx_bench", mode="live",
                     plan=PlanLimits(code="bench", requests_per_minute=10**9, included_requests=10**12,
                                     hard_cap=False))


_STATE = RateState(plan_code="bench", minute_limit=60, minute_used=1, minute_reset=30, month_limit=1000,
                   month_used=1, month_reset=1000, hard_cap=True, source="redis")


def _run(n: int, *, metering: bool) -> list[float]:
    settings.METERING_ENABLED = metering
    middleware = MeteringMiddleware(_view)
    factory = RequestFactory()
    principal = _principal()
    timings = []
    for _ in range(n):
        request = factory.get("/v1/weather/current?lat=1&lon=2")
        request.wx_principal = principal
        request.resolver_match = ResolverMatch(_view, (), {})
        request.wx_cache = "hit"
        # As if the throttle had run: the middleware then adds headers without a Redis read.
        request.wx_ratelimit = _STATE
        started = time.perf_counter()
        middleware(request)
        timings.append(time.perf_counter() - started)
    return timings


def _throttle(n: int) -> list[float]:
    principal = _principal()
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        limiter_hit(principal=principal, counts_month=True)
        timings.append(time.perf_counter() - started)
    return timings


def _report(name: str, timings: list[float]) -> float:
    us = sorted(t * 1e6 for t in timings)
    mean = statistics.fmean(us)
    print(f"{name:<34} mean {mean:8.1f} µs   p50 {us[len(us) // 2]:8.1f} µs   p99 {us[int(len(us) * 0.99)]:8.1f} µs")
    return mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=3000, help="requests per measurement")
    args = parser.parse_args()
    settings.USAGE_STREAM_KEY = "wx:bench:usage"
    sink = "redis stream (XADD)" if settings.REDIS_URL else "database (direct insert)"
    print(f"metering sink: {sink}; database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; "
          f"n={args.n}")
    try:
        _run(min(200, args.n), metering=True)  # warm up connections and the script cache
        off = _report("middleware, metering off", _run(args.n, metering=False))
        on = _report("middleware, metering on", _run(args.n, metering=True))
        print(f"{'=> metering cost per request':<34} {on - off:8.1f} µs")
        _report("throttle decision (both windows)", _throttle(args.n))
    finally:
        if settings.REDIS_URL:
            from django_redis import get_redis_connection

            client = get_redis_connection("default")
            client.delete(settings.USAGE_STREAM_KEY)
            for key in client.scan_iter(f"wx:rl:{{a{BENCH_ACCOUNT}}}:*"):
                client.delete(key)
        UsageEvent.objects.filter(account_id=BENCH_ACCOUNT).delete()
        UsageDaily.objects.filter(account_id=BENCH_ACCOUNT).delete()


if __name__ == "__main__":
    main()
