#!/usr/bin/env python
"""The capacity plan for 1k, 10k and 100k requests/s from measured unit costs (issue 23).

    .venv/bin/python scripts/capacity.py [--costs var/capacity/unit-costs.json] [--scales 1000,10000,100000]
                                         [--validate] [--k8s k8s] [--terraform terraform]

Reads what ``scripts/workload.py`` measured (CPU, Redis commands, PostgreSQL rows, upstream
calls per request type, hit and miss; the day's mix, key popularity and curve) and prints,
per scale: web pods and vCPU under the headroom rule, nodes of the apps node group, Redis
(cache and metering store sized separately: operations/s, memory), PostgreSQL writes/s and
the RDS class, the usage and jobs workers, upstream calls/minute against OpenWeather's
plans, regions, the KEDA thresholds that follow, the money per month, and the priced
gateway alternative. Then it checks today's ``k8s/`` and ``terraform/`` against the plan
and prints each mismatch. ``--validate`` prints the one-pod check (prediction from the
per-type costs against the measured mixed run) from the same file.

A scale is the **peak hour's** requests/s over all regions (the day's mean is that / the
curve's peak factor); the minute bursts above it are what the headroom absorbs.

No network: the prices below are AWS on-demand list prices for us-east-1 as I remember
them (assumed as of 2025-06; check the AWS price list before spending money), and
OpenWeather's subscription plans likewise.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The workload's cache model: the one function both scripts use (scripts/ is no package).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload import hit_ratio  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COSTS = ROOT / "var" / "capacity" / "unit-costs.json"
HOURS_PER_MONTH = 730

# --- the headroom rule ------------------------------------------------------------------
# Web pods: the HPA's CPU target is a share of the pod's CPU *request* (k8s: Utilization is
# usage / request). At the target a pod uses HPA_CPU_TARGET x POD_CPU_REQUEST on average and
# can burst to its limit (POD_CPU_LIMIT, 1 vCPU = 2 gunicorn workers) for minutes of bursts;
# nodes are packed by requests, so a node's CPU sits at ~HPA_CPU_TARGET at the target.
HPA_CPU_TARGET = 0.65
POD_CPU_REQUEST = 0.5
POD_CPU_LIMIT = 1.0
# Shared single-threaded servers (Redis, one shard) and PostgreSQL: 60 % of a core / vCPU.
SERVER_TARGET = 0.60
# Workers (usage, jobs): 60 % of their CPU limit.
WORKER_TARGET = 0.60
USAGE_WORKER_CPU_LIMIT = 0.5
JOBS_WORKER_CPU_LIMIT = 1.0
# An upstream plan is used to 90 % (OPENWEATHER_CALLS_PER_MINUTE is the plan's limit - 10 %).
UPSTREAM_TARGET = 0.90
# A node's allocatable CPU after the kubelet's reserve and the DaemonSets (CNI, kube-proxy,
# CloudWatch agent, Secrets Store CSI, node exporter): assumed, not measured.
NODE_RESERVED_VCPU = 0.45
# The metering store must hold this long a backlog when PostgreSQL is down (usage waits in
# the stream: docs/design.md, failure behaviour).
STREAM_BACKLOG_SECONDS = 3600
# Stale copies (CACHE_STALE_SECONDS) keep a key this long after its TTL.
CACHE_STALE_SECONDS = 21600
USAGE_RETENTION_DAYS = 90
USAGE_ROW_BYTES = 250  # a UsageEvent row with its indexes, assumed (measure with pg_total_relation_size)

# --- prices: AWS on-demand list, us-east-1, USD/hour (assumptions as of 2025-06, no network) --
EC2 = {"m7i.large": (2, 8, 0.1008), "m7i.xlarge": (4, 16, 0.2016), "m7i.2xlarge": (8, 32, 0.4032)}
EKS_CLUSTER_HOUR = 0.10
# RDS for PostgreSQL, Multi-AZ (twice the single-AZ price): vCPU, GiB, $/h.
RDS = [("db.m7g.large", 2, 8, 0.336), ("db.m7g.xlarge", 4, 16, 0.672), ("db.m7g.2xlarge", 8, 32, 1.344),
       ("db.m7g.4xlarge", 16, 64, 2.688), ("db.m7g.8xlarge", 32, 128, 5.376), ("db.m7g.12xlarge", 48, 192, 8.064),
       ("db.m7g.16xlarge", 64, 256, 10.752)]
RDS_STORAGE_GB_MONTH = 0.23  # gp3, Multi-AZ
# ElastiCache (cache) node: GiB, $/h; the replication group runs 3 nodes (terraform).
ELASTICACHE = [("cache.m7g.large", 6.38, 0.158), ("cache.m7g.xlarge", 12.93, 0.315), ("cache.m7g.2xlarge", 26.04, 0.629),
               ("cache.m7g.4xlarge", 52.26, 1.257), ("cache.m7g.8xlarge", 103.68, 2.514),
               ("cache.m7g.12xlarge", 157.12, 3.771), ("cache.m7g.16xlarge", 209.55, 5.028)]
ELASTICACHE_NODES = 3
# MemoryDB node: GiB, $/h; a shard is a primary and its replicas (terraform: 2).
MEMORYDB = [("db.r7g.large", 13.07, 0.304), ("db.r7g.xlarge", 26.32, 0.608), ("db.r7g.2xlarge", 52.82, 1.216),
            ("db.r7g.4xlarge", 105.81, 2.432), ("db.r7g.8xlarge", 209.55, 4.864)]
MEMORYDB_WRITE_PER_GB = 0.20
MEMORYDB_REPLICAS = 2
CLOUDFRONT_PER_10K_HTTPS = 0.0100  # North America / Europe
WAF_PER_MILLION = 0.60
# OpenWeather subscriptions (calls/minute, USD/month), assumptions from its price page as remembered.
OPENWEATHER = [("Free", 60, 0), ("Startup", 600, 40), ("Developer", 3_000, 180), ("Professional", 30_000, 470),
               ("Expert", 100_000, 2_000)]

# --- the gateway alternative (issue item 4) -----------------------------------------------
# Not measured here (OpenResty and Kong are not Debian packages; Envoy neither): reasoned from
# the figure, nginx answering a fixed 400-byte JSON at ~94,000 req/s on these 2 cores
# with wrk on the same cores, i.e. ~2 x 1e6 / 94,000 = ~21 us of CPU a request for nginx and
# wrk together. A gateway's cached paid answer adds a key check (a local LRU of digests), one
# Redis script (limits + usage event: the same one Django runs), a cache read and the `source`
# splice in Lua: assumed 7x bare nginx.
NGINX_FIXED_RPS_2CORES = 94_000
GATEWAY_FACTOR = 7.0
GATEWAY_US = 2 * 1e6 / NGINX_FIXED_RPS_2CORES * GATEWAY_FACTOR
GATEWAY_POD_CPU = 1.0  # a gateway pod's request (nginx workers are single-threaded: 1 per vCPU)

WEATHER = ("current", "forecast", "geocode", "reverse", "air")


@dataclass
class Units:
    """Per-request costs by kind: ``hit`` and ``miss`` for the cached kinds, plus account,
    batch (warm), job (create) and job_item, each a dict of the same metrics."""

    by_kind: dict[str, dict[str, float]]
    day: dict[str, Any]
    extra: dict[str, Any]


def _metrics(phase: dict[str, Any]) -> dict[str, float]:
    cpu = phase["cpu_us"]
    return {
        "gunicorn_us": cpu.get("gunicorn", 0.0),
        "cache_us": cpu.get("redis_cache", 0.0),
        "meter_us": cpu.get("redis_meter", 0.0),
        "usage_worker_us": cpu.get("usage_worker", 0.0),
        "jobs_worker_us": cpu.get("jobs_worker", 0.0),
        # Backends that closed during the phase (CONN_MAX_AGE=0: a web request's connection
        # lives for that request) drop out of the /proc sum, which can go below zero: a floor.
        "pg_us": max(0.0, cpu.get("postgres", 0.0)),
        "cache_cmds": phase["cache"]["commands"],
        "meter_cmds": phase["meter"]["commands"],
        "meter_bytes": phase["meter"]["bytes_in"] + phase["meter"]["bytes_out"],
        "pg_xact": phase["pg"]["xact_commit"],
        "pg_rows": phase["pg"]["tup_inserted"] + phase["pg"]["tup_updated"] + phase["pg"]["tup_deleted"],
        "upstream": phase["upstream_calls"],
        "events": phase["usage_events"],
        "items": phase.get("items_per_request", 1.0),
    }


def load_units(raw: dict[str, Any]) -> Units:
    phases = raw["phases"]
    by_kind: dict[str, dict[str, float]] = {}
    for kind in WEATHER:
        by_kind[kind + ":hit"] = _metrics(phases[kind])
        by_kind[kind + ":miss"] = _metrics(phases["miss-" + kind])
    for kind in ("account", "batch", "job", "job_item"):
        by_kind[kind] = _metrics(phases[kind])
    extra = {k: raw.get(k) for k in ("cache_entry_bytes", "stream_bytes_per_event", "check", "machine", "setup",
                                     "generated_at", "git_commit", "usage_row_bytes")}
    return Units(by_kind, raw["day"], extra)


def live_keys(histogram: list[list[float]], rate: float, window: float) -> float:
    """Keys asked for at least once in ``window`` seconds (held in the cache: fresh or stale)."""
    return sum(n * (1 - math.exp(-rate * p * window)) for p, n in histogram)


def mean_factor(day: dict[str, Any]) -> float:
    return float(day["peak_hour_over_mean"])


def hit_ratios(units: Units, region_rps: float) -> dict[str, float]:
    """Hit ratio by cached kind at a region's peak-hour rate (the curve's shape, scaled)."""
    day = units.day
    hours = [f / max(day["hourly_factors"]) for f in day["hourly_factors"]]  # peak hour = 1
    lookups = day["cache_lookups_per_request"]
    return {k: hit_ratio(day["key_histograms"][k], region_rps * lookups[k], day["ttls"][k], hours) for k in WEATHER}


def blended(units: Units, hits: dict[str, float]) -> dict[str, float]:
    """Each metric per HTTP request of the day's mix, at these hit ratios. Batch items
    that miss add (miss - hit) of their kind; job creation is the web's share, job items
    the jobs worker's (reported apart as ``items``)."""
    mix = units.day["endpoint_mix"]
    item_mix = units.day["item_mix"]
    metrics = units.by_kind["account"].keys()
    out = dict.fromkeys(metrics, 0.0)
    for k in WEATHER:
        hit, miss = units.by_kind[k + ":hit"], units.by_kind[k + ":miss"]
        for m in metrics:
            out[m] += mix[k] * (hits[k] * hit[m] + (1 - hits[k]) * miss[m])
    batch = units.by_kind["batch"]
    items = batch["items"]
    for m in metrics:
        out[m] += mix["account"] * units.by_kind["account"][m] + mix["job"] * units.by_kind["job"][m]
        extra = sum(share * (1 - hits[k]) * (units.by_kind[k + ":miss"][m] - units.by_kind[k + ":hit"][m])
                    for k, share in item_mix.items())
        out[m] += mix["batch"] * (batch[m] + items * extra)
    out["items"] = 1.0
    return out


