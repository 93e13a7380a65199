"""``scripts/capacity.py``'s arithmetic on a tiny fixture of unit costs (no servers).

The plan is a script that prints numbers (docs/capacity.md); what can be proved without
measuring anything is that it turns unit costs into pods, regions, upstream calls and
mismatches by the rules it states.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _load(name: str):  # type: ignore[no-untyped-def]
    # Loaded from its file, as the other scripts' tests do: scripts/ never goes on sys.path.
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


capacity = _load("capacity")
workload = _load("workload")

WEATHER = ("current", "forecast", "geocode", "reverse", "air")
MIX = {"current": 0.5, "forecast": 0.2, "geocode": 0.1, "reverse": 0.05, "air": 0.1,
       "account": 0.03, "batch": 0.015, "job": 0.005}


def _phase(gunicorn_us: float, *, upstream: float = 0.0, meter_us: float = 10.0, items: float = 1.0,
           pg_rows: float = 2.0) -> dict[str, Any]:
    return {
        "cpu_us": {"gunicorn": gunicorn_us, "redis_cache": 5.0, "redis_meter": meter_us, "usage_worker": 100.0,
                   "postgres": 20.0, "jobs_worker": 400.0},
        "cache": {"commands": 0.0, "bytes_in": 0.0, "bytes_out": 0.0},
        "meter": {"commands": 1.0, "bytes_in": 300.0, "bytes_out": 50.0},
        "pg": {"xact_commit": 0.01, "tup_inserted": pg_rows, "tup_updated": 0.0, "tup_deleted": 0.0},
        "upstream_calls": upstream, "usage_events": items, "items_per_request": items,
    }


def fixture(*, gunicorn_us: float = 1000.0, meter_us: float = 10.0, histogram: list[list[float]] | None = None) -> dict[str, Any]:
    """Every kind costs the web ``gunicorn_us`` hit or miss, so the mix's cost is that too
    whatever the hit ratios; a miss costs one upstream call."""
    phases: dict[str, Any] = {}
    for kind in WEATHER:
        phases[kind] = _phase(gunicorn_us, meter_us=meter_us)
        phases["miss-" + kind] = _phase(gunicorn_us, upstream=1.0, meter_us=meter_us)
    phases["account"] = _phase(gunicorn_us, meter_us=meter_us)
    phases["batch"] = _phase(gunicorn_us, meter_us=meter_us, items=20.0)
    phases["job"] = _phase(gunicorn_us, meter_us=meter_us, items=250.0)
    phases["job_item"] = _phase(0.0, meter_us=meter_us, upstream=0.5)
    hist = histogram or [[1e-6, 1_000_000]]
    return {
        "phases": phases,
        "cache_entry_bytes": dict.fromkeys(WEATHER, 1000.0),
        "stream_bytes_per_event": 400.0,
        "day": {
            "endpoint_mix": MIX, "item_mix": {"current": 0.5, "forecast": 0.3, "air": 0.2},
            "items_per_request": {"batch": 0.3, "job": 1.25},
            "cache_lookups_per_request": dict.fromkeys(WEATHER, 0.5),
            "key_histograms": dict.fromkeys(WEATHER, hist),
            "ttls": dict.fromkeys(WEATHER, 600),
            "hourly_factors": [1.0] * 24, "peak_hour_over_mean": 1.0, "peak_minute_over_peak_hour": 1.3,
        },
    }


def units(**kw: Any):  # type: ignore[no-untyped-def]
    return capacity.load_units(fixture(**kw))


@pytest.mark.parametrize(("rps", "pods"), [(1000, 4), (10_000, 31), (300, 3)])
def test_web_pods_are_peak_rps_over_one_pods_capacity_at_the_cpu_target(rps, pods):
    p = capacity.plan(units(), rps, regions=1)
    # 1,000 us a request: a pod at 65 % of its 0.5 vCPU request holds 325 req/s.
    assert p["web"]["us_per_request"] == pytest.approx(1000.0)
    assert p["web"]["per_pod_rps"] == pytest.approx(325.0)
    assert p["web"]["pods"] == pods == max(3, math.ceil(rps / 325.0))
    assert p["web"]["vcpu"] == pytest.approx(rps * 1000 / 1e6)
    assert p["keda"]["rps_threshold"] == 325


def test_nodes_pack_the_pods_cpu_requests_onto_allocatable_cpu():
    p = capacity.plan(units(), 10_000, regions=1)
    requested = 31 * 0.5 + p["workers"]["usage"] * 0.1 + p["workers"]["jobs"] * 0.2
    assert p["nodes"]["requested_vcpu"] == pytest.approx(requested)
    assert p["nodes"]["count"] == max(3, math.ceil(requested / (4 - capacity.NODE_RESERVED_VCPU)))


def test_regions_follow_the_scale_and_the_one_shard_store_says_how_many_it_would_need():
    assert [capacity.regions_for(r) for r in (1000, 10_000, 100_000)] == [1, 2, 3]
    assert capacity.plan(units(), 100_000)["region_rps"] == pytest.approx(100_000 / 3)
    # 10 us of the metering store's core a request: 60,000 req/s a region at 60 %.
    u = units(meter_us=10.0)
    assert capacity.one_shard_regions(u, 50_000) == 1
    assert capacity.one_shard_regions(u, 100_000) == 2
    assert capacity.one_shard_regions(u, 250_000) == 5
    p = capacity.plan(u, 100_000)
    assert p["meter"]["core"] == pytest.approx(100_000 / 3 * 10 / 1e6)
    assert p["meter"]["shards"] == 1


def test_hit_ratio_of_one_key_is_rate_times_ttl_over_one_plus_it():
    hist = [[1.0, 1]]
    # 0.1 req/s on one key with a 600 s TTL: a fetch, then 60 hits per window.
    assert capacity.hit_ratio(hist, 0.1, 600, [1.0]) == pytest.approx(60 / 61)
    # The workload's model and the plan's are the same function.
    day_hist = [[1e-3, 500], [1e-4, 5000]]
    assert capacity.hit_ratio(day_hist, 50.0, 600, [0.5, 1.5]) == pytest.approx(
        workload.hit_ratio([tuple(r) for r in day_hist], 50.0, 600, [0.5, 1.5]))


def test_upstream_calls_are_every_miss_of_requests_batch_items_and_job_items():
    p = capacity.plan(units(), 1000, regions=1)
    h = p["hits"]
    item_mix = {"current": 0.5, "forecast": 0.3, "air": 0.2}
    per_request = sum(MIX[k] * (1 - h[k]) for k in WEATHER)
    per_request += MIX["batch"] * 20 * sum(s * (1 - h[k]) for k, s in item_mix.items())
    per_item = 1 - sum(s * h[k] for k, s in item_mix.items())
    assert p["upstream"]["per_min"] == pytest.approx(1000 * 60 * (per_request + 1.25 * per_item))


def test_prints_the_plan_and_the_mismatches_with_todays_settings(tmp_path, capsys):
    costs = tmp_path / "unit-costs.json"
    costs.write_text(json.dumps(fixture()))
    assert capacity.main(["--costs", str(costs), "--scales", "1000,10000"]) == 0
    out = capsys.readouterr().out
    # 10,000 req/s: two regions of 5,000, 16 pods each.
    assert "| web pods (≥ 3) | 4 | 16 |" in out
    assert "Today's k8s/ and terraform/" in out


def test_mismatches_name_each_setting_below_the_plan():
    p = capacity.plan(units(), 10_000, regions=1)
    conf = {"keda_rps_threshold": 40.0, "keda_cpu_target": 65.0, "min_replicas": 6, "max_replicas": 30,
            "usage_workers": 100, "apps_max_size": 100, "db_instance_class": "db.m7g.16xlarge",
            "redis_node_type": "cache.m7g.16xlarge", "memorydb_node_type": "db.r7g.8xlarge",
            "openweather_calls_per_minute": 0}
    found = capacity.mismatches(p, conf)
    assert any("threshold 40" in m and "325" in m for m in found)
    assert any("maxReplicaCount 30 < 31" in m for m in found)
    assert len(found) == 2
    assert capacity.mismatches(p, {**conf, "keda_rps_threshold": 325.0, "max_replicas": 47}) == []
