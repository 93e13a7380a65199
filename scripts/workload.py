#!/usr/bin/env python
"""A realistic day of traffic and what each kind of request costs (issue 23, items 1 and 3).

    .venv/bin/python scripts/workload.py [--seed 23] [--day-rps 1000] [--generate-only]
                                         [--duration 8] [--out var/capacity/unit-costs.json]

1. **The day** (seeded, printed as a summary): accounts on each plan with a heavy-tailed
   volume, keys per account, places drawn from the sandbox's gazetteer (34,000 real cities of
   15,000+ people) with a popularity proportional to their population (a Zipf-like law:
   city sizes follow one), given as the city's own coordinates or as a phone's position near
   it, in a units/language mix; an endpoint mix (current, forecast, geocode, reverse geocode,
   air quality, account, batches of ~20 items, jobs of ~250 items); a diurnal curve and
   bursts minute by minute. The key popularity is kept as a histogram, from which the cache
   hit ratio at any request rate follows (a key asked λ times a second with a TTL of T
   seconds is fetched once per TTL window: hit ratio λT / (1 + λT), summed over the keys
   and the day's hours; coordinates rounded to 0.01° as ``forecasts/locations.py`` does).

2. **The replay**: a sample of the day through the real stack on this machine, as
   ``scripts/bench.py`` runs it: gunicorn with ``gunicorn.conf.py`` and the production
   settings (``DJANGO_DEBUG=0``, JSON access log at INFO), pinned to CPU 0 as one pod with
   a 1-vCPU limit; a private ``redis-server`` as the cache and a durable one
   (``appendfsync always``) as the metering store; PostgreSQL ``weatherapi_capacity``; the
   fake OpenWeather with a fixed latency (``--upstream-latency``, 80 ms); the usage worker;
   the jobs worker for job items. Each request type is replayed alone by wrk from a request
   file (a Lua script), warm (cache hits) and cold (unique keys: misses), and its deltas are
   read: CPU per request of each process (``/proc``), Redis commands and bytes (``INFO
   commandstats`` / ``INFO stats``), PostgreSQL transactions and rows (``pg_stat_database``),
   usage events stored, upstream calls (the fake's counter). Costs are per request (batch
   and job: per request and per item).

3. **The check** (item 3): a mixed sample replayed warm, at a fixed offered load (wrk's
   ``delay``) and then flat out, against the prediction from the per-type costs: gunicorn's
   CPU at that load, and the throughput of one pod (1 vCPU = CPU 0) at saturation.

Output: ``var/capacity/unit-costs.json`` (read by ``scripts/capacity.py``) and printed tables.
The 1-minute load average is printed with every measurement; before each one the script
waits (up to 10 minutes, polling every 30 s) for it to fall below ``--max-load`` (0.7).
Traffic stays on 127.0.0.1. Needs ``wrk``, ``redis-server``, PostgreSQL on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import random
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PY = sys.executable
DEFAULT_OUT = ROOT / "var" / "capacity" / "unit-costs.json"

# ----------------------------------------------------------------------------- the day's model
# Assumptions, not measurements: what a public weather API's traffic looks like. Each is
# a constant so that the summary, capacity.py and docs/capacity.md name the same numbers.

# plan: share of accounts, share of traffic, keys per account (min, max), mean requests/s of
# one account of that plan (traffic share / accounts follows from it at any scale)
PLANS: dict[str, dict[str, Any]] = {
    "free": {"traffic": 0.20, "keys": (1, 1), "account_rps": 0.003},       # ~260 a day
    "developer": {"traffic": 0.35, "keys": (1, 3), "account_rps": 0.12},   # ~10,000 a day
    "business": {"traffic": 0.45, "keys": (2, 8), "account_rps": 2.0},     # ~170,000 a day
}
# Share of HTTP requests by type. batch/job are one request each carrying items.
ENDPOINT_MIX: dict[str, float] = {
    "current": 0.46, "forecast": 0.24, "geocode": 0.07, "reverse": 0.04, "air": 0.10,
    "account": 0.029, "batch": 0.02, "job": 0.001,
}
BATCH_ITEMS = (5, 35)     # uniform: mean 20 items a batch
JOB_ITEMS = (50, 450)     # uniform: mean 250 items a job
ITEM_MIX = {"current": 0.5, "forecast": 0.3, "air": 0.2}  # what batch and job items ask for
# How a place is given: the city's own coordinates (apps with a city list) or a phone's
# position near it (GPS_SPAN degrees either way: (2 * span / 0.01)^2 cells after rounding).
CANONICAL_SHARE = 0.55
GPS_SPAN = 0.10
GPS_CELLS = round((2 * GPS_SPAN / 0.01) ** 2)
UNITS = {"metric": 0.70, "imperial": 0.25, "standard": 0.05}
LANGS = {"en": 0.85, "es": 0.05, "de": 0.04, "fr": 0.03, "pt_br": 0.03}
POPULARITY_EXPONENT = 1.0  # popularity ∝ population ** this
# Diurnal curve: users concentrated in Europe and the Americas, peak at 15:00 UTC.
DIURNAL_AMPLITUDE = 0.45
PEAK_HOUR_UTC = 15
BURSTS_PER_DAY = 40        # a business account's batch run or a client's retry storm
BURST_SIZE = (0.05, 0.35)  # extra traffic during the burst minute, share of that minute's rate
# The cache TTLs of settings.py / k8s/base/configmap.yaml (seconds), by cache key type.
TTLS = {"current": 600, "forecast": 1800, "air": 1800, "geocode": 86400, "reverse": 86400}
BATCH_SAMPLE = 120
HIT_TYPES = ("current", "forecast", "geocode", "reverse", "air")
MISS_TYPES = HIT_TYPES


def hourly_factors() -> list[float]:
    """The day's rate each hour, as a multiple of the mean (they average 1)."""
    raw = [1 + DIURNAL_AMPLITUDE * math.cos(2 * math.pi * (h - PEAK_HOUR_UTC) / 24) for h in range(24)]
    mean = sum(raw) / 24
    return [r / mean for r in raw]