def job_items(units: Units, hits: dict[str, float]) -> dict[str, float]:
    """Per job item (jobs worker), the item's misses at these hit ratios added as in a batch."""
    item = dict(units.by_kind["job_item"])
    measured_miss = item["upstream"]  # the measured run's items missed this often
    mean_hit = sum(share * hits[k] for k, share in units.day["item_mix"].items())
    item["upstream"] = max(0.0, 1 - mean_hit)
    # The measured CPU includes its own misses; scale the miss share's part no further (small).
    del measured_miss
    return item


def pick(table: list[tuple[Any, ...]], need: float, index: int) -> tuple[Any, ...] | None:
    """The smallest row whose column ``index`` is at least ``need``."""
    return next((row for row in table if row[index] >= need), None)


# Regions by scale (an assumption: availability and latency, not capacity, set the count;
# every region runs the whole stack): one up to 1k req/s, two up to 10k, three beyond.
REGIONS_BY_SCALE = ((1_000, 1), (10_000, 2))
REGIONS_BEYOND = 3


def regions_for(rps: float) -> int:
    return next((n for limit, n in REGIONS_BY_SCALE if rps <= limit), REGIONS_BEYOND)


def one_shard_regions(units: Units, rps: float, max_regions: int = 50) -> int:
    """Regions today's one-shard metering store would need (every metering key shares the
    hash tag {wx}: one slot, one primary, SERVER_TARGET of its core each)."""
    for regions in range(1, max_regions + 1):
        per = rps / regions
        b = blended(units, hit_ratios(units, per))
        if per * b["meter_us"] / 1e6 <= SERVER_TARGET:
            return regions
    return max_regions


