"""/metrics: our metrics are wired and low-cardinality, the alert rules name metrics the app
really exposes, and one scrape under gunicorn reports the sum over every worker.

How the alert rules are checked (``test_alert_rules_name_metrics_the_app_exposes``): every
name a rule uses is either recorded in ``tests/infra/fixtures/cluster-metrics`` (the
cluster's exporters: cAdvisor through the kubelet, kube-state-metrics, node-exporter, which
no local scrape can produce) or carried by a live scrape of ``/metrics`` as a *sample*
with exactly that name (``…_bucket`` of a histogram included). prometheus_client writes no sample for a
labelled metric whose labels never fired, and under gunicorn (multiprocess mode) it does
not even write the ``# TYPE`` line, so the test first drives every code path the rules
watch through the app (requests, a cache hit, upstream failures against the fake
OpenWeather until the circuit breaker opens). A rule on a metric that exists but never
fires in the test would fail here: that is deliberate, the name must be proven.

The Grafana dashboard has more panels than the tests can drive (invoices, the usage
worker's flush counter, exceptions): its names are checked against the families the
scrape *declares* (``# TYPE`` lines, which a single-process registry writes for every
metric, labelled or not), a weaker but still honest check that the name exists.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter as Tally
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml
from django.conf import settings as django_settings
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import AccountFactory, api_key_for
from tests.support.metrics import counter_per_process
from tests.support.servers import GunicornServer, current_database_url

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "k8s" / "monitoring"
TOKEN = "metrics-test-token"

# Recorded exposition of the cluster's exporters; tests/infra/test_k8s.py checks the rules'
# label matchers against the same series.
CLUSTER_METRICS = ROOT / "tests" / "infra" / "fixtures" / "cluster-metrics"
# Prefixes of the exporters' names: a name with one must be recorded in the fixtures.
EXPORTER_PREFIXES = ("kube_", "container_", "node_", "kubelet_")
PROMQL_WORDS = {
    # aggregation operators and modifiers
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
    "topk", "quantile", "limitk", "limit_ratio", "by", "without", "on", "ignoring",
    "group_left", "group_right", "bool", "offset", "and", "or", "unless", "inf", "nan",
}
# Labels that never carry an account, a credential or a place.
ALLOWED_LABELS = {"provider", "endpoint", "outcome", "plan", "reason", "sink", "event", "queue"}


# --- PromQL name extraction -----------------------------------------------------------

def promql_metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords,
    label names (inside ``{}`` or ``by (…)``), strings or durations."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", s):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in PROMQL_WORDS:
            continue
        names.add(name)
    return names


def _rule_exprs() -> list[str]:
    exprs = []
    for path in sorted(MONITORING.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
                for group in doc["spec"]["groups"]:
                    exprs += [str(rule["expr"]) for rule in group["rules"]]
    return exprs


def _dashboard_exprs() -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "expr" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in MONITORING.glob("*.json"):
        walk(json.loads(path.read_text()))
    return found


def _names(exprs: list[str]) -> set[str]:
    names: set[str] = set()
    for expr in exprs:
        names |= promql_metric_names(expr)
    return names


def _recorded_cluster_names() -> set[str]:
    """Sample names of the recorded exporter expositions."""
    names = set()
    for path in sorted(CLUSTER_METRICS.glob("*.prom")):
        for family in text_string_to_metric_families(path.read_text()):
            names |= {sample.name for sample in family.samples}
    return names


def _app_names(exprs: list[str]) -> set[str]:
    """The names the app itself must provide: all those not recorded from the exporters."""
    return _names(exprs) - _recorded_cluster_names()


def test_promql_name_extraction():
    expr = (
        'histogram_quantile(0.99, sum by (le, view) (rate(foo_seconds_bucket{namespace="weather",'
        'status=~"5.."}[5m] offset 1h))) > 1.5 and on (pod) bar_total unless ignoring(x) '
        "max without (le) (baz) / count(kube_pod_info) * 1e3"
    )
    assert promql_metric_names(expr) == {"foo_seconds_bucket", "bar_total", "baz", "kube_pod_info"}


def test_monitoring_files_have_rules_and_panels():
    assert len(_rule_exprs()) >= 5
    assert len(_dashboard_exprs()) >= 5
    assert _app_names(_rule_exprs())


def test_exporter_names_in_rules_and_dashboard_are_recorded():
    recorded = _recorded_cluster_names()
    assert {
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
        "container_network_receive_bytes_total",
        "kube_pod_container_resource_limits",
        "kube_pod_status_phase",
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
        "node_network_receive_bytes_total",
    } <= recorded
    used = _names(_rule_exprs() + _dashboard_exprs())
    exporters = {n for n in used if n.startswith(EXPORTER_PREFIXES)}
    assert exporters, "no rule reads the cluster's exporters"
    missing = sorted(exporters - recorded)
    assert not missing, f"not in tests/infra/fixtures/cluster-metrics: {missing}"
    # Nothing the app exports is passed off as an exporter's name.
    assert not {n for n in recorded if n.startswith(("django_", "weatherapi_"))}


# --- Exposition parsing ---------------------------------------------------------------

def _scrape(text: str) -> tuple[dict[str, str], dict[str, float]]:
    """(family name -> type, sample name -> summed value) of an exposition."""
    families: dict[str, str] = {}
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for sample in family.samples:
            samples[sample.name] = samples.get(sample.name, 0.0) + sample.value
    return families, samples


def _declared(name: str, families: dict[str, str], samples: dict[str, float]) -> bool:
    if name in samples or families.get(name) in {"gauge", "untyped", "unknown"}:
        return True
    if name.endswith("_total") and families.get(name.removesuffix("_total")) == "counter":
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and families.get(name.removesuffix(suffix)) in {"histogram", "summary"}:
            return True
    return False


def _sum(text: str, sample_name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


# --- Our metrics: wired and low-cardinality -------------------------------------------

def _our_metrics():
    from prometheus_client.metrics import MetricWrapperBase

    from weatherapi import metrics

    return {name: obj for name, obj in vars(metrics).items() if isinstance(obj, MetricWrapperBase)}


def test_every_metric_is_incremented_somewhere():
    """Each metric object in weatherapi/metrics.py is used by application code."""
    sources = [
        p for app in ("accounts", "billing", "forecasts", "jobs", "webhooks", "weatherapi")
        for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts and p.name != "metrics.py"
    ]
    text = "\n".join(p.read_text() for p in sources)
    for name in _our_metrics():
        assert re.search(rf"\b{name}\b(?:\.labels\([^)]*\))?\.(?:inc|set|observe|dec)\(", text), name


def test_labels_are_low_cardinality():
    for name, metric in _our_metrics().items():
        labels = set(metric._labelnames)
        assert labels <= ALLOWED_LABELS, (name, labels - ALLOWED_LABELS)


# --- The alert rules against a live scrape --------------------------------------------

@pytest.mark.django_db
def test_alert_rules_name_metrics_the_app_exposes(client, settings, upstream):
    from forecasts.providers.openweather_client import reset_client
    from weatherapi.metrics import CIRCUIT_OPEN
    from webhooks.services import webhook_delivery_attempt, webhook_event_send

    settings.METRICS_TOKEN = TOKEN
    account = AccountFactory()
    key = api_key_for(account, mode="live")
    current = "/v1/weather/current?lat={:.2f}&lon=2.35"
    assert client.get("/healthz").status_code == 200
    assert client.get(current.format(48.85), HTTP_X_API_KEY=key).status_code == 200  # miss
    assert client.get(current.format(48.85), HTTP_X_API_KEY=key).status_code == 200  # hit
    assert client.get("/v1/nope", HTTP_X_API_KEY=key).status_code == 404
    # Upstream failures until the breaker opens: error, then circuit_open, breaker gauge = 1.
    settings.OPENWEATHER_RETRIES = 0
    settings.OPENWEATHER_BREAKER_FAIL_MAX = 2
    reset_client()
    upstream.set_fault("status", status=500)
    statuses = [client.get(current.format(40 + i), HTTP_X_API_KEY=key).status_code for i in range(4)]
    assert set(statuses) == {503}, statuses
    # A webhook attempt, refused (nothing listens on port 9): the delivery counter.
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    (delivery,) = webhook_event_send(account_id=account.pk, event_type="job.completed", data={},
                                     url="http://127.0.0.1:9/hooks")
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "retry"
    try:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        text = response.content.decode()
    finally:
        CIRCUIT_OPEN.labels("openweather").set(0)
    families, samples = _scrape(text)

    wanted = _app_names(_rule_exprs())
    assert {"django_http_responses_total_by_status_total", "weatherapi_upstream_requests_total"} <= wanted
    # Set by the jobs worker's loop (jobs_worker), which this process does not run: declared.
    worker_gauges = {"weatherapi_jobs_queue_depth", "weatherapi_jobs_oldest_ready_age_seconds"}
    missing = sorted(n for n in wanted if n not in samples and not (n in worker_gauges and families.get(n) == "gauge"))
    assert not missing, (
        f"alert rules use metrics neither the app exposes nor tests/infra/fixtures/cluster-metrics records: {missing}"
    )
    assert _sum(text, "weatherapi_circuit_breaker_open", provider="openweather") == 1
    assert _sum(text, "weatherapi_upstream_requests_total", outcome="circuit_open") >= 1
    assert _sum(text, "weatherapi_cache_requests_total", endpoint="current", outcome="hit") >= 1

    # No sample of ours carries an account, a key or a place.
    for family in text_string_to_metric_families(text):
        if family.name.startswith("weatherapi_"):
            for sample in family.samples:
                values = " ".join(sample.labels.values())
                assert key[:16] not in values and "48.85" not in values and "Paris" not in values
                assert str(account.pk) not in sample.labels.values()


def test_dashboard_names_are_declared_by_the_app(client, settings):
    settings.METRICS_TOKEN = TOKEN
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        pytest.skip("a multiprocess exposition only declares metrics that have samples")
    families, samples = _scrape(text)
    wanted = _app_names(_dashboard_exprs()) | _app_names(_rule_exprs())
    missing = sorted(n for n in wanted if not _declared(n, families, samples))
    assert not missing, f"the dashboard uses metrics the app does not declare: {missing}"


# --- Multiprocess: one scrape, every gunicorn worker ----------------------------------

def _plant_stale_file(directory: Path) -> None:
    """A leftover of a previous run; gunicorn's on_starting must delete it."""
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    name = "django_http_requests_total_by_view_transport_method_total"
    stale = MmapedDict(str(directory / "counter_999999.db"))
    labels = ["view", "transport", "method"]
    stale.write_value(
        mmap_key(name.removesuffix("_total"), name, labels, ["healthz", "http", "GET"], "stale"), 1e6, 0.0
    )
    stale.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_one_scrape_sums_every_gunicorn_worker(tmp_path):
    prom = tmp_path / "prom"
    prom.mkdir()
    _plant_stale_file(prom)
    key = api_key_for(AccountFactory(), mode="test")
    env = {
        "DATABASE_URL": current_database_url(),
        "DJANGO_DEBUG": "1",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(prom),
    }
    if django_settings.REDIS_URL:
        env["REDIS_URL"] = django_settings.REDIS_URL
        env["CACHE_KEY_PREFIX"] = f"metrics{os.getpid()}"
        # Its own usage stream: the usage-worker tests count the shared one.
        env["USAGE_STREAM_KEY"] = f"wx:test-metrics:{os.getpid()}"
    n_health, n_api = 120, 12
    counter = "django_http_requests_total_by_view_transport_method_total"
    with GunicornServer(env, workers=3, threads=4, log_path=tmp_path / "gunicorn.log") as server:
        assert not (prom / "counter_999999.db").exists(), "on_starting did not clear the directory"

        def health(_: int) -> int:
            # A new connection each time (no keep-alive), so the workers share the load.
            return requests.get(server.url + "/healthz", headers={"Connection": "close"}, timeout=10).status_code

        def api(_: int) -> int:
            return requests.get(
                server.url + "/v1/weather/current?lat=48.85&lon=2.35",
                headers={"X-API-Key": key, "Connection": "close"}, timeout=10,
            ).status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            assert set(pool.map(health, range(n_health))) == {200}
            sent_health = n_health
            # Which worker accepts a connection is the kernel's choice: on a busy machine one
            # fast worker can take a whole batch. More batches until two have answered.
            for _ in range(10):
                if len([v for v in counter_per_process(prom, counter, view="healthz").values() if v > 0]) >= 2:
                    break
                assert set(pool.map(health, range(n_health))) == {200}
                sent_health += n_health
            assert set(pool.map(api, range(n_api))) == {200}
        # Nothing else is in flight: the per-process files are final until the scrape.
        per_worker = counter_per_process(prom, counter, view="healthz")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        assert requests.get(server.url + "/metrics", timeout=10).status_code == 401
        text = requests.get(server.url + "/metrics", headers=headers, timeout=10).text

        health_total = _sum(text, counter, view="healthz")
        api_total = _sum(text, counter, view="weather-current")
        contributed = {pid: v for pid, v in per_worker.items() if v > 0}
        assert health_total >= sent_health  # plus GunicornServer's readiness probes
        assert health_total < 1e6  # the stale file was not summed in
        assert api_total >= n_api
        assert len(contributed) >= 2, f"only one worker answered: {per_worker}"
        assert health_total == sum(per_worker.values()), (health_total, per_worker)
        # The multiprocess collector answered, not one worker's registry: a single-process
        # registry would add process_* and python_* collectors of that worker.
        assert "process_cpu_seconds_total" not in text
        assert _sum(text, "django_http_responses_total_by_status_total", status="200") >= sent_health + n_api
        assert _sum(text, "weatherapi_usage_events_total") >= n_api  # test keys are metered too

        # A worker dies: its counts stay in the sum, its replacement adds to it.
        victim = max(contributed, key=lambda pid: contributed[pid])
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        answers = Tally()
        while time.monotonic() < deadline and answers[200] < 30:
            try:
                answers[health(0)] += 1
            except requests.RequestException:
                time.sleep(0.1)
        after = requests.get(server.url + "/metrics", headers=headers, timeout=10).text
        assert _sum(after, counter, view="healthz") >= health_total + answers[200]
    if "USAGE_STREAM_KEY" in env:
        import redis

        redis.Redis.from_url(django_settings.REDIS_URL).delete(env["USAGE_STREAM_KEY"])
    log = (tmp_path / "gunicorn.log").read_text()
    assert "Traceback" not in log, log[-3000:]
