#!/usr/bin/env python
"""Scale benchmarks (issue 8) against a separate PostgreSQL database, ``weatherapi_scale``.

    .venv/bin/python scripts/bench_scale.py [keys] [usage] [worker] [inproc] [gc]

* ``keys``: credential lookup cost from 1,000 to 1,000,000 API keys. Keys are bulk
  inserted with COPY (digests of ``scale-<n>``, so the lookups know real digests), the
  table analyzed, then the *cold* lookup (the database path of ``resolve_api_key``, what a
  request pays when the Redis copy is missing) is timed for random existing keys at 1k,
  100k and 1M keys, and ``EXPLAIN (ANALYZE, BUFFERS)`` of the lookup is printed (it must be
  an index scan on the unique index of ``digest``).
* ``usage``: ``GET /v1/account/usage`` for 90 days, through the whole stack in-process
  (auth, throttle, metering), for an account with 90 days x 5 endpoints x 3 credentials
  of rollups, in a table holding whatever ``scripts/gen_usage.py`` put there (10,000
  accounts / 10,000,000 events as rollups); p50/p99 and the EXPLAIN ANALYZE of the series.
* ``inproc``: microseconds of server CPU per request, the WSGI application called
  directly (no network client): ``/healthz`` against a warm cached
  ``/v1/weather/current`` with an API key, through the application gunicorn serves.
* ``gc``: pauses of Python's cyclic garbage collector while 8 threads serve 20,000 warm
  cached answers in process, before and after ``gc.freeze()`` (what gunicorn.conf.py's
  ``post_worker_init`` does): collections per generation, their total and longest pause.
* ``worker``: the usage worker's store (``usage_entries_store``: stream entries decoded,
  stored with their rollups and ``last_used_at``) in batches of 1,000: events per second
  and CPU per stored event, the worker's and PostgreSQL's, for 20,000 events spread over
  1,000 real keys, three rounds.

Environment: SCALE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/weatherapi_scale,
created and migrated when missing), SCALE_REDIS_URL (default redis://127.0.0.1:6379/4).
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weatherapi_scale")
REDIS_URL = os.environ.get("SCALE_REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.update({
    "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL, "DJANGO_SETTINGS_MODULE": "weatherapi.settings",
    "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"), "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "bench-scale-" + "x" * 40,
    "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0",
    # inproc answers from a filled cache; nothing may reach an upstream.
    "OPENWEATHER_API_KEY": "bench-unused", "OPENWEATHER_BASE_URL": "http://127.0.0.1:9",
})

from tests.support.servers import ensure_database  # noqa: E402

ensure_database(DB_URL)
subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from accounts.credentials import _load_api_key  # noqa: E402
from accounts.models import Account, ApiKey, User  # noqa: E402
from billing.models import UsageDaily  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def scale_digest(n: int) -> str:
    return hashlib.sha256(f"scale-{n}".encode()).hexdigest()


def scale_account() -> Account:
    user, _ = User.objects.get_or_create(email="scale@example.com", defaults={"password": "!"})
    account = Account.objects.filter(owner=user).first()
    return account or Account.objects.create(owner=user, name="scale")


def keys_have() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_apikey WHERE name = 'scale'")
        return int(cursor.fetchone()[0])


def keys_fill(target: int, account: Account) -> None:
    have = keys_have()
    if have >= target:
        return
    started = time.perf_counter()
    now = datetime.now(tz=UTC).isoformat()
    raw = connection.connection  # psycopg 3: COPY ... FROM STDIN
    with raw.cursor() as cursor, cursor.copy(
        "COPY accounts_apikey (name, mode, prefix, digest, created_at, account_id) FROM STDIN"
    ) as copy:
        for n in range(have, target):
            copy.write_row(("scale", "live", f"wx_live_s{n:07d}"[:16], scale_digest(n), now, account.pk))
    connection.commit() if not connection.get_autocommit() else None
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_apikey")
    print(f"  inserted {target - have:,} keys with COPY in {time.perf_counter() - started:.1f}s")


def bench_keys() -> None:
    print("== credential lookup (database path of resolve_api_key), cold: no Redis copy")
    account = scale_account()
    rng = random.Random(8)
    rows = []
    for target in (1_000, 100_000, 1_000_000):
        keys_fill(target, account)
        samples = [scale_digest(rng.randrange(target)) for _ in range(2000)]
        for d in samples[:200]:  # warm the connection and the plan cache, not the keys
            _load_api_key(d)
        full, query_only = [], []
        qs = ApiKey.objects.select_related("account").only("id", "digest", "account__id", "account__is_suspended")
        for d in samples[200:]:
            t = time.perf_counter()
            principal = _load_api_key(d)
            full.append((time.perf_counter() - t) * 1000)
            assert principal is not None
            t = time.perf_counter()
            qs.filter(digest=d).first()
            query_only.append((time.perf_counter() - t) * 1000)
        rows.append((target, statistics.median(full), pct(full, 0.99), statistics.median(query_only),
                     pct(query_only, 0.99)))
    print(f"  {'keys':>10} {'lookup p50 ms':>14} {'p99 ms':>8} {'key query p50':>14} {'p99 ms':>8}")
    for target, p50, p99, q50, q99 in rows:
        print(f"  {target:>10,} {p50:14.3f} {p99:8.3f} {q50:14.3f} {q99:8.3f}")
    plan = (
        ApiKey.objects.select_related("account")
        .filter(digest=scale_digest(123_456))
        .only("id", "prefix", "mode", "digest", "expires_at", "revoked_at", "account__id", "account__is_suspended")
        .explain(analyze=True, buffers=True)
    )
    print("  EXPLAIN (ANALYZE, BUFFERS) of the key lookup at 1,000,000 keys:")
    print("    " + plan.replace("\n", "\n    "))
    # Django also creates a varchar_pattern_ops twin (``..._like``) of the unique index for a
    # CharField; either is a B-tree on digest with the same cost (docs/performance.md).
    assert "Index Scan using accounts_apikey_digest_" in plan, "the lookup must use an index on digest"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_stat_user_indexes "
            "WHERE relname = 'accounts_apikey' AND indexrelname LIKE '%digest%' ORDER BY 1"
        )
        print("  digest indexes: " + ", ".join(f"{n} ({size})" for n, size in cursor.fetchall()))


def usage_account() -> tuple[Account, str]:
    from accounts.services import api_key_create

    user, _ = User.objects.get_or_create(email="scale-usage@example.com", defaults={"password": "!"})
    account = Account.objects.filter(owner=user).first() or Account.objects.create(owner=user, name="scale-usage")
    from decimal import Decimal

    from billing.services import plan_upsert
    from billing.services.plans import subscription_change

    plan, _ = plan_upsert(code="scale-bench", name="Scale bench", requests_per_minute=100_000_000,
                       included_requests=1_000_000_000, overage_per_1000=Decimal("0.01"), monthly_fee=Decimal("0"))
    subscription_change(account=account, plan=plan)
    _, full_key = api_key_create(account=account, mode="live", name="usage-bench")
    today = datetime.now(tz=UTC).date()
    endpoints = ["weather.current", "weather.forecast", "geocode", "geocode.reverse", "air_quality"]
    rows = [
        UsageDaily(day=today - timedelta(days=d), account=account, credential_type="api_key", credential_id=c,
                   endpoint=e, mode="live", requests=1000 + d, billable=990, errors=10)
        for d in range(90) for c in (1, 2, 3) for e in endpoints
    ]
    UsageDaily.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    return account, full_key


def bench_usage() -> None:
    from django.test import Client

    print("== GET /v1/account/usage, 90 days, in-process through the whole middleware stack")
    total = UsageDaily.objects.count()
    accounts = UsageDaily.objects.values("account_id").distinct().count()
    print(f"  usage_daily: {total:,} rollup rows over {accounts:,} accounts")
    account, key = usage_account()
    end = datetime.now(tz=UTC).date()
    start = end - timedelta(days=89)
    url = f"/v1/account/usage?start={start}&end={end}"
    client = Client(HTTP_X_API_KEY=key)
    for _ in range(30):
        first = client.get(url)
        assert first.status_code == 200, first.content
    times = []
    for _ in range(500):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    print(f"  p50 {statistics.median(times):.2f} ms   p99 {pct(times, 0.99):.2f} ms   (500 requests, target p99 <= 50 ms)")
    from django.db.models import Sum

    plan = (
        UsageDaily.objects.filter(account_id=account.pk, day__gte=start, day__lte=end)
        .values("day").annotate(requests=Sum("requests"), billable=Sum("billable"), errors=Sum("errors"))
        .explain(analyze=True, buffers=True)
    )
    print("  EXPLAIN (ANALYZE, BUFFERS) of the daily series:")
    print("    " + plan.replace("\n", "\n    "))


def _backend_cpu_seconds() -> float:
    """CPU used so far by this connection's PostgreSQL backend (same machine)."""
    from tests.support.procs import backend_pid, cpu_seconds

    return cpu_seconds(backend_pid(connection))