def plan(units: Units, rps: float, regions: int | None = None, node_type: str = "m7i.xlarge") -> dict[str, Any]:
    regions = regions or regions_for(rps)
    per = rps / regions
    hits = hit_ratios(units, per)
    b = blended(units, hits)
    items_per_request = units.day["items_per_request"]["job"]
    item = job_items(units, hits)
    web_vcpu = per * b["gunicorn_us"] / 1e6
    per_pod_rps = HPA_CPU_TARGET * POD_CPU_REQUEST * 1e6 / b["gunicorn_us"]
    pods = max(3, math.ceil(round(per / per_pod_rps, 6)))  # 3: one per AZ at least
    usage_workers = max(2, math.ceil(per * b["usage_worker_us"] / 1e6 / (WORKER_TARGET * USAGE_WORKER_CPU_LIMIT)))
    item_rps = per * items_per_request
    jobs_workers = max(1, math.ceil(item_rps * item["jobs_worker_us"] / 1e6 / (WORKER_TARGET * JOBS_WORKER_CPU_LIMIT)))
    vcpu, mem_gib, node_hour = EC2[node_type]
    allocatable = vcpu - NODE_RESERVED_VCPU
    requested = pods * POD_CPU_REQUEST + usage_workers * 0.1 + jobs_workers * 0.2
    nodes = max(3, math.ceil(requested / allocatable))
    # Redis: the cache and the metering store, each a single-threaded primary.
    cache_ops = per * b["cache_cmds"]
    cache_core = per * b["cache_us"] / 1e6
    meter_ops = per * b["meter_cmds"]
    meter_core = per * b["meter_us"] / 1e6
    entry = units.extra.get("cache_entry_bytes") or {}
    day = units.day
    hours_peak = max(day["hourly_factors"])
    # Memory: fresh entries at the peak hour's rate (what must fit), and what keeping every
    # stale copy for CACHE_STALE_SECONDS as well would take (an LRU evicts those first).
    fresh_bytes = stale_bytes = 0.0
    for k in WEATHER:
        rate = per * day["cache_lookups_per_request"][k]
        fresh_bytes += live_keys(day["key_histograms"][k], rate, day["ttls"][k]) * entry.get(k, 1000.0)
        window = day["ttls"][k] + (CACHE_STALE_SECONDS if k in ("current", "forecast", "air") else 0)
        stale_bytes += live_keys(day["key_histograms"][k], rate / hours_peak, window) * entry.get(k, 1000.0)
    cache_gib = fresh_bytes * 1.3 / 2**30  # Redis overhead and fragmentation
    stale_gib = stale_bytes * 1.3 / 2**30
    events_per_s = per * (b["events"] + items_per_request * item["events"])
    stream_gib = events_per_s * STREAM_BACKLOG_SECONDS * float(units.extra.get("stream_bytes_per_event") or 400) / 2**30
    meter_gib = stream_gib + 0.5  # counters and limits hashes: small next to the backlog
    # PostgreSQL (batched metering: the usage worker's transactions).
    pg_rows = per * b["pg_rows"] + item_rps * item["pg_rows"]
    pg_xact = per * b["pg_xact"] + item_rps * item["pg_xact"]
    pg_vcpu = (per * b["pg_us"] + item_rps * item["pg_us"]) / 1e6
    rds = pick(RDS, pg_vcpu / SERVER_TARGET, 1)
    mean_events = events_per_s / hours_peak
    storage_gb = mean_events * 86400 * USAGE_RETENTION_DAYS * USAGE_ROW_BYTES / 1e9
    # Upstream: the OpenWeather account is shared by every region (its limit is per account).
    upstream_per_min = rps * (b["upstream"] + items_per_request * item["upstream"]) * 60
    ow = pick([(n, c / UPSTREAM_TARGET, c, p) for n, c, p in OPENWEATHER], upstream_per_min, 1)
    ec = pick(ELASTICACHE, cache_gib, 1)
    meter_shards = max(1, math.ceil(meter_core / SERVER_TARGET))
    mdb = pick(MEMORYDB, meter_gib / meter_shards, 1)
    # Money per month, all regions. Blue/green: two clusters per region, the idle one at its minimum.
    hours = HOURS_PER_MONTH
    monthly = {
        "nodes": regions * nodes * node_hour * hours,
        "eks": regions * 2 * EKS_CLUSTER_HOUR * hours,
        "system nodes": regions * 2 * 3 * EC2["m7i.large"][2] * hours,
        "idle colour apps nodes": regions * 3 * node_hour * hours,
        "rds": regions * ((rds[3] if rds else float("nan")) * hours + storage_gb * RDS_STORAGE_GB_MONTH),
        "elasticache": regions * ELASTICACHE_NODES * (ec[2] if ec else float("nan")) * hours,
        "memorydb": regions * meter_shards * (1 + MEMORYDB_REPLICAS) * (mdb[2] if mdb else float("nan")) * hours
                    + events_per_s * regions / hours_peak * 86400 * 30 * 300 / 1e9 * MEMORYDB_WRITE_PER_GB,
    }
    openweather = float(ow[3]) if ow else float("nan")
    mean_rps = rps / mean_factor(day)
    per_month = mean_rps * 86400 * 30
    edge = {"cloudfront": per_month / 1e4 * CLOUDFRONT_PER_10K_HTTPS, "waf": per_month / 1e6 * WAF_PER_MILLION}
    # The gateway alternative: cached weather answers in the gateway, everything else in Django.
    mix = day["endpoint_mix"]
    gw_share = sum(mix[k] * hits[k] for k in WEATHER)
    gw_vcpu = per * gw_share * GATEWAY_US / 1e6
    gw_pods = max(3, math.ceil(gw_vcpu / (SERVER_TARGET * GATEWAY_POD_CPU)))
    hit_us = sum(mix[k] * hits[k] * units.by_kind[k + ":hit"]["gunicorn_us"] for k in WEATHER)
    rest_us = b["gunicorn_us"] - hit_us
    rest_pods = max(3, math.ceil(per * rest_us / 1e6 / (HPA_CPU_TARGET * POD_CPU_REQUEST)))
    gw_requested = gw_pods * GATEWAY_POD_CPU + rest_pods * POD_CPU_REQUEST + usage_workers * 0.1 + jobs_workers * 0.2
    gw_nodes = max(3, math.ceil(gw_requested / allocatable))
    gateway = {"share_served": gw_share, "gateway_pods": gw_pods, "django_pods": rest_pods, "nodes": gw_nodes,
               "nodes_monthly": regions * gw_nodes * node_hour * hours,
               "saving_monthly": regions * (nodes - gw_nodes) * node_hour * hours}
    return {
        "rps": rps, "regions": regions, "region_rps": per, "hits": hits, "blended": b,
        "web": {"vcpu": web_vcpu, "per_pod_rps": per_pod_rps, "pods": pods,
                "pods_vcpu_requested": pods * POD_CPU_REQUEST, "us_per_request": b["gunicorn_us"]},
        "workers": {"usage": usage_workers, "jobs": jobs_workers, "job_items_per_s": item_rps},
        "nodes": {"type": node_type, "count": nodes, "requested_vcpu": requested, "allocatable_vcpu": allocatable},
        "cache": {"ops": cache_ops, "core": cache_core, "gib": cache_gib, "stale_gib": stale_gib,
                  "node": ec[0] if ec else "none fits"},
        "meter": {"ops": meter_ops, "core": meter_core, "shards": meter_shards, "stream_gib": stream_gib,
                  "gib": meter_gib, "node": mdb[0] if mdb else "none fits", "events_per_s": events_per_s},
        "pg": {"rows_per_s": pg_rows, "xact_per_s": pg_xact, "vcpu": pg_vcpu, "class": rds[0] if rds else "none fits",
               "storage_gb": storage_gb},
        "upstream": {"per_min": upstream_per_min, "plan": ow[0] if ow else "beyond Expert (enterprise)",
                     "plan_limit": ow[2] if ow else None},
        "keda": {"rps_threshold": math.floor(round(per_pod_rps, 6)), "cpu_target_pct": round(HPA_CPU_TARGET * 100),
                 "max_replicas": math.ceil(pods * 1.5)},
        "monthly": monthly, "edge_monthly": edge, "gateway": gateway,
        "total_monthly": sum(monthly.values()), "openweather_monthly": openweather,
        "one_shard_regions": one_shard_regions(units, rps),
    }


