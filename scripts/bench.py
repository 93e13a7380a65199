#!/usr/bin/env python
"""Benchmark of the paid path (issue 8): gunicorn with production settings against
PostgreSQL, Redis and the fake upstream, loaded by wrk on the same machine.

    .venv/bin/python scripts/bench.py [--duration 10] [--connections 16] [--rounds 3] [--only 1,2]

Prints requests/second and p50/p99 for:
  1. /healthz (the framework's ceiling here),
  2. a cached /v1/weather/current with an API key (auth, throttles, cache, metering, metrics on),
  3. the same with an OAuth2 bearer token,
  4. cache misses against an upstream with 100 ms latency, distinct locations,
  5. cached hits while 32 other connections wait on a 2-second upstream,
then the ratios (2)/(1) and (5)/(2), per-worker and total RSS, and usage events recorded
against /v1/ requests answered (must be equal). With LOG_LEVEL=INFO it also prints each
scenario's time inside the app (the access lines' latency_ms: the access-log middleware in to out),
so a latency can be split into the app's part and the rest (gunicorn, the kernel, wrk).

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/weatherapi_bench),
BENCH_REDIS_URL (default: a private redis-server on a free port, so the Redis command
count per request is the benchmark's own), GUNICORN_WORKERS/GUNICORN_THREADS/
GUNICORN_WORKER_CLASS to compare configurations. Needs `wrk` (Debian package).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.metrics import counter_per_process  # noqa: E402
from tests.support.procs import backend_pid, cpu_seconds  # noqa: E402
from tests.support.servers import GunicornServer, ensure_database  # noqa: E402

PY = sys.executable

# Every wrk thread has its own Lua state and math.random starts from the same seed, so
# without a seed per scenario and thread the slow connections of (5) would replay (4)'s
# locations and be answered from the cache (they were, before this seed).
MISS_LUA = r"""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
function init(args)
  math.randomseed(SEED * 1000 + (thread_id or 0))
end
counter = 0
request = function()
  counter = counter + 1
  local lat = (math.random() * 160) - 80
  local lon = (math.random() * 340) - 170
  return wrk.format("GET", string.format("/v1/weather/current?lat=%.2f&lon=%.2f", lat, lon))