def bench_worker(rounds: int = 3, total: int = 20_000, batch: int = 1000) -> None:
    from billing.services.usage import UsageRecord, _event_id, usage_entries_store

    print(f"== usage worker store (usage_entries_store): {total:,} stream entries in batches of {batch:,} "
          f"over 1,000 real keys, {rounds} rounds")
    account = scale_account()
    keys_fill(1_000, account)
    key_ids = list(ApiKey.objects.filter(name="scale").order_by("id").values_list("id", flat=True)[:1000])
    rng = random.Random(3)

    def batches() -> list[list[bytes]]:
        start, made = time.time(), []
        for b in range(total // batch):
            entries = []
            for i in range(batch):
                at = start + (b * batch + i) / 1000  # events a millisecond apart, from now on
                record = UsageRecord(id=_event_id(at), account_id=account.pk, credential_type="api_key",
                                     credential_id=rng.choice(key_ids), endpoint="weather.current", mode="live",
                                     status=200, billable=True, cache="hit", latency_ms=3,
                                     occurred_at=datetime.fromtimestamp(at, tz=UTC), request_id=uuid.uuid4().hex)
                entries.append(record.to_json().encode())  # what the worker reads from the stream
            made.append(entries)
        return made

    for n in range(1, rounds + 1):
        made = batches()
        backend = _backend_cpu_seconds()
        cpu = time.process_time()
        started = time.perf_counter()
        stored = sum(usage_entries_store(entries=entries) for entries in made)
        elapsed = time.perf_counter() - started
        cpu, backend = time.process_time() - cpu, _backend_cpu_seconds() - backend
        assert stored == total, (stored, total)
        print(f"  round {n}: {total / elapsed:,.0f} events/s ({elapsed:.2f}s); CPU per stored event: "
              f"worker {cpu / total * 1e6:.1f} us, PostgreSQL {backend / total * 1e6:.1f} us")


def bench_inproc(n: int = 3000) -> None:
    print(f"== in-process cost per request (WSGI handler, {n:,} requests after 200 warm-up)")
    one = _warm_cached_app()
    for path, query in (("/healthz", ""), ("/v1/weather/current", "lat=51.51&lon=-0.13")):
        for _ in range(200):
            one(path, query)
        started = time.perf_counter()
        for _ in range(n):
            one(path, query)
        print(f"  {path:22} {(time.perf_counter() - started) / n * 1e6:8.0f} us/request")


def _warm_cached_app() -> Callable[[str, str], None]:
    """A call of the WSGI application gunicorn serves (the routed stacks) with a live key,
    one warm cached answer in the cache; it checks every answer is a 200."""
    import io

    from django.core.cache import cache

    from accounts.services import api_key_create
    from forecasts.cache import encode
    from forecasts.locations import Location

    account, _ = usage_account()
    _, key = api_key_create(account=account, mode="live", name="inproc")
    now = time.time()
    body = encode({"location": {"name": "London", "country": "GB", "lat": 51.51, "lon": -0.13}, "temperature": 16.7})
    cache.set(f"wx:openweather:cur:{Location.from_coords(51.51, -0.13).cache_token}:metric:en",
              (now, now + 3600, body), 7200)
    from weatherapi.wsgi import application as app

    def one(path: str, query: str) -> None:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
                   "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
                   "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "HTTP_X_API_KEY": key}
        seen: list[str] = []
        result = app(environ, lambda status, headers, exc=None: seen.append(status))
        b"".join(result)
        getattr(result, "close", lambda: None)()
        assert seen[0].startswith("200"), seen

    return one


def _in_threads(work: Callable[[], None], threads: int) -> float:
    """Runs ``work`` in ``threads`` threads at once; the wall seconds until all are done."""
    import threading

    workers = [threading.Thread(target=work) for _ in range(threads)]
    begin = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - begin


def _gc_pauses_while(work: Callable[[], None], threads: int) -> tuple[float, dict[int, list[float]]]:
    """Runs ``work`` in ``threads`` threads; the wall time and each collection's pause (ms)
    by generation."""
    import gc
    import threading

    started: dict[int, float] = {}
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[threading.get_ident()] = time.perf_counter()
        else:
            begun = started.pop(threading.get_ident(), time.perf_counter())
            pauses[info["generation"]].append((time.perf_counter() - begun) * 1000)

    gc.callbacks.append(timed)
    try:
        return _in_threads(work, threads), pauses
    finally:
        gc.callbacks.remove(timed)


def _cached_answers(per_thread: int) -> Callable[[], None]:
    """One thread's share of warm cached answers, after a warm-up."""
    one = _warm_cached_app()
    for _ in range(300):
        one("/v1/weather/current", "lat=51.51&lon=-0.13")

    def work() -> None:
        for _ in range(per_thread):
            one("/v1/weather/current", "lat=51.51&lon=-0.13")

    return work


def bench_gc(threads: int = 8, per_thread: int = 5000) -> None:
    import gc

    work = _cached_answers(per_thread)
    print(f"== garbage collector pauses: {threads} threads x {per_thread:,} warm cached answers in process")
    for label in ("as loaded", "after gc.freeze()"):
        if label != "as loaded":
            gc.collect()
            gc.freeze()
        wall, pauses = _gc_pauses_while(work, threads)
        print(f"  {label}: {len(gc.get_objects()):,} objects tracked, {gc.get_freeze_count():,} frozen; "
              f"{threads * per_thread / wall:,.0f} answers/s")
        for generation, times in pauses.items():
            if times:
                print(f"    generation {generation}: {len(times):4d} collections, {sum(times):7.1f} ms in all, "
                      f"longest {max(times):6.2f} ms")
    gc.unfreeze()


def main() -> None:
    which = sys.argv[1:] or ["keys", "usage", "worker", "inproc"]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; database {DB_URL}")
    for name in which:
        {"keys": bench_keys, "usage": bench_usage, "worker": bench_worker, "inproc": bench_inproc,
         "gc": bench_gc}[name]()


if __name__ == "__main__":
    main()