# --- today's settings ------------------------------------------------------------------------


def configured(k8s: Path, terraform: Path) -> dict[str, Any]:
    """The values of k8s/ and terraform/ the plan is checked against (read as text: a
    regular expression each, so no YAML/HCL parser is needed)."""
    def find(path: Path, pattern: str) -> str | None:
        m = re.search(pattern, path.read_text(), re.S) if path.exists() else None
        return m.group(1) if m else None

    so = k8s / "base" / "scaledobject.yaml"
    prod = k8s / "overlays" / "production" / "kustomization.yaml"
    tfvars = terraform / "envs" / "production" / "terraform.tfvars"
    worker = prod
    return {
        "keda_rps_threshold": float(find(so, r'type: prometheus.*?threshold: "(\d+)"') or "nan"),
        "keda_cpu_target": float(find(so, r'type: cpu.*?value: "(\d+)"') or "nan"),
        "min_replicas": int(find(prod, r"/spec/minReplicaCount\s+value: (\d+)") or 0),
        "max_replicas": int(find(prod, r"name: weather-web\n.*?/spec/maxReplicaCount\s+value: (\d+)") or 0),
        "usage_workers": int(find(worker, r"weather-usage-worker.*?/spec/replicas\s+value: (\d+)") or 0),
        "apps_max_size": int(find(tfvars, r"apps_max_size\s*=\s*(\d+)") or 0),
        "apps_instance_types": find(tfvars, r"apps_instance_types\s*=\s*(\[[^\]]*\])"),
        "db_instance_class": find(tfvars, r'db_instance_class\s*=\s*"([^"]+)"'),
        "redis_node_type": find(tfvars, r'redis_node_type\s*=\s*"([^"]+)"'),
        "memorydb_node_type": find(tfvars, r'memorydb_node_type\s*=\s*"([^"]+)"'),
        "openweather_calls_per_minute": int(find(prod, r"OPENWEATHER_CALLS_PER_MINUTE\s+value: \"(\d+)\"") or 0),
    }


