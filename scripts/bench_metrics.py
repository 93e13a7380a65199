#!/usr/bin/env python
"""What do the django-prometheus request metrics cost? A cached /v1/weather/current
through gunicorn with METRICS_ENABLED=1 and =0, otherwise identical.

    .venv/bin/python scripts/bench_metrics.py [--duration 10] [--connections 16] [--rounds 1]
                                              [--tool auto|wrk|python] [--log-level INFO]

Production-like: DJANGO_DEBUG=0, a random DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS=127.0.0.1,
PostgreSQL and Redis, PROMETHEUS_MULTIPROC_DIR (multiprocess mode as in the pods), JSON
logs at --log-level (INFO in production: one access line per request, written to a file),
gunicorn sized by GUNICORN_WORKERS/GUNICORN_THREADS (default 2 x 8 gthread, as the
ConfigMap). The upstream is the fake OpenWeather (``python -m tests.fakes.openweather``);
the key is a live key on a plan with limits far above the load, so every answer is a 200
cache hit after one warming request.

METRICS_ENABLED=0 removes the request metrics middleware only; the database
and cache backends and our own counters keep counting in both runs.

Database: BENCH_DATABASE_URL, else DATABASE_URL, else
postgres://postgres@127.0.0.1:5432/weatherapi_bench (created with createdb and migrated).
Redis: BENCH_REDIS_URL, else REDIS_URL, else redis://127.0.0.1:6379/4; the run uses its own
cache key prefix and usage stream key and deletes them at the end.

Load: wrk (keep-alive, --latency) when installed, else a Python generator (one thread and
one keep-alive ``requests.Session`` a connection). Each run is preceded by 2 s of warm-up.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.servers import GunicornServer, ensure_database  # noqa: E402

PY = sys.executable
METRICS_TOKEN = "bench-metrics-token"  # noqa: S105 - a local benchmark's token
URL_PATH = "/v1/weather/current?lat=51.51&lon=-0.13"


def run(cmd: list[str], env: dict[str, str]) -> str:
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout


# --- Load generators ------------------------------------------------------------------

def _ms(token: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", token).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load_wrk(url: str, key: str, duration: float, connections: int) -> dict[str, float]:
    threads = max(1, min(4, connections // 4))
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", "--latency", "--timeout=10s",
         "-H", f"X-API-Key: {key}", url],
        capture_output=True, text=True, check=True,
    ).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "errors": (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errors.groups())) if errors else 0),
    }


def load_python(url: str, key: str, duration: float, connections: int) -> dict[str, float]:
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    start = threading.Event()
    stop_at = [0.0]

    def worker(i: int) -> None:
        session = requests.Session()  # keep-alive: one connection per thread
        session.headers["X-API-Key"] = key
        start.wait()
        mine = latencies[i]
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at[0]:
                break
            try:
                ok = session.get(url, timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            mine.append(time.perf_counter() - t0)
            if not ok:
                errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    stop_at[0] = began + duration
    start.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    flat = sorted(x for chunk in latencies for x in chunk)
    q = statistics.quantiles(flat, n=100, method="inclusive")
    return {"rps": len(flat) / elapsed, "p50": q[49] * 1000, "p99": q[98] * 1000,
            "requests": len(flat), "errors": sum(errors)}


# --- Main -----------------------------------------------------------------------------

def worker_cpu_seconds(master: int) -> float:
    """User + system CPU of gunicorn's workers: less sensitive to a busy machine than req/s."""
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def django_requests_counted(base: str) -> int:
    text = requests.get(base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("django_http_requests_total_by_view_transport_method_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1, help="ON/OFF pairs, alternated")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    if tool == "wrk" and not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk (or --tool python)")
    load = load_wrk if tool == "wrk" else load_python

    db_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or \
        "postgres://postgres@127.0.0.1:5432/weatherapi_bench"
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/4"
    ensure_database(db_url)
    run_id = secrets.token_hex(4)
    workdir = Path(tempfile.mkdtemp(prefix="wxbench-metrics-"))
    env = {
        **{k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "METRICS_", "PROMETHEUS_"))},
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # no TLS terminator in front of it here
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_LEVEL": args.log_level,
        "LOG_FORMAT": "json",
        "CACHE_KEY_PREFIX": f"benchm{run_id}",
        "USAGE_STREAM_KEY": f"wx:bench-metrics:{run_id}",
    }
    run([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
    run([PY, "manage.py", "upsert_plan", "bench", "--name", "Bench", "--requests-per-minute", "100000000",
         "--included", "1000000000", "--overage-per-1000", "0.01"], env)
    key = run([PY, "manage.py", "create_api_key", "--email", "bench-metrics@example.com", "--plan",
               "bench", "--name", "bench metrics"], env).strip().splitlines()[-1]
    assert key.startswith("wx_live_"), "create_api_key did not print a key"

    fake = subprocess.Popen([PY, "-m", "tests.fakes.openweather", "--port", "0", "--api-key", "bench-upstream-key"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
    fake_url = fake.stdout.readline().split()[1]  # type: ignore[union-attr]
    env.update({"OPENWEATHER_BASE_URL": fake_url, "OPENWEATHER_API_KEY": "bench-upstream-key"})

    results: list[tuple[str, dict[str, float], int]] = []
    workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
    threads = int(os.environ.get("GUNICORN_THREADS", "8"))
    try:
        for _ in range(args.rounds):
            for enabled in ("1", "0"):
                prom = workdir / f"prom-{enabled}"
                prom.mkdir(exist_ok=True)
                server = GunicornServer(
                    {**env, "METRICS_ENABLED": enabled, "PROMETHEUS_MULTIPROC_DIR": str(prom)},
                    workers=workers, threads=threads, log_path=workdir / f"gunicorn-{enabled}.log",
                )
                try:
                    server.start()
                    url = server.url + URL_PATH
                    warm = requests.get(url, headers={"X-API-Key": key}, timeout=10)
                    assert warm.status_code == 200, (warm.status_code, warm.text[:300])
                    load(url, key, 2.0, args.connections)  # warm every worker, thread and connection
                    cpu_before = worker_cpu_seconds(server.proc.pid)  # type: ignore[union-attr]
                    result = load(url, key, args.duration, args.connections)
                    cpu = worker_cpu_seconds(server.proc.pid) - cpu_before  # type: ignore[union-attr]
                    result["cpu_ms"] = 1000 * cpu / max(1, result["requests"])
                    counted = django_requests_counted(server.url)
                finally:
                    server.stop()
                results.append(("ON" if enabled == "1" else "OFF", result, counted))
    finally:
        os.killpg(fake.pid, signal.SIGTERM)
        import redis

        client = redis.Redis.from_url(redis_url)
        client.delete(env["USAGE_STREAM_KEY"])
        for name in client.scan_iter(match=f"{env['CACHE_KEY_PREFIX']}:*", count=1000):
            client.delete(name)

    print(f"\nmachine: {os.cpu_count()} cores; load: {tool}, {args.connections} keep-alive connections, "
          f"{args.duration:g} s a run after 2 s warm-up; gunicorn {workers} x {threads} gthread; "
          f"LOG_LEVEL={args.log_level}; GET {URL_PATH} (cache hit, live key, metered)\n")
    print(f"{'metrics':8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'errors':>7} "
          f"{'worker CPU ms/req':>18} {'django-prometheus requests counted':>36}")
    for name, r, counted in results:
        print(f"{name:8} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {int(r['requests']):9d} "
              f"{int(r['errors']):7d} {r['cpu_ms']:18.2f} {counted:36d}")
    on = [r["rps"] for n, r, _ in results if n == "ON"]
    off = [r["rps"] for n, r, _ in results if n == "OFF"]
    on_p50 = statistics.median(r["p50"] for n, r, _ in results if n == "ON")
    off_p50 = statistics.median(r["p50"] for n, r, _ in results if n == "OFF")
    ratio = statistics.median(on) / statistics.median(off)
    print(f"\nmedian req/s ON/OFF = {ratio:.3f} (metrics ON: {100 * (ratio - 1):+.1f}% req/s, "
          f"{on_p50 - off_p50:+.2f} ms median p50)")
    cpu_on = statistics.median(r["cpu_ms"] for n, r, _ in results if n == "ON")
    cpu_off = statistics.median(r["cpu_ms"] for n, r, _ in results if n == "OFF")
    print(f"median worker CPU per request: ON {cpu_on:.2f} ms, OFF {cpu_off:.2f} ms "
          f"({cpu_on - cpu_off:+.2f} ms, {100 * (cpu_on / cpu_off - 1):+.1f}%)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