def minute_factors(rng: random.Random) -> list[float]:
    """Each minute's rate as a multiple of the day's mean: the diurnal curve, Poisson-like
    noise and the bursts."""
    hours = hourly_factors()
    minutes = []
    for m in range(1440):
        h, frac = divmod(m / 60, 1)
        a, b = hours[int(h)], hours[(int(h) + 1) % 24]
        minutes.append((a + (b - a) * frac) * rng.gauss(1.0, 0.03))
    for _ in range(BURSTS_PER_DAY):
        m = rng.randrange(1440)
        minutes[m] *= 1 + rng.uniform(*BURST_SIZE)
    return minutes


@dataclass
class Places:
    names: list[str]
    countries: list[str]
    lats: list[float]
    lons: list[float]
    weights: list[float]  # popularity, summing to 1
    cumulative: list[float] = field(default_factory=list)

    @classmethod
    def load(cls) -> Places:
        from forecasts.providers.sandbox.gazetteer import get_gazetteer

        gazetteer = get_gazetteer()
        cities = [gazetteer.place(i) for i in range(len(gazetteer))]
        raw = [float(p.population) ** POPULARITY_EXPONENT for p in cities]
        total = sum(raw)
        places = cls([p.name for p in cities], [p.country for p in cities], [p.lat for p in cities],
                     [p.lon for p in cities], [w / total for w in raw])
        acc = 0.0
        for w in places.weights:
            acc += w
            places.cumulative.append(acc)
        return places

    def draw(self, rng: random.Random) -> int:
        return min(bisect.bisect_left(self.cumulative, rng.random()), len(self.names) - 1)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def key_histogram(places: Places, kind: str) -> list[tuple[float, int]]:
    """The popularity of every distinct cache key of ``kind`` (the share of that kind's
    requests asking for it), as (probability, number of keys) in log-spaced bins: what the
    hit ratio at any rate is computed from (capacity.py)."""
    bins: dict[int, list[float]] = {}

    def add(p: float, count: int) -> None:
        if p <= 0:
            return
        b = math.floor(math.log10(p) * 20)
        slot = bins.setdefault(b, [0.0, 0.0])
        slot[0] += p * count
        slot[1] += count

    variants: list[float]
    if kind in ("current", "forecast"):
        variants = [pu * pl for pu in UNITS.values() for pl in LANGS.values()]
    else:
        variants = [1.0]
    for w in places.weights:
        if kind == "geocode":
            add(w, 1)
            continue
        for v in variants:
            add(w * CANONICAL_SHARE * v, 1)
            add(w * (1 - CANONICAL_SHARE) * v / GPS_CELLS, GPS_CELLS)
    # Each bin as its mean probability and its count: sum(p * n) stays 1.
    return sorted(((mass / n, int(n)) for mass, n in bins.values()), reverse=True)


def hit_ratio(histogram: list[tuple[float, int]], rate: float, ttl: float, hours: list[float] | None = None) -> float:
    """Share of requests answered from the cache when ``rate`` requests/s of one kind spread
    over the keys of ``histogram`` (a fetch per key per TTL window), over the day's hours."""
    hours = hours or [1.0] * 24
    hits = asked = 0.0
    for f in hours:
        lam = rate * f
        for p, n in histogram:
            x = lam * p * ttl
            hits += n * lam * p * (x / (1 + x))
        asked += lam
    return hits / asked if asked else 0.0


# ----------------------------------------------------------------------------- requests


def location_params(rng: random.Random, places: Places, i: int) -> dict[str, str]:
    lat, lon = places.lats[i], places.lons[i]
    if rng.random() >= CANONICAL_SHARE:
        lat += rng.uniform(-GPS_SPAN, GPS_SPAN)
        lon += rng.uniform(-GPS_SPAN, GPS_SPAN)
    lat = max(-90.0, min(90.0, lat))
    lon = ((lon + 180) % 360) - 180
    return {"lat": f"{lat:.4f}", "lon": f"{lon:.4f}"}


def weather_params(rng: random.Random, places: Places, kind: str) -> dict[str, str]:
    i = places.draw(rng)
    params = location_params(rng, places, i)
    if kind in ("current", "forecast"):
        params["units"] = _pick(rng, UNITS)
        params["lang"] = _pick(rng, LANGS)
    return params


PATHS = {"current": "/v1/weather/current", "forecast": "/v1/weather/forecast", "geocode": "/v1/geocode",
         "reverse": "/v1/geocode/reverse", "air": "/v1/air-quality", "account": "/v1/account"}
ITEM_ENDPOINT = {"current": "weather/current", "forecast": "weather/forecast", "air": "air-quality"}