def _rank(table: list[tuple[Any, ...]], name: str | None) -> int:
    return next((i for i, row in enumerate(table) if row[0] == name), -1)


def mismatches(p: dict[str, Any], conf: dict[str, Any]) -> list[str]:
    out = []
    want = p["keda"]["rps_threshold"]
    have = conf["keda_rps_threshold"]
    if not (0.8 * want <= have <= 1.25 * want):
        out.append(f"KEDA prometheus threshold {have:.0f} req/s a pod; the measured pod holds {want} req/s at the "
                   f"{p['keda']['cpu_target_pct']} % CPU target (k8s/base/scaledobject.yaml)")
    if conf["keda_cpu_target"] != p["keda"]["cpu_target_pct"]:
        out.append(f"KEDA cpu target {conf['keda_cpu_target']:.0f} %; the plan assumes {p['keda']['cpu_target_pct']} %")
    if conf["max_replicas"] < p["web"]["pods"]:
        out.append(f"maxReplicaCount {conf['max_replicas']} < {p['web']['pods']} web pods a region needs at peak")
    if conf["usage_workers"] < p["workers"]["usage"]:
        out.append(f"usage worker replicas {conf['usage_workers']} < {p['workers']['usage']} needed")
    if conf["apps_max_size"] < p["nodes"]["count"]:
        out.append(f"apps node group max_size {conf['apps_max_size']} < {p['nodes']['count']} {p['nodes']['type']} nodes needed")
    if _rank(RDS, conf["db_instance_class"]) < _rank(RDS, p["pg"]["class"]):
        out.append(f"RDS {conf['db_instance_class']} < {p['pg']['class']} needed")
    if _rank(ELASTICACHE, conf["redis_node_type"]) < _rank(ELASTICACHE, p["cache"]["node"]):
        out.append(f"ElastiCache {conf['redis_node_type']} < {p['cache']['node']} for {p['cache']['gib']:.1f} GiB of cache")
    if _rank(MEMORYDB, conf["memorydb_node_type"]) < _rank(MEMORYDB, p["meter"]["node"]):
        out.append(f"MemoryDB {conf['memorydb_node_type']} < {p['meter']['node']} for a {STREAM_BACKLOG_SECONDS // 60}-minute backlog")
    if p["meter"]["shards"] > 1 or p["one_shard_regions"] > p["regions"]:
        out.append(f"MemoryDB num_shards 1, but the metering store needs {p['meter']['shards']} cores a region "
                   "(one slot {wx}: shard the keys by account first)")
    if conf["openweather_calls_per_minute"] and conf["openweather_calls_per_minute"] < p["upstream"]["per_min"]:
        out.append(f"OPENWEATHER_CALLS_PER_MINUTE {conf['openweather_calls_per_minute']} < {p['upstream']['per_min']:.0f} "
                   "upstream calls/min at peak")
    return out