end
"""


def run(cmd: list[str], env: dict[str, str], **kw) -> str:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True, **kw)
    return result.stdout


def parse_wrk(output: str) -> dict[str, float]:
    def latency_ms(token: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", token).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    p50 = latency_ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = latency_ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rps": rps, "p50": p50, "p99": p99, "requests": total,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
    }


def wrk_threads(connections: int) -> int:
    # wrk needs a connection per thread; -c1 (no contention at all) runs one thread.
    return min(2, connections)


def wrk(url: str, *, duration: int, connections: int, header: str | None = None, script: Path | None = None,
        timeout: str = "10s") -> subprocess.Popen[str]:
    cmd = ["wrk", f"-t{wrk_threads(connections)}", f"-c{connections}", f"-d{duration}s", "--latency", f"--timeout={timeout}"]
    if header:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", str(script)]
    return subprocess.Popen([*cmd, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


def gunicorn_pids(master: int) -> tuple[int, list[int]]:
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return master, [int(c) for c in children]


def v1_responses(base: str) -> int:
    """/v1/ answers the server gave, summed over workers (django-prometheus, multiprocess)."""
    text = requests.get(base + "/metrics", headers={"Authorization": "Bearer bench-metrics-token"}, timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("django_http_responses_total_by_status_view_method_total{"):
            view = re.search(r'view="([^"]*)"', line)
            if view and view.group(1) not in {"healthz", "readyz", "metrics", "<unnamed view>"}:
                total += float(line.rsplit(" ", 1)[1])
    return int(total)


def pids_matching(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


class CpuMeter:
    """CPU seconds per part of the server while a scenario runs: what a request costs the
    machine, whatever else the shared machine is doing (throughput moves with the
    neighbours' load; CPU per request much less)."""

    def __init__(self, parts: dict[str, list[int]]) -> None:
        self.parts = parts

    def read(self) -> dict[str, float]:
        seen = {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.parts.items()}
        # wrk is this script's child: its CPU shows up in the children's usage once reaped.
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        seen["wrk"] = children.ru_utime + children.ru_stime
        return seen

    @staticmethod
    def per_request(before: dict[str, float], after: dict[str, float], requests: float) -> dict[str, float]:
        n = max(1.0, requests)
        return {name: (after[name] - before[name]) / n * 1e6 for name in after}


def answers_per_worker(metrics_dir: Path) -> dict[int, float]:
    """/v1/weather/current answers so far in each worker's own metrics file: how wrk's 16
    keep-alive connections ended up split between the workers (the kernel decides, once,
    at connect time)."""
    return counter_per_process(
        metrics_dir, "django_http_responses_total_by_status_view_method_total", view="weather-current")


class AppLatency:
    """Each scenario's time inside the app, from the access lines gunicorn's log got while
    wrk ran (``latency_ms``: from the access-log middleware in to out, so waits for the GIL
    within the request count; parsing, writing the answer and waits between requests do
    not). Only lines of the scenario's own view and cache outcome are taken: (5) also logs
    the slow connections' misses, and /metrics is read between rounds."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.samples: dict[str, list[float]] = {}

    def mark(self) -> int:
        return self.log_path.stat().st_size

    def take(self, scenario: str, since: int, *, view: str, cache: str | None = None) -> None:
        with self.log_path.open("rb") as log:
            log.seek(since)
            lines = log.read().splitlines()
        found = self.samples.setdefault(scenario, [])
        for line in lines:
            if b'"weatherapi.access"' not in line:
                continue
            try:
                fields = json.loads(line)
            except ValueError:
                continue  # a line cut by the read: the next scenario's window starts after it
            if fields.get("logger") != "weatherapi.access" or fields.get("view") != view:
                continue
            if cache is None or fields.get("cache") == cache:
                found.append(float(fields["latency_ms"]))

    def summary(self) -> str:
        parts = []
        for scenario, values in self.samples.items():
            if values:
                values = sorted(values)
                # Nearest rank: the smallest value with at least q of the samples at or below it.
                p50, p99 = (values[max(0, math.ceil(q * len(values)) - 1)] for q in (0.5, 0.99))
                parts.append(f"({scenario}) p50 {p50:.1f} p99 {p99:.1f}")
        return "; ".join(parts)


def redis_commands(*urls: str) -> dict[str, int]:
    """Calls per command since the servers started (INFO commandstats), summed over the
    servers. Commands a Lua script runs are counted too (GET and INCR inside the throttle's
    EVALSHA)."""
    calls: dict[str, int] = {}
    for url in urls:
        info = subprocess.run(["redis-cli", "-u", url, "INFO", "commandstats"], capture_output=True, text=True,
                              check=True).stdout
        for m in re.finditer(r"cmdstat_([a-z|]+):calls=(\d+)", info):
            calls[m.group(1)] = calls.get(m.group(1), 0) + int(m.group(2))
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--log-level", default="INFO",
                        help="the app's LOG_LEVEL: INFO (production: one access line per request) or WARNING")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate (1) and (2) this many times and report each one's median round")
    parser.add_argument("--metering-store", choices=("durable", "shared"), default="durable",
                        help="durable: the usage stream and counters on a second redis-server with "
                             "appendfsync always (USAGE_REDIS_URL), as production's MemoryDB; shared: on "
                             "the cache's Redis")
    parser.add_argument("--only", default="1,2,3,4,5",
                        help="scenarios to run, e.g. 1,2,5 to compare gunicorn configurations quickly")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")

    db_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weatherapi_bench")
    redis_url = os.environ.get("BENCH_REDIS_URL")
    private_redis = None
    if not redis_url:
        # A private Redis: nobody else's tests flush it, and its command counter is ours alone.
        from tests.support.servers import free_port

        port = free_port()
        private_redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        redis_url = f"redis://127.0.0.1:{port}/0"
        for _ in range(50):
            if subprocess.run(["redis-cli", "-u", redis_url, "PING"], capture_output=True, text=True).stdout.strip() == "PONG":
                break
            time.sleep(0.1)
    ensure_database(db_url)
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="wxbench-"))
    metering_store = None
    if args.metering_store == "durable":
        from tests.support.services import PrivateRedis

        metering_store = PrivateRedis(workdir, durable=True)
        metering_store.start()
    metrics_dir = workdir / "prom"
    metrics_dir.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))},
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        **({"USAGE_REDIS_URL": metering_store.url} if metering_store else {}),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "METRICS_TOKEN": "bench-metrics-token",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        # Production logs one JSON access line per request (INFO); WARNING measures without.
        "LOG_LEVEL": args.log_level,
        "LOG_FORMAT": "json",  # production's, and what AppLatency reads
        "AXES_ENABLED": "1",
    }
    subprocess.run(["redis-cli", "-u", redis_url, "FLUSHDB"], check=True, capture_output=True)
    run([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
    run([PY, "manage.py", "upsert_plan", "bench", "--name", "Bench", "--requests-per-minute", "100000000",
         "--included", "1000000000", "--overage-per-1000", "0.01"], env)
    key = run([PY, "manage.py", "create_api_key", "--email", "bench@example.com", "--plan", "bench", "--name", "bench"], env).strip().splitlines()[-1]
    oauth = dict(line.split("=", 1) for line in run([PY, "manage.py", "create_oauth_client", "--email", "bench@example.com"], env).split())

    fake = subprocess.Popen([PY, "-m", "tests.fakes.openweather", "--port", "0", "--api-key", "bench-upstream-key"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
    fake_url = fake.stdout.readline().split()[1]  # type: ignore[union-attr]
    env.update({"OPENWEATHER_BASE_URL": fake_url, "OPENWEATHER_API_KEY": "bench-upstream-key",
                "OPENWEATHER_READ_TIMEOUT": "5", "COALESCE_WAIT_SECONDS": "8"})

    worker = subprocess.Popen([PY, "manage.py", "usage_worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    server = GunicornServer({k: v for k, v in env.items()},
                            workers=int(os.environ.get("GUNICORN_WORKERS", "2")),
                            # The defaults of gunicorn.conf.py: the configuration that ships.
                            threads=int(os.environ.get("GUNICORN_THREADS", "32")),
                            worker_class=os.environ.get("GUNICORN_WORKER_CLASS"),
                            log_path=workdir / "gunicorn.log")
    app_latency = AppLatency(workdir / "gunicorn.log")
    results: dict[str, dict[str, float]] = {}
    round_ratios: list[float] = []
    rounds: dict[str, list[dict[str, float]]] = {}
    try:
        server.start()
        base = server.url
        token = requests.post(base + "/o/token/", data={"grant_type": "client_credentials"},
                              auth=(oauth["client_id"], oauth["client_secret"]), timeout=10).json()["access_token"]
        cached = base + "/v1/weather/current?lat=51.51&lon=-0.13"
        for header in (f"X-API-Key: {key}", f"Authorization: Bearer {token}"):
            name, value = header.split(": ", 1)
            assert requests.get(cached, headers={name: value}, timeout=10).status_code == 200

        import django

        os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS")})
        os.environ["DJANGO_SETTINGS_MODULE"] = "weatherapi.settings"
        django.setup()
        from billing.models import UsageEvent

        def settle() -> int:
            # The usage worker flushes the stream; wait until the count stops moving.
            last, stable = -1, 0
            while stable < 3:
                time.sleep(0.5)
                now = UsageEvent.objects.count()
                stable = stable + 1 if now == last else 0
                last = now
            return last

        redis_urls = [redis_url, *([metering_store.url] if metering_store else [])]
        d, c = args.duration, args.connections
        only = {s.strip() for s in args.only.split(",")}
        # Warm-up (not measured, before the event count starts): every thread's Redis and
        # database connections, the credential copies, the script cache.
        wrk(cached, duration=3, connections=c, header=f"X-API-Key: {key}").communicate()
        wrk(cached, duration=2, connections=c, header=f"Authorization: Bearer {token}").communicate()
        before = settle()
        answered_before = v1_responses(base)
        # (1) and (2) alternate for --rounds rounds and each reports its median round: the
        # shared machine's speed drifts by tens of percent over a minute, and the ratio
        # should compare the two paths, not two moments.
        rounds = {"1 healthz": [], "2 cached, API key": []}
        cpu: dict[str, list[dict[str, float]]] = {"1 healthz": [], "2 cached, API key": []}
        splits: list[list[int]] = []
        _, worker_pids = gunicorn_pids(server.proc.pid)  # type: ignore[union-attr]
        from django.db import connection

        own_backend = backend_pid(connection)
        redis_pids = [private_redis.pid] if private_redis is not None else []
        if metering_store is not None and metering_store.proc is not None:
            redis_pids.append(metering_store.proc.pid)
        meter = CpuMeter({
            "gunicorn": worker_pids,
            "redis": redis_pids,
            "usage worker": [worker.pid],
            # The server's backends (the usage worker's, the web workers'), not this script's:
            # its settle() counts the events table after every round of (2).
            "postgres": [pid for pid in pids_matching(f"postgres: .*{db_url.rsplit('/', 1)[1]}") if pid != own_backend],
        })
        for _ in range(args.rounds):
            if "1" in only:
                settle()
                cpu_before = meter.read()
                since = app_latency.mark()
                r1 = parse_wrk(wrk(base + "/healthz", duration=d, connections=c).communicate()[0])
                app_latency.take("1", since, view="healthz")
                rounds["1 healthz"].append(r1)
                cpu["1 healthz"].append(meter.per_request(cpu_before, meter.read(), r1["requests"]))
            if "2" in only:
                settle()
                # Redis commands the server processed per answer (the usage worker's reads add
                # a few per 1,000): the hot path's round trips, seen from Redis's side.
                commands_before = redis_commands(*redis_urls)
                split_before = answers_per_worker(metrics_dir)
                cpu_before = meter.read()
                since = app_latency.mark()
                r2 = parse_wrk(wrk(cached, duration=d, connections=c, header=f"X-API-Key: {key}").communicate()[0])
                app_latency.take("2", since, view="weather-current", cache="hit")
                # The events of (2) are stored while the next settle() waits: count the
                # worker's and PostgreSQL's share after it, against (2)'s requests.
                settle()
                cpu["2 cached, API key"].append(meter.per_request(cpu_before, meter.read(), r2["requests"]))
                split_after = answers_per_worker(metrics_dir)
                served = sorted((v - split_before.get(pid, 0.0) for pid, v in split_after.items()), reverse=True)
                splits.append([round(100 * v / max(1.0, sum(served))) for v in served])
                commands_after = redis_commands(*redis_urls)
                rounds["2 cached, API key"].append(r2)
                n = max(1, r2["requests"])
                redis_per_request = {k: (v - commands_before.get(k, 0)) / n for k, v in commands_after.items()
                                     if (v - commands_before.get(k, 0)) / n >= 0.01}
        for name, runs in rounds.items():
            if runs:
                results[name] = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
        if args.rounds > 1 and all(rounds.values()):
            round_ratios = [b["rps"] / a["rps"] for a, b in zip(rounds["1 healthz"], rounds["2 cached, API key"], strict=True)]
        if "3" in only:
            # Every scenario starts with the usage worker idle: otherwise it drains the
            # previous scenario's events on the same two cores (it cut (3) to half of (2)).
            settle()
            since = app_latency.mark()
            results["3 cached, OAuth2"] = parse_wrk(wrk(cached, duration=d, connections=c, header=f"Authorization: Bearer {token}").communicate()[0])
            app_latency.take("3", since, view="weather-current", cache="hit")
        lua = workdir / "miss.lua"
        lua.write_text(MISS_LUA.replace("SEED", str(int(time.time()) % 100_000)))
        lua_slow = workdir / "miss-slow.lua"
        lua_slow.write_text(MISS_LUA.replace("SEED", str(int(time.time()) % 100_000 + 1)))
        if "4" in only:
            settle()
            requests.post(fake_url + "/__fake__/fault", json={"kind": "latency", "latency": 0.1}, timeout=5)
            since = app_latency.mark()
            results["4 misses, 100 ms upstream"] = parse_wrk(
                wrk(base, duration=d, connections=c, header=f"X-API-Key: {key}", script=lua).communicate()[0])
            app_latency.take("4", since, view="weather-current", cache="miss")
        if "5" in only:
            settle()
            requests.post(fake_url + "/__fake__/fault", json={"kind": "latency", "latency": 2.0}, timeout=5)
            slow = wrk(base, duration=d + 4, connections=32, header=f"X-API-Key: {key}", script=lua_slow)
            time.sleep(2)  # let the slow connections occupy the workers first
            since = app_latency.mark()
            results["5 cached during slow upstream"] = parse_wrk(
                wrk(cached, duration=d, connections=c, header=f"X-API-Key: {key}").communicate()[0])
            app_latency.take("5", since, view="weather-current", cache="hit")
            results["  (the 32 slow connections)"] = parse_wrk(slow.communicate()[0])
        requests.post(fake_url + "/__fake__/reset", timeout=5)
        master, workers = gunicorn_pids(server.proc.pid)  # type: ignore[union-attr]
        worker_rss = [rss_kb(p) for p in workers]
        master_rss = rss_kb(master)
        time.sleep(3)  # in-flight slow requests finish after wrk stops reading
        after = settle()
        v1_answered = v1_responses(base) - answered_before
    finally:
        server.stop()
        if metering_store is not None:
            metering_store.kill()
        for proc in (worker, fake, private_redis):
            if proc is None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    load = os.getloadavg()
    mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    print(f"\nmachine: {os.cpu_count()} cores, {mem_mb} MB; load average before {load_before[0]:.2f}, "
          f"after {load[0]:.2f} (1 min); wrk -t{wrk_threads(args.connections)} -c{args.connections} -d{args.duration}s; "
          f"gunicorn {server.env['GUNICORN_WORKERS']} workers x {server.env['GUNICORN_THREADS']} threads "
          f"({server.env.get('GUNICORN_WORKER_CLASS', 'gunicorn.conf.py default')}); LOG_LEVEL={args.log_level}; "
          f"metering store: {args.metering_store}\n")
    print(f"{'scenario':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'non-2xx':>8} {'sock err':>8}")
    for name, r in results.items():
        print(f"{name:34} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {int(r['requests']):9d} "
              f"{int(r['non2xx']):8d} {int(r['socket_errors']):8d}")
    rps = {name.split()[0]: r["rps"] for name, r in results.items() if name[0].isdigit()}
    print()
    if "1" in rps and "2" in rps:
        print(f"ratio (2)/(1) = {rps['2'] / rps['1']:.2f}   (target >= 0.6)")
        if round_ratios:
            print("  per round (1) req/s, (2) req/s, ratio: " + "; ".join(
                f"{a['rps']:.0f}, {b['rps']:.0f}, {r:.2f}" for a, b, r in
                zip(rounds["1 healthz"], rounds["2 cached, API key"], round_ratios, strict=True)))
    if splits:
        print("(2) per round, answers per worker % and p99 ms: " + "; ".join(
            f"{'/'.join(map(str, split))} {r['p99']:.1f}" for split, r in zip(splits, rounds["2 cached, API key"], strict=True)))
    medians = {name: {part: sorted(r[part] for r in runs)[len(runs) // 2] for part in runs[0]}
               for name, runs in cpu.items() if runs}
    if medians:
        print("CPU per request, microseconds (median round; the usage worker's and PostgreSQL's share of (2) "
              "includes storing its events):")
        for name, parts in medians.items():
            total = sum(parts.values())
            print(f"  {name:20} total {total:6.0f}: " + ", ".join(f"{part} {v:.0f}" for part, v in parts.items()))
        for name, runs in cpu.items():
            if len(runs) > 1:
                print(f"  {name:20} per round: " + "; ".join(
                    ", ".join(f"{part} {v:.0f}" for part, v in r.items() if v >= 1) for r in runs))
        if len(medians) == 2:
            c1, c2 = (sum(parts.values()) for parts in medians.values())
            print(f"  CPU ratio (1)/(2) = {c1 / c2:.2f}: the throughput ratio when the machine is the limit")
    if in_app := app_latency.summary():  # nothing without access lines (--log-level WARNING)
        print("time inside the app, ms (access lines' latency_ms, pooled over rounds; the rest of wrk's latency "
              "is gunicorn, waits between requests, the kernel and wrk): " + in_app)
    if "2" in rps and "5" in rps:
        print(f"ratio (5)/(2) = {rps['5'] / rps['2']:.2f}   (target >= 0.5)")
    if "2" in rps:
        print("Redis commands per cached request (server side, scenario 2; GET/INCR include the ones "
              "inside the throttle script): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(redis_per_request.items())))
    print(f"RSS: master {master_rss / 1024:.0f} MB, workers {[round(w / 1024) for w in worker_rss]} MB, "
          f"total {(master_rss + sum(worker_rss)) / 1024:.0f} MB   (target <= 600 MB)")
    recorded = after - before
    verdict = "equal" if recorded == v1_answered else "NOT EQUAL"
    print(f"usage events recorded {recorded} vs /v1/ requests answered {v1_answered} "
          f"(server-side response counter): {verdict}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