def make_request(rng: random.Random, places: Places, kind: str) -> tuple[str, str, str]:
    """(method, path with query, JSON body or "")."""
    from urllib.parse import urlencode

    if kind in ("current", "forecast", "reverse", "air"):
        return "GET", PATHS[kind] + "?" + urlencode(weather_params(rng, places, kind)), ""
    if kind == "geocode":
        i = places.draw(rng)
        return "GET", PATHS[kind] + "?" + urlencode({"q": f"{places.names[i]},{places.countries[i]}"}), ""
    if kind == "account":
        return "GET", PATHS[kind], ""
    n = rng.randint(*(BATCH_ITEMS if kind == "batch" else JOB_ITEMS))
    items = []
    for j in range(n):
        item_kind = _pick(rng, ITEM_MIX)
        items.append({"id": f"i{j}", "endpoint": ITEM_ENDPOINT[item_kind],
                      "params": weather_params(rng, places, item_kind)})
    return "POST", "/v1/batch" if kind == "batch" else "/v1/jobs", json.dumps({"requests": items}, separators=(",", ":"))


def miss_request(rng: random.Random, kind: str, n: int) -> tuple[str, str, str]:
    """A request whose cache key nobody asked for: random coordinates on a 0.01° grid, a
    made-up place name (the fake answers [] as OpenWeather does for an unknown one)."""
    lat, lon = rng.uniform(-70, 70), rng.uniform(-179, 179)
    if kind == "geocode":
        return "GET", f"/v1/geocode?q=Nowhere{n}x{rng.randrange(10**9)},GB", ""
    return "GET", f"{PATHS[kind]}?lat={lat:.2f}&lon={lon:.2f}", ""


# ----------------------------------------------------------------------------- the day summary


def build_day(seed: int, day_rps: float, places: Places) -> dict[str, Any]:
    rng = random.Random(seed)
    minutes = minute_factors(rng)
    hours = hourly_factors()
    accounts: dict[str, int] = {}
    keys: dict[str, int] = {}
    for plan, spec in PLANS.items():
        n = max(1, round(day_rps * spec["traffic"] / spec["account_rps"]))
        accounts[plan] = n
        lo, hi = spec["keys"]
        sampled = min(n, 20_000)
        keys[plan] = round(sum(rng.randint(lo, hi) for _ in range(sampled)) / sampled * n)
    mean_items = {"batch": sum(BATCH_ITEMS) / 2, "job": sum(JOB_ITEMS) / 2}
    items_per_request = {k: ENDPOINT_MIX[k] * mean_items[k] for k in mean_items}
    # Cache lookups per HTTP request of each cache kind (direct requests plus batch and job items).
    lookups = {k: ENDPOINT_MIX.get(k, 0.0) for k in HIT_TYPES}
    for k, share in ITEM_MIX.items():
        lookups[k] += share * sum(items_per_request.values())
    histograms = {k: key_histogram(places, k) for k in HIT_TYPES}
    peak_hour = max(hours)
    hit_at = {}
    for scale in (day_rps, 1000.0, 10_000.0, 100_000.0):
        hit_at[str(int(scale))] = {k: hit_ratio(histograms[k], scale * lookups[k], TTLS[k], hours) for k in HIT_TYPES}
    return {
        "seed": seed, "day_rps": day_rps,
        "requests_per_day": day_rps * 86400,
        "hourly_factors": hours, "peak_hour_over_mean": peak_hour,
        "peak_minute_over_mean": max(minutes), "peak_minute_over_peak_hour": max(minutes) / peak_hour,
        "accounts": accounts, "keys": keys,
        "endpoint_mix": ENDPOINT_MIX, "item_mix": ITEM_MIX, "items_per_request": items_per_request,
        "cache_lookups_per_request": lookups,
        "distinct_keys": {k: sum(n for _, n in histograms[k]) for k in HIT_TYPES},
        "key_histograms": {k: [[p, n] for p, n in h] for k, h in histograms.items()},
        "ttls": TTLS, "hit_ratio_at_rps": hit_at,
        "assumptions": {"plans": PLANS, "canonical_share": CANONICAL_SHARE, "gps_span_deg": GPS_SPAN,
                        "units": UNITS, "langs": LANGS, "popularity_exponent": POPULARITY_EXPONENT,
                        "diurnal_amplitude": DIURNAL_AMPLITUDE, "bursts_per_day": BURSTS_PER_DAY},
    }


def print_day(day: dict[str, Any]) -> None:
    rps = day["day_rps"]
    print(f"\nThe day (seed {day['seed']}), at a mean of {rps:,.0f} requests/s: {day['requests_per_day']:,.0f} requests")
    print("  hourly rate / mean (UTC 00..23): " + " ".join(f"{f:.2f}" for f in day["hourly_factors"]))
    print(f"  peak hour / mean {day['peak_hour_over_mean']:.2f}; peak minute / mean {day['peak_minute_over_mean']:.2f}; "
          f"peak minute / peak hour {day['peak_minute_over_peak_hour']:.2f}")
    print("  accounts: " + ", ".join(f"{p} {n:,}" for p, n in day["accounts"].items())
          + "; keys: " + ", ".join(f"{p} {n:,}" for p, n in day["keys"].items()))
    print("  endpoint mix (share of HTTP requests): " + ", ".join(f"{k} {v:.1%}" for k, v in day["endpoint_mix"].items()))
    print("  items per HTTP request: " + ", ".join(f"{k} {v:.2f}" for k, v in day["items_per_request"].items())
          + f"; item mix {day['item_mix']}")
    print("  distinct cache keys: " + ", ".join(f"{k} {v:,}" for k, v in day["distinct_keys"].items()))
    print("  cache hit ratio over the day (one region, TTLs " + ", ".join(f"{k} {v}s" for k, v in day["ttls"].items()) + "):")
    for scale, ratios in day["hit_ratio_at_rps"].items():
        print(f"    {int(scale):>7,} req/s: " + ", ".join(f"{k} {v:.1%}" for k, v in ratios.items()))