# --- printing ------------------------------------------------------------------------------


def fmt_money(x: float) -> str:
    return "n/a" if math.isnan(x) else f"${x:,.0f}"


def print_plans(plans: list[dict[str, Any]], conf: dict[str, Any] | None) -> None:
    cols = [f"{p['rps']:,.0f} req/s" for p in plans]

    def row(label: str, values: list[str]) -> None:
        print(f"| {label} | " + " | ".join(values) + " |")

    print("| per region unless said | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(plans))
    row("regions (by scale: 1 / 2 / 3)", [str(p["regions"]) for p in plans])
    row("regions today's one-shard metering store would need", [str(p["one_shard_regions"]) for p in plans])
    row("peak-hour req/s a region", [f"{p['region_rps']:,.0f}" for p in plans])
    row("cache hit ratio a region: current / forecast / geocode / reverse / air",
        [" / ".join(f"{p['hits'][k]:.0%}" for k in WEATHER) for p in plans])
    row("gunicorn CPU per request of the mix, µs", [f"{p['web']['us_per_request']:,.0f}" for p in plans])
    row("web vCPU used at peak", [f"{p['web']['vcpu']:,.1f}" for p in plans])
    row("req/s a pod holds at the HPA target (65 % of 0.5 vCPU)", [f"{p['web']['per_pod_rps']:,.0f}" for p in plans])
    row("web pods (≥ 3)", [f"{p['web']['pods']:,}" for p in plans])
    row("usage workers / jobs workers", [f"{p['workers']['usage']} / {p['workers']['jobs']}" for p in plans])
    row("apps nodes (m7i.xlarge, packed by requests)", [f"{p['nodes']['count']:,}" for p in plans])
    row("cache Redis: ops/s, core used, fresh entries GiB → node",
        [f"{p['cache']['ops']:,.0f}, {p['cache']['core']:.2f}, {p['cache']['gib']:.1f} → {p['cache']['node']}" for p in plans])
    row("cache Redis: GiB to keep every stale copy 6 h too (LRU evicts them first)",
        [f"{p['cache']['stale_gib']:.0f}" for p in plans])
    row("metering store: ops/s, core used → shards",
        [f"{p['meter']['ops']:,.0f}, {p['meter']['core']:.2f} → {p['meter']['shards']}" for p in plans])
    row("metering store: events/s, 1 h backlog GiB → node a shard",
        [f"{p['meter']['events_per_s']:,.0f}, {p['meter']['stream_gib']:.1f} → {p['meter']['node']}" for p in plans])
    row("PostgreSQL rows written/s, transactions/s", [f"{p['pg']['rows_per_s']:,.0f}, {p['pg']['xact_per_s']:,.0f}" for p in plans])
    row("PostgreSQL vCPU used → RDS class (≤ 60 %)", [f"{p['pg']['vcpu']:.2f} → {p['pg']['class']}" for p in plans])
    row("raw usage events kept (90 days), GB", [f"{p['pg']['storage_gb']:,.0f}" for p in plans])
    row("upstream calls/min, all regions → OpenWeather plan",
        [f"{p['upstream']['per_min']:,.0f} → {p['upstream']['plan']}" for p in plans])
    row("KEDA: rps threshold a pod / CPU target / maxReplicaCount",
        [f"{p['keda']['rps_threshold']} / {p['keda']['cpu_target_pct']} % / {p['keda']['max_replicas']}" for p in plans])
    print()
    print("| money a month, all regions (on-demand, us-east-1 list prices assumed) | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(plans))
    for key in plans[0]["monthly"]:
        row(key, [fmt_money(p["monthly"][key]) for p in plans])
    row("**total infrastructure**", [f"**{fmt_money(p['total_monthly'])}**" for p in plans])
    row("OpenWeather plan (n/a: beyond Expert, an enterprise quote)", [fmt_money(p["openweather_monthly"]) for p in plans])
    row("CloudFront requests + WAF (same for both designs)",
        [fmt_money(sum(p["edge_monthly"].values())) for p in plans])
    print()
    print(f"| gateway alternative (cached paid answers in the gateway at ~{GATEWAY_US:.0f} µs each, reasoned) | "
          + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(plans))
    row("share of requests the gateway answers", [f"{p['gateway']['share_served']:.0%}" for p in plans])
    row("gateway pods / Django pods a region", [f"{p['gateway']['gateway_pods']} / {p['gateway']['django_pods']}" for p in plans])
    row("apps nodes a region (today's design)", [f"{p['gateway']['nodes']} ({p['nodes']['count']})" for p in plans])
    row("apps nodes a month, all regions (saving)",
        [f"{fmt_money(p['gateway']['nodes_monthly'])} ({fmt_money(p['gateway']['saving_monthly'])})" for p in plans])
    if conf is not None:
        print("\nToday's k8s/ and terraform/ (production overlay) against each scale:")
        print("  configured: " + ", ".join(f"{k}={v}" for k, v in conf.items()))
        for p in plans:
            found = mismatches(p, conf)
            print(f"  {p['rps']:,.0f} req/s: " + ("matches" if not found else ""))
            for line in found:
                print(f"    - {line}")


def validation(units: Units, raw: dict[str, Any]) -> list[str]:
    """The one-pod check, recomputed from the per-type costs: the mixed run's kinds weighted
    by their share of the sample, against what was measured."""
    check = raw.get("check")
    if not check:
        return ["no check in this file (run scripts/workload.py without --generate-only)"]
    phases = raw["phases"]
    predicted_us = sum(share * phases[k]["cpu_us"]["gunicorn"] for k, share in check["mix"].items())
    lines = [f"predicted gunicorn CPU per request of the mixed sample: {predicted_us:.0f} µs "
             f"(mix: " + ", ".join(f"{k} {v:.1%}" for k, v in check["mix"].items()) + ")"]
    f, s = check["fixed"], check["flat"]
    pred_share = f["offered_rps"] * predicted_us / 1e6
    lines.append("| load | predicted | measured | error |")
    lines.append("|---|---:|---:|---:|")
    lines.append(f"| {f['offered_rps']:.0f} req/s offered: gunicorn CPU, cores | {pred_share:.2f} | "
                 f"{f['measured_cpu_share']:.2f} | {(f['measured_cpu_share'] - pred_share) / pred_share:+.0%} |")
    lines.append(f"| {f['offered_rps']:.0f} req/s offered: µs a request | {predicted_us:.0f} | "
                 f"{f['measured_us_per_request']:.0f} | {(f['measured_us_per_request'] - predicted_us) / predicted_us:+.0%} |")
    pred_rps = 1e6 / predicted_us
    lines.append(f"| flat out: req/s of one pod (1 vCPU) | {pred_rps:.0f} | {s['measured_rps']:.0f} "
                 f"(gunicorn at {s['measured_cpu_share']:.2f} core) | {(s['measured_rps'] - pred_rps) / pred_rps:+.0%} |")
    m = raw.get("machine", {})
    loads = m.get("load1_before_each_phase") or [float("nan")]
    lines.append(f"1-minute load before the phases {min(loads):.2f}–{max(loads):.2f}, after {m.get('load1_after', float('nan')):.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--costs", type=Path, default=DEFAULT_COSTS)
    parser.add_argument("--scales", default="1000,10000,100000")
    parser.add_argument("--validate", action="store_true", help="print the one-pod check too")
    parser.add_argument("--k8s", type=Path, default=ROOT / "k8s")
    parser.add_argument("--terraform", type=Path, default=ROOT / "terraform")
    parser.add_argument("--no-check-config", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the plans here")
    args = parser.parse_args(argv)
    if not args.costs.exists():
        print(f"{args.costs} is missing: run scripts/workload.py first", file=sys.stderr)
        return 2
    raw = json.loads(args.costs.read_text())
    units = load_units(raw)
    scales = [float(s) for s in args.scales.split(",")]
    plans = [plan(units, s) for s in scales]
    print(f"Unit costs: {args.costs} (measured {units.extra.get('generated_at')}, commit {units.extra.get('git_commit')})")
    print(f"Headroom rule: web pods at {HPA_CPU_TARGET:.0%} of a {POD_CPU_REQUEST} vCPU request (limit {POD_CPU_LIMIT} vCPU: "
          f"{POD_CPU_LIMIT / (HPA_CPU_TARGET * POD_CPU_REQUEST):.1f}x burst room; the day's peak minute is "
          f"{units.day['peak_minute_over_peak_hour']:.2f}x its peak hour); Redis shards and PostgreSQL at "
          f"{SERVER_TARGET:.0%} of their cores; workers at {WORKER_TARGET:.0%} of their limit; OpenWeather at "
          f"{UPSTREAM_TARGET:.0%} of the plan. A scale is the peak hour's req/s over all regions.\n")
    conf = None if args.no_check_config else configured(args.k8s, args.terraform)
    print_plans(plans, conf)
    if args.validate:
        print("\nOne pod (2 gunicorn workers x 32 threads pinned to one core), predicted from the per-type costs "
              "against the mixed run measured in the same workload.py run:")
        for line in validation(units, raw):
            print(line)
    if args.json:
        args.json.write_text(json.dumps(plans, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