# ----------------------------------------------------------------------------- measurement

WRK_LUA = r"""
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  thread:set("nthreads", NTHREADS)
end
function init(args)
  reqs = {}
  local n = 0
  for line in io.lines("FILE") do
    local m, p, k, b = line:match("^(%S+)\t(%S+)\t(%S+)\t?(.*)$")
    local headers = {["X-API-Key"] = k}
    if b ~= nil and b ~= "" then headers["Content-Type"] = "application/json" else b = nil end
    n = n + 1
    reqs[n] = wrk.format(m, p, headers, b)
  end
  total = n
  i = tid - nthreads
end
request = function()
  i = i + nthreads
  if i > total then i = tid end
  return reqs[i]
end
DELAY_FN
"""


def load1() -> float:
    return os.getloadavg()[0]


def wait_for_quiet(max_load: float, *, wait_s: float = 600, poll_s: float = 30) -> float:
    """Wait until the 1-minute load average is below ``max_load`` (at most ``wait_s``);
    returns the load seen last. Our own servers idle between phases."""
    deadline = time.monotonic() + wait_s
    while True:
        now = load1()
        if now < max_load or time.monotonic() >= deadline:
            return now
        print(f"  load {now:.2f} >= {max_load}: waiting", flush=True)
        time.sleep(poll_s)


def redis_info(url: str) -> dict[str, float]:
    import redis

    client = redis.Redis.from_url(url)
    info: dict[str, float] = {}
    for name, stats in client.info("commandstats").items():
        info["cmd:" + name.removeprefix("cmdstat_")] = float(stats["calls"])
    stats = client.info("stats")
    memory = client.info("memory")
    info["net_in"] = float(stats["total_net_input_bytes"])
    info["net_out"] = float(stats["total_net_output_bytes"])
    info["used_memory"] = float(memory["used_memory"])
    return info


def pg_stats(db_url: str) -> dict[str, float]:
    import psycopg

    name = db_url.rsplit("/", 1)[1]
    with psycopg.connect(db_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, tup_fetched, blks_hit + blks_read "
            "FROM pg_stat_database WHERE datname = %s", (name,)).fetchone()
    assert row is not None  # noqa: S101
    return dict(zip(("xact_commit", "tup_inserted", "tup_updated", "tup_deleted", "tup_fetched", "blocks"),
                    (float(v) for v in row), strict=True))


@dataclass
class Stack:
    db_url: str
    cache_url: str
    meter_url: str
    fake_url: str
    base: str
    pids: dict[str, list[int]]
    usage_worker: subprocess.Popen[bytes]
    env: dict[str, str]

    def cpu(self) -> dict[str, float]:
        from tests.support.procs import cpu_seconds

        out = {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.pids.items()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["client"] = children.ru_utime + children.ru_stime  # wrk, jobs_worker --until-empty
        return out

    def upstream_calls(self) -> float:
        import requests

        return float(requests.get(self.fake_url + "/__fake__/calls", timeout=5).json()["total"])

    def usage_events(self) -> float:
        from billing.models import UsageEvent

        return float(UsageEvent.objects.count())

    def snapshot(self) -> dict[str, Any]:
        return {"cpu": self.cpu(), "cache": redis_info(self.cache_url), "meter": redis_info(self.meter_url),
                "pg": pg_stats(self.db_url), "upstream": self.upstream_calls(), "events": self.usage_events(),
                "t": time.monotonic()}

    def settle(self) -> None:
        """Wait until the usage worker has stored everything (the count stops moving)."""
        last, stable = -1.0, 0
        while stable < 3:
            time.sleep(0.5)
            now = self.usage_events()
            stable = stable + 1 if now == last else 0
            last = now
        time.sleep(0.7)  # pg_stat_database: backends report their counters when idle


def deltas(before: dict[str, Any], after: dict[str, Any], n: float) -> dict[str, Any]:
    """Per-request costs between two snapshots, over ``n`` requests."""
    n = max(1.0, n)
    out: dict[str, Any] = {"cpu_us": {k: (after["cpu"][k] - before["cpu"][k]) / n * 1e6 for k in after["cpu"]}}
    for store in ("cache", "meter"):
        a, b = after[store], before[store]
        cmds = {k[4:]: (a[k] - b.get(k, 0.0)) / n for k in a if k.startswith("cmd:") and a[k] - b.get(k, 0.0) > 0}
        out[store] = {"commands": sum(cmds.values()), "by_command": {k: round(v, 3) for k, v in cmds.items() if v >= 0.01},
                      "bytes_in": (a["net_in"] - b["net_in"]) / n, "bytes_out": (a["net_out"] - b["net_out"]) / n}
    out["pg"] = {k: (after["pg"][k] - before["pg"][k]) / n for k in after["pg"]}
    out["upstream_calls"] = (after["upstream"] - before["upstream"]) / n
    out["usage_events"] = (after["events"] - before["events"]) / n
    return out


def parse_wrk(output: str) -> dict[str, float]:
    def ms(token: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", token).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    m = re.search(r"(\d+) requests in", output)
    if m is None:
        raise RuntimeError("wrk failed:\n" + output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {"requests": float(m.group(1)),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
            "p50_ms": ms(re.search(r"\s50%\s+(\S+)", output).group(1)),  # type: ignore[union-attr]
            "p99_ms": ms(re.search(r"\s99%\s+(\S+)", output).group(1)),  # type: ignore[union-attr]
            "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
            "socket_errors": float(sum(int(x) for x in errors.groups())) if errors else 0.0}


def write_requests(path: Path, rows: list[tuple[str, str, str]], keys: list[str], rng: random.Random) -> Path:
    with path.open("w") as f:
        for method, target, body in rows:
            f.write(f"{method}\t{target}\t{rng.choice(keys)}\t{body}\n")
    return path


def run_wrk(workdir: Path, stack: Stack, request_file: Path, *, duration: float, connections: int,
            delay_ms: float = 0.0) -> dict[str, float]:
    threads = 2 if connections >= 2 else 1
    lua = workdir / f"{request_file.stem}-{int(delay_ms)}.lua"
    delay_fn = f"function delay() return {delay_ms} end" if delay_ms > 0 else ""
    lua.write_text(WRK_LUA.replace("FILE", str(request_file)).replace("NTHREADS", str(threads))
                   .replace("DELAY_FN", delay_fn))
    # wrk on CPU 1 with the rest of the stack; gunicorn alone on CPU 0 (one pod, 1 vCPU).
    cmd = ["taskset", "-c", "1", "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
           "--timeout=10s", "-s", str(lua), stack.base]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def pin(pid: int, cpus: str) -> None:
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], capture_output=True, check=False)


def start_stack(workdir: Path, args: argparse.Namespace) -> tuple[Stack, list[Any]]:
    from tests.support.servers import GunicornServer, ensure_database
    from tests.support.services import PrivateRedis

    db_url = args.database_url
    ensure_database(db_url)
    cache = PrivateRedis(workdir)
    cache.start()
    meter = PrivateRedis(workdir, durable=True)
    meter.start()
    metrics_dir = workdir / "prom"
    metrics_dir.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "USAGE_REDIS"))},
        "DATABASE_URL": db_url, "REDIS_URL": cache.url, "USAGE_REDIS_URL": meter.url,
        "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_SECURE_SSL_REDIRECT": "0",
        "METRICS_TOKEN": "capacity-metrics-token", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_LEVEL": "INFO", "LOG_FORMAT": "json", "AXES_ENABLED": "1",
        "MAX_API_KEYS_PER_ACCOUNT": "20",
    }
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    fake = subprocess.Popen([PY, "-m", "tests.fakes.openweather", "--port", "0", "--api-key", "capacity-upstream-key",
                             "--latency", str(args.upstream_latency)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
    fake_url = fake.stdout.readline().split()[1]  # type: ignore[union-attr]
    env.update({"OPENWEATHER_BASE_URL": fake_url, "OPENWEATHER_API_KEY": "capacity-upstream-key",
                "OPENWEATHER_READ_TIMEOUT": "5", "COALESCE_WAIT_SECONDS": "8",
                "OPENWEATHER_CALLS_PER_MINUTE": "0"})
    worker = subprocess.Popen([PY, "manage.py", "usage_worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    server = GunicornServer(env, workers=2, threads=32, log_path=workdir / "gunicorn.log")
    server.start()
    master = server.proc.pid  # type: ignore[union-attr]
    workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()]
    for pid in [master, *workers]:
        pin(pid, "0")
    for proc in (cache.proc, meter.proc, fake, worker):
        pin(proc.pid, "1")  # type: ignore[union-attr]
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "USAGE_REDIS_URL", "DJANGO_DEBUG",
                                           "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "weatherapi.settings"
    import django

    django.setup()
    from django.db import connection

    from tests.support.procs import backend_pid

    own = backend_pid(connection)
    dbname = db_url.rsplit("/", 1)[1]
    pg_pids = [int(p) for p in subprocess.run(["pgrep", "-f", f"postgres: .*{dbname}"], capture_output=True,
                                              text=True).stdout.split() if int(p) != own]
    stack = Stack(db_url=db_url, cache_url=cache.url, meter_url=meter.url, fake_url=fake_url, base=server.url,
                  pids={"gunicorn": workers + [master], "redis_cache": [cache.proc.pid],  # type: ignore[union-attr]
                        "redis_meter": [meter.proc.pid], "usage_worker": [worker.pid],  # type: ignore[union-attr]
                        "postgres": pg_pids, "upstream_fake": [fake.pid]},
                  usage_worker=worker, env=env)
    return stack, [server, cache, meter, fake, worker]


def refresh_pg_pids(stack: Stack) -> None:
    from django.db import connection

    from tests.support.procs import backend_pid

    own = backend_pid(connection)
    dbname = stack.db_url.rsplit("/", 1)[1]
    stack.pids["postgres"] = [int(p) for p in subprocess.run(["pgrep", "-f", f"postgres: .*{dbname}"],
                                                             capture_output=True, text=True).stdout.split()
                              if int(p) != own]


def create_keys(stack: Stack, accounts: int, rng: random.Random) -> list[str]:
    subprocess.run([PY, "manage.py", "upsert_plan", "capacity", "--name", "Capacity", "--requests-per-minute",
                    "100000000", "--included", "1000000000", "--overage-per-1000", "0.01"],
                   cwd=ROOT, env=stack.env, check=True, capture_output=True)
    from accounts.services import account_get_or_create_for_email, api_key_create
    from billing.models import Plan
    from billing.services import subscription_change

    plan = Plan.objects.get(code="capacity")
    keys = []
    for a in range(accounts):
        account = account_get_or_create_for_email(email=f"capacity-{a}@example.com")
        subscription_change(account=account, plan=plan)
        for _ in range(rng.randint(1, 4)):
            keys.append(api_key_create(account=account, mode="live", name="capacity")[1])
    return keys


def main() -> None:  # noqa: C901, PLR0915 - one script, one sequence of phases
    global CANONICAL_SHARE  # noqa: PLW0603 - --canonical-share: a what-if of the model's one knob
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--day-rps", type=float, default=1000.0, help="the day's mean requests/s for the summary")
    parser.add_argument("--generate-only", action="store_true", help="print the day's summary and stop")
    parser.add_argument("--canonical-share", type=float, default=CANONICAL_SHARE,
                        help="share of places given as the city's own coordinates (the rest: a phone's position)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of wrk per measured phase")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--sample", type=int, default=1000, help="requests per type in the replayed sample")
    parser.add_argument("--accounts", type=int, default=60, help="accounts in the replay (1-4 keys each)")
    parser.add_argument("--jobs", type=int, default=12, help="jobs created in the job phase")
    parser.add_argument("--upstream-latency", type=float, default=0.08, help="the fake OpenWeather's latency, s")
    parser.add_argument("--max-load", type=float, default=0.7)
    parser.add_argument("--first-wait", type=float, default=600.0,
                        help="seconds to wait for the load to fall before the first phase")
    parser.add_argument("--phase-wait", type=float, default=60.0,
                        help="seconds to wait for it before each later phase (the load is recorded either way)")
    parser.add_argument("--database-url", default=os.environ.get(
        "CAPACITY_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weatherapi_capacity"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    CANONICAL_SHARE = args.canonical_share
    places = Places.load()
    day = build_day(args.seed, args.day_rps, places)
    print_day(day)
    if args.generate_only:
        return
    for tool in ("wrk", "redis-server", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing (Debian: apt-get install -y wrk redis-server util-linux)")
    if (os.cpu_count() or 1) < 2:
        sys.exit("needs 2 CPUs: gunicorn on CPU 0 (the pod), the rest on CPU 1")

    rng = random.Random(args.seed + 1)
    workdir = Path(tempfile.mkdtemp(prefix="wxcapacity-"))
    procs: list[Any] = []
    results: dict[str, Any] = {"phases": {}}
    loads: list[float] = []
    try:
        print(f"\nstarting the stack (load {load1():.2f})", flush=True)
        stack, procs = start_stack(workdir, args)
        keys = create_keys(stack, args.accounts, rng)
        refresh_pg_pids(stack)
        print(f"  {len(keys)} live keys over {args.accounts} accounts; gunicorn 2 workers x 32 threads on CPU 0; "
              f"upstream latency {args.upstream_latency * 1000:.0f} ms", flush=True)

        files: dict[str, Path] = {}
        for kind in (*HIT_TYPES, "account"):
            rows = [make_request(rng, places, kind) for _ in range(args.sample if kind != "account" else 200)]
            files[kind] = write_requests(workdir / f"hit-{kind}.txt", rows, keys, rng)
        files["batch"] = write_requests(workdir / "batch.txt",
                                        [make_request(rng, places, "batch") for _ in range(BATCH_SAMPLE)], keys, rng)
        for kind in MISS_TYPES:
            rows = [miss_request(rng, kind, n) for n in range(40_000)]
            files["miss-" + kind] = write_requests(workdir / f"miss-{kind}.txt", rows, keys, rng)
        # The mixed sample for the check: the day's mix of HTTP requests (jobs left out: their
        # items run in the jobs worker, not in the pod; they are 0.1 % of requests).
        mix = {k: v for k, v in ENDPOINT_MIX.items() if k != "job"}
        mixed_kinds = rng.choices(list(mix), weights=list(mix.values()), k=4000)
        files["mixed"] = write_requests(workdir / "mixed.txt", [make_request(rng, places, k) for k in mixed_kinds],
                                        keys, rng)
        mixed_counts = Counter(mixed_kinds)

        def measure(name: str, request_file: Path, *, warm: float = 0.0, duration: float | None = None,
                    connections: int | None = None, delay_ms: float = 0.0,
                    items_per_request: float = 1.0) -> dict[str, Any]:
            # Warm until a pass makes (almost) no upstream call: every key of the file cached.
            for _ in range(6 if warm else 0):
                calls = stack.upstream_calls()
                w = run_wrk(workdir, stack, request_file, duration=warm, connections=args.connections)
                if (stack.upstream_calls() - calls) / max(1.0, w["requests"]) < 0.002:
                    break
            stack.settle()
            load = wait_for_quiet(args.max_load, wait_s=args.phase_wait if loads else args.first_wait)
            loads.append(load)
            refresh_pg_pids(stack)  # the web workers open their connections lazily
            before = stack.snapshot()
            r = run_wrk(workdir, stack, request_file, duration=duration or args.duration,
                        connections=connections or args.connections, delay_ms=delay_ms)
            elapsed = time.monotonic() - before["t"]
            stack.settle()
            after = stack.snapshot()
            d = deltas(before, after, r["requests"])
            d.update({"wrk": r, "load1_before": load, "elapsed_s": elapsed, "items_per_request": items_per_request,
                      "gunicorn_cpu_share": (after["cpu"]["gunicorn"] - before["cpu"]["gunicorn"]) / (r["requests"] / r["rps"])})
            results["phases"][name] = d
            print(f"  {name:16} {r['rps']:7.0f} req/s  p99 {r['p99_ms']:6.1f} ms  non-2xx {int(r['non2xx'])}  "
                  f"gunicorn {d['cpu_us']['gunicorn']:6.0f} us/req  redis {d['cache']['commands'] + d['meter']['commands']:.2f} cmd/req  "
                  f"upstream {d['upstream_calls']:.3f}/req  events {d['usage_events']:.2f}/req  load {load:.2f}", flush=True)
            return d

        print("\nper-type phases (warm = cache hits):", flush=True)
        measure("warmup", files["current"], warm=4.0, duration=3.0)
        for kind in (*HIT_TYPES, "account"):
            measure(kind, files[kind], warm=6.0)
        batch_items = sum(len(json.loads(line.split("\t")[3])["requests"]) for line in files["batch"].read_text().splitlines()) / BATCH_SAMPLE
        # Twice through the file before measuring: every batch's items in the cache.
        measure("batch", files["batch"], warm=12.0, items_per_request=batch_items)
        print("cold phases (unique keys: every request a miss):", flush=True)
        for kind in MISS_TYPES:
            measure("miss-" + kind, files["miss-" + kind], duration=max(4.0, args.duration / 2))

        # Jobs: created over HTTP, their items run by one jobs_worker --until-empty.
        print("jobs:", flush=True)
        import requests

        stack.settle()
        # The jobs worker's own start and stop (Django, the queue's polling), to subtract.
        cpu0 = stack.cpu()["client"]
        subprocess.run([PY, "manage.py", "jobs_worker", "--until-empty"], cwd=ROOT, env=stack.env, check=True,
                       capture_output=True)
        worker_baseline = stack.cpu()["client"] - cpu0
        loads.append(wait_for_quiet(args.max_load, wait_s=args.phase_wait))
        refresh_pg_pids(stack)
        job_bodies = [make_request(rng, places, "job")[2] for _ in range(args.jobs)]
        items = sum(len(json.loads(b)["requests"]) for b in job_bodies)
        before = stack.snapshot()
        for body in job_bodies:
            resp = requests.post(stack.base + "/v1/jobs", data=body, timeout=30,
                                 headers={"X-API-Key": rng.choice(keys), "Content-Type": "application/json"})
            resp.raise_for_status()
        stack.settle()
        mid = stack.snapshot()
        create = deltas(before, mid, len(job_bodies))
        create.update({"items_per_request": items / len(job_bodies), "load1_before": loads[-1]})
        results["phases"]["job"] = create
        t0 = time.monotonic()
        subprocess.run([PY, "manage.py", "jobs_worker", "--until-empty"], cwd=ROOT, env=stack.env, check=True,
                       capture_output=True)
        worker_s = time.monotonic() - t0
        stack.settle()
        after = stack.snapshot()
        item_costs = deltas(mid, after, items)
        item_costs["cpu_us"]["jobs_worker"] = item_costs["cpu_us"].pop("client") - worker_baseline / items * 1e6
        item_costs["jobs_worker_startup_cpu_s"] = worker_baseline
        item_costs.update({"items": items, "elapsed_s": worker_s, "items_per_s": items / worker_s})
        results["phases"]["job_item"] = item_costs
        print(f"  job create       {create['cpu_us']['gunicorn']:8.0f} us gunicorn/job ({items / len(job_bodies):.0f} items); "
              f"items: jobs worker {item_costs['cpu_us']['jobs_worker']:.0f} us/item, upstream {item_costs['upstream_calls']:.3f}/item, "
              f"{items / worker_s:.0f} items/s", flush=True)

        # Memory per cache entry by kind and per metering-stream event held back.
        import redis as redis_lib

        cache_client = redis_lib.Redis.from_url(stack.cache_url)
        sizes: dict[str, list[int]] = {}
        for key in cache_client.scan_iter(count=1000):
            text = key.decode(errors="replace")
            entry_kind = next((k for k, tag in (("current", ":cur:"), ("forecast", ":fc:"), ("air", ":air:"),
                                                ("reverse", ":rev:"), ("geocode", ":geo:")) if tag in text), None)
            if entry_kind and len(sizes.setdefault(entry_kind, [])) < 300:
                sizes[entry_kind].append(int(cache_client.memory_usage(key) or 0))
        results["cache_entry_bytes"] = {k: sum(v) / len(v) for k, v in sizes.items() if v}
        results["cache_keys_total"] = int(cache_client.dbsize())
        meter_client = redis_lib.Redis.from_url(stack.meter_url)
        os.kill(stack.usage_worker.pid, signal.SIGSTOP)
        try:
            mem0 = meter_client.info("memory")["used_memory"]
            run_wrk(workdir, stack, files["current"], duration=2.0, connections=args.connections)
            from django.conf import settings

            held = meter_client.xlen(settings.USAGE_STREAM_KEY)
            mem1 = meter_client.info("memory")["used_memory"]
        finally:
            os.kill(stack.usage_worker.pid, signal.SIGCONT)
        results["stream_bytes_per_event"] = (mem1 - mem0) / max(1, held)
        print(f"  memory: cache entry bytes {({k: round(v) for k, v in results['cache_entry_bytes'].items()})}; "
              f"metering stream {results['stream_bytes_per_event']:.0f} bytes per event held ({held} held)", flush=True)

        # The check: the mixed sample, warm, at a fixed offered load and then flat out.
        print("\nthe check (mixed sample, warm):", flush=True)
        hit_kinds = [k for k in mixed_counts]
        share = {k: mixed_counts[k] / sum(mixed_counts.values()) for k in hit_kinds}
        predicted_us = sum(share[k] * results["phases"][k]["cpu_us"]["gunicorn"] for k in hit_kinds)
        predicted_capacity = 1e6 / predicted_us
        # wrk's delay per connection aimed at ~half of the predicted capacity.
        target = predicted_capacity * 0.5
        delay = max(1.0, args.connections / target * 1000 - 5)
        fixed = measure("mixed-fixed", files["mixed"], warm=8.0, delay_ms=delay)
        flat = measure("mixed-flat", files["mixed"])
        results["check"] = {
            "mix": share, "predicted_gunicorn_us_per_request": predicted_us,
            "predicted_pod_capacity_rps": predicted_capacity,
            "fixed": {"offered_rps": fixed["wrk"]["rps"],
                      "predicted_cpu_share": fixed["wrk"]["rps"] * predicted_us / 1e6,
                      "measured_cpu_share": fixed["gunicorn_cpu_share"],
                      "measured_us_per_request": fixed["cpu_us"]["gunicorn"]},
            "flat": {"predicted_rps": predicted_capacity, "measured_rps": flat["wrk"]["rps"],
                     "measured_cpu_share": flat["gunicorn_cpu_share"],
                     "measured_us_per_request": flat["cpu_us"]["gunicorn"]},
        }
    finally:
        for proc in reversed(procs):
            try:
                if hasattr(proc, "stop") and hasattr(proc, "url") and not hasattr(proc, "durable"):
                    proc.stop()
                elif hasattr(proc, "kill") and hasattr(proc, "durable"):
                    proc.kill()
                else:
                    os.killpg(proc.pid, signal.SIGTERM)
            except (ProcessLookupError, OSError):
                pass

    results.update({
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip(),
        "machine": {"cpus": os.cpu_count(), "load1_before_each_phase": loads, "load1_after": load1()},
        "setup": {"gunicorn": "2 workers x 32 gthread threads, pinned to CPU 0 (one pod, 1 vCPU)",
                  "upstream_latency_s": args.upstream_latency, "connections": args.connections,
                  "duration_s": args.duration, "keys": len(keys), "accounts": args.accounts,
                  "metering_store": "private redis-server, appendonly yes, appendfsync always",
                  "database": args.database_url},
        "day": day,
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, sort_keys=True))
    print_tables(results)
    print(f"\nunit costs written to {args.out}")
    shutil.rmtree(workdir, ignore_errors=True)


def print_tables(results: dict[str, Any]) -> None:
    phases = results["phases"]
    print("\nUnit costs per HTTP request (batch and job: per request; job items: per item), one pod = CPU 0:")
    print(f"{'type':14} {'req/s':>7} {'p99 ms':>7} {'gunicorn us':>11} {'redis us':>8} {'worker us':>9} {'pg us':>6} "
          f"{'cache cmd':>9} {'meter cmd':>9} {'redis B':>8} {'pg xact':>7} {'pg rows':>7} {'upstream':>8} {'events':>6}")
    for name, d in phases.items():
        if name in ("warmup",):
            continue
        cpu = d["cpu_us"]
        wrk = d.get("wrk", {})
        redis_b = sum(d[s]["bytes_in"] + d[s]["bytes_out"] for s in ("cache", "meter"))
        rows = d["pg"]["tup_inserted"] + d["pg"]["tup_updated"] + d["pg"]["tup_deleted"]
        worker = cpu.get("usage_worker", 0.0) + cpu.get("jobs_worker", 0.0)
        print(f"{name:14} {wrk.get('rps', 0):7.0f} {wrk.get('p99_ms', 0):7.1f} {cpu['gunicorn']:11.0f} "
              f"{cpu['redis_cache'] + cpu['redis_meter']:8.0f} {worker:9.0f} {cpu['postgres']:6.0f} "
              f"{d['cache']['commands']:9.2f} {d['meter']['commands']:9.2f} {redis_b:8.0f} {d['pg']['xact_commit']:7.3f} "
              f"{rows:7.2f} {d['upstream_calls']:8.3f} {d['usage_events']:6.2f}")
    check = results.get("check")
    if check:
        f, s = check["fixed"], check["flat"]
        err_f = (f["measured_cpu_share"] - f["predicted_cpu_share"]) / f["predicted_cpu_share"]
        err_s = (s["measured_rps"] - s["predicted_rps"]) / s["predicted_rps"]
        print("\nThe check: one pod (2 workers x 32 threads on CPU 0), the mixed sample warm; predicted from the "
              "per-type gunicorn CPU weighted by the sample's mix "
              f"({check['predicted_gunicorn_us_per_request']:.0f} us/request):")
        print(f"  at {f['offered_rps']:.0f} req/s offered: gunicorn CPU predicted {f['predicted_cpu_share']:.2f} core, "
              f"measured {f['measured_cpu_share']:.2f} core ({f['measured_us_per_request']:.0f} us/request): error {err_f:+.0%}")
        print(f"  flat out: predicted {s['predicted_rps']:.0f} req/s (1 core / CPU per request), measured "
              f"{s['measured_rps']:.0f} req/s with gunicorn at {s['measured_cpu_share']:.2f} core "
              f"({s['measured_us_per_request']:.0f} us/request): error {err_s:+.0%}")
    m = results["machine"]
    print(f"1-minute load before each phase: {min(m['load1_before_each_phase']):.2f}–{max(m['load1_before_each_phase']):.2f}; "
          f"after: {m['load1_after']:.2f}")


if __name__ == "__main__":
    main()
