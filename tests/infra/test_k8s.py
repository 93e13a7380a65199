"""Checks of the rendered kustomize output that kubernetes-validate cannot do (custom
resources) or that are ours (probes, hardening, autoscaling consistency, metric names)."""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import subprocess
import sys
import time

import pytest
import yaml
from infra_helpers import (
    K8S,
    OVERLAYS,
    TERRAFORM,
    cluster_series,
    containers,
    find,
    one,
    pod_spec,
    runbook_anchors,
    workloads,
)

ENVS = ("base", *OVERLAYS)
APP_TARGETS = ("base", *OVERLAYS)

# Metric names the app exports. django-prometheus names carry a doubled _total.
APP_METRICS = {
    "django_http_requests_total_by_view_transport_method_total",
    "django_http_responses_total_by_status_total",
    "django_http_requests_latency_seconds_by_view_method_bucket",
    "django_http_exceptions_total_by_type_total",
    "weatherapi_upstream_requests_total",
    "weatherapi_upstream_request_duration_seconds_bucket",
    "weatherapi_circuit_breaker_open",
    "weatherapi_cache_requests_total",
    "weatherapi_coalesced_waits_total",
    "weatherapi_throttle_rejections_total",
    "weatherapi_usage_events_total",
    "weatherapi_usage_events_flushed_total",
    "weatherapi_usage_stream_pending",
    "weatherapi_invoices_issued_total",
    # The jobs worker's (issue 22): the queue as KEDA counts it, per queue, and its webhook
    # delivery attempts by outcome.
    "weatherapi_jobs_queue_depth",
    "weatherapi_jobs_oldest_ready_age_seconds",
    "weatherapi_webhook_deliveries_total",
}
# With the names of the cluster's exporters (cAdvisor, kube-state-metrics, node-exporter)
# recorded in tests/infra/fixtures/cluster-metrics: the only names alerts, dashboards, KEDA
# and the CloudWatch agent may use.
CLUSTER_SERIES = cluster_series()
CLUSTER_METRICS = {name for name, _ in CLUSTER_SERIES}
KNOWN_METRICS = APP_METRICS | CLUSTER_METRICS
PROMQL_WORDS = {
    "sum",
    "rate",
    "irate",
    "increase",
    "max",
    "min",
    "avg",
    "count",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "histogram_quantile",
    "max_over_time",
    "min_over_time",
    "avg_over_time",
    "absent",
    "clamp_min",
    "clamp_max",
    "topk",
    "bottomk",
    "offset",
    "time",
    "vector",
    "scalar",
    "label_replace",
    "deriv",
    "delta",
    "sum_over_time",
    "quantile",
    "e",
    "inf",
    "nan",
}
REQUIRED_ALERTS = {
    "WeatherHigh5xxRatio": "critical",
    "WeatherHigh4xxRatio": "warning",
    "WeatherHigh429Rate": None,
    "WeatherUpstreamErrorRatio": None,
    "WeatherCircuitOpen": None,
    "WeatherUsageStreamLag": None,
    "WeatherHighP99Latency": None,
    "WeatherPodRestarts": None,
    "WeatherPodCrashLooping": None,
    "WeatherPodEvicted": None,
    "WeatherNoPodsAvailable": "critical",
    "WeatherContainerCPUNearLimit": "warning",
    "WeatherContainerMemoryNearLimit": "warning",
    "WeatherNodeCPUHigh": "warning",
    "WeatherNodeMemoryLow": "warning",
    "WeatherNetworkTrafficSpike": "warning",
    "WeatherPodNetworkHigh": "warning",
    "WeatherNodeNetworkSaturated": "warning",
    "WeatherPodFailed": "warning",
    "WeatherJobsQueueBacklog": "warning",
    "WeatherJobsQueueStalled": "warning",
    "WeatherWebhookDeliveriesFailing": "warning",
}
SECRET_FILES = {
    "DJANGO_SECRET_KEY",
    "OPENWEATHER_API_KEY",
    "METRICS_TOKEN",
    "DATABASE_URL",
    "REDIS_URL",
    "USAGE_REDIS_URL",
}


def metric_names(expr: str) -> set[str]:
    """Metric names used in a PromQL expression (good enough for our own rules)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        rest = text[match.end() :].lstrip()
        if rest.startswith("("):  # function call
            continue
        if word.lower() in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def test_metric_name_parser_sees_names():
    expr = (
        'sum by (le) (rate(foo_bucket{a="b(c)"}[5m])) / ignoring(x) bar > 0.1 '
        "and on(pod) max_over_time(baz[1h])"
    )
    assert metric_names(expr) == {"foo_bucket", "bar", "baz"}


# ---------------------------------------------------------------------------
# Presence and basics
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", APP_TARGETS)
def test_required_resources_rendered(rendered, target):
    docs = rendered[target]
    for kind, name in [
        ("Namespace", "weather"),
        ("ServiceAccount", "weather-app"),
        ("ConfigMap", "weather-config"),
        ("SecretProviderClass", "weather-secrets"),
        ("Deployment", "weather-web"),
        ("Deployment", "weather-usage-worker"),
        ("Deployment", "weather-jobs-worker"),
        ("Service", "weather-web"),
        ("Service", "weather-jobs-worker-metrics"),
        ("PodDisruptionBudget", "weather-web"),
        ("PodDisruptionBudget", "weather-jobs-worker"),
        ("NetworkPolicy", "default-deny-all"),
        ("Ingress", "weather-public"),
        ("Ingress", "weather-internal"),
        ("ScaledObject", "weather-web"),
        ("ScaledObject", "weather-jobs-worker"),
        ("TriggerAuthentication", "weather-jobs-queue-db"),
        ("Job", "weather-migrate"),
        ("CronJob", "weather-close-billing-period"),
        ("CronJob", "weather-cleartokens"),
        ("CronJob", "weather-prune-usage"),
        ("ServiceMonitor", "weather-web"),
        ("ServiceMonitor", "weather-jobs-worker"),
        ("PrometheusRule", "weather-alerts"),
        ("ConfigMap", "weather-grafana-dashboard"),
    ]:
        one(docs, kind, name)
    for doc in docs:
        if doc["kind"] in ("Namespace", "PriorityClass", "ClusterRole", "ClusterRoleBinding"):
            continue
        expected = (
            "amazon-cloudwatch"
            if "cwagent" in doc["metadata"]["name"]
            or doc["metadata"]["name"].startswith("prometheus-")
            else "weather"
        )
        assert doc["metadata"].get("namespace") == expected, doc["metadata"]["name"]


@pytest.mark.parametrize("target", APP_TARGETS)
def test_namespace_has_pod_readiness_gate_label(rendered, target):
    ns = one(rendered[target], "Namespace", "weather")
    assert ns["metadata"]["labels"]["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"


@pytest.mark.parametrize("target", [*APP_TARGETS, "cloudwatch", "chaos"])
def test_images_pinned_no_latest(rendered, target):
    for doc in workloads(rendered[target]):
        for c in containers(pod_spec(doc)):
            image = c["image"]
            name_part = image.rsplit("/", 1)[-1]
            assert "@sha256:" in image or ":" in name_part, f"{image} has no tag"
            assert not image.endswith(":latest"), image
    for exp in find(rendered[target], "ChaosExperiment"):
        image = exp["spec"]["definition"]["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image


@pytest.mark.parametrize("target", OVERLAYS)
def test_overlay_uses_registry_image(rendered, target):
    for doc in workloads(rendered[target]):
        for c in containers(pod_spec(doc)):
            if "cloudwatch-agent" in c["image"]:
                continue
            assert ".dkr.ecr." in c["image"], c["image"]


# ---------------------------------------------------------------------------
# Hardening
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", [*APP_TARGETS, "cloudwatch"])
def test_every_container_is_hardened(rendered, target):
    for doc in workloads(rendered[target]):
        spec = pod_spec(doc)
        pod_sc = spec.get("securityContext") or {}
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        assert pod_sc.get("runAsNonRoot") is True, where
        assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        assert spec.get("hostNetwork") in (None, False), where
        for c in containers(spec):
            sc = c.get("securityContext")
            assert sc, f"{where}/{c['name']} has no securityContext"
            assert sc.get("runAsNonRoot") is True, f"{where}/{c['name']}"
            assert sc.get("readOnlyRootFilesystem") is True, f"{where}/{c['name']}"
            assert sc.get("allowPrivilegeEscalation") is False, f"{where}/{c['name']}"
            assert sc.get("privileged") in (None, False), f"{where}/{c['name']}"
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], f"{where}/{c['name']}"
            assert not sc.get("capabilities", {}).get("add"), f"{where}/{c['name']}"
            assert sc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
            assert int(sc.get("runAsUser", pod_sc.get("runAsUser", 0))) >= 10000
            res = c.get("resources", {})
            for key in ("cpu", "memory"):
                assert key in res.get("requests", {}), f"{where}/{c['name']} {key} request"
                assert key in res.get("limits", {}), f"{where}/{c['name']} {key} limit"


@pytest.mark.parametrize("target", APP_TARGETS)
def test_app_pods_have_writable_emptydirs_and_secrets(rendered, target):
    config = one(rendered[target], "ConfigMap", "weather-config")["data"]
    for doc in workloads(rendered[target]):
        if doc["metadata"]["namespace"] != "weather":
            continue
        spec = pod_spec(doc)
        volumes = {v["name"]: v for v in spec["volumes"]}
        app = containers(spec)[0]
        mounts = {m["mountPath"]: m["name"] for m in app["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]  # noqa: S108 - a mount path, not a temp file
        assert "emptyDir" in volumes[mounts[config["PROMETHEUS_MULTIPROC_DIR"]]]
        secrets = volumes[mounts[config["SECRETS_DIR"]]]
        assert secrets["csi"]["driver"] == "secrets-store.csi.k8s.io"
        assert secrets["csi"]["volumeAttributes"]["secretProviderClass"] == "weather-secrets"
        assert spec["serviceAccountName"] == "weather-app"
        assert spec.get("automountServiceAccountToken") is False
        assert app.get("envFrom") == [{"configMapRef": {"name": "weather-config"}}]


# ---------------------------------------------------------------------------
# Web Deployment: probes, graceful shutdown, gunicorn sizing
# ---------------------------------------------------------------------------


def cpu(value) -> float:
    value = str(value)
    return float(value[:-1]) / 1000 if value.endswith("m") else float(value)


@pytest.mark.parametrize("target", APP_TARGETS)
def test_web_probes_and_shutdown(rendered, target):
    docs = rendered[target]
    web = one(docs, "Deployment", "weather-web")
    spec = pod_spec(web)
    c = next(c for c in spec["containers"] if c["name"] == "web")
    assert c["command"] == ["gunicorn", "-c", "gunicorn.conf.py", "weatherapi.wsgi:application"]
    assert {p["containerPort"] for p in c["ports"]} == {8000}
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    config = one(docs, "ConfigMap", "weather-config")["data"]
    assert config["DJANGO_DEBUG"] == "0"
    assert config["PORT"] == "8000"
    pre_stop = c["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    graceful = int(config["GUNICORN_GRACEFUL_TIMEOUT"])
    assert spec["terminationGracePeriodSeconds"] > graceful + int(pre_stop[1])
    # Workers from the CPU limit: 2 per CPU, at least 1.
    limit = cpu(c["resources"]["limits"]["cpu"])
    assert int(config["GUNICORN_WORKERS"]) == max(1, math.floor(limit * 2))
    assert config["GUNICORN_WORKER_CLASS"] == "gthread"
    # Django's host check must accept kubelet probes and ALB health checks (Host: pod IP).
    env = {e["name"]: e for e in c["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert "$(POD_IP)" in env["DJANGO_ALLOWED_HOSTS"]["value"]
    # Spread over zones and nodes.
    keys = {t["topologyKey"] for t in spec["topologySpreadConstraints"]}
    assert {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} <= keys
    assert spec["affinity"]["podAntiAffinity"]


@pytest.mark.parametrize("target", APP_TARGETS)
def test_commands_jobs_and_cronjobs(rendered, target):
    docs = rendered[target]
    worker = one(docs, "Deployment", "weather-usage-worker")
    assert pod_spec(worker)["containers"][0]["command"] == ["python", "manage.py", "usage_worker"]
    job = one(docs, "Job", "weather-migrate")
    assert pod_spec(job)["containers"][0]["command"] == [
        "python",
        "manage.py",
        "migrate",
        "--noinput",
    ]
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    expected = {
        "weather-close-billing-period": (
            "15 0 1 * *",
            ["python", "manage.py", "close_billing_period"],
        ),
        "weather-cleartokens": (None, ["python", "manage.py", "cleartokens"]),
        "weather-prune-usage": (None, ["python", "manage.py", "prune_usage"]),
    }
    for name, (schedule, command) in expected.items():
        cron = one(docs, "CronJob", name)
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        if schedule:
            assert cron["spec"]["schedule"] == schedule
        assert pod_spec(cron)["containers"][0]["command"] == command
        assert pod_spec(cron)["restartPolicy"] in ("Never", "OnFailure")


# ---------------------------------------------------------------------------
# Autoscaling (KEDA) consistency
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", APP_TARGETS)
def test_keda_scaledobject_consistent(rendered, target):
    docs = rendered[target]
    assert not find(docs, "HorizontalPodAutoscaler"), "KEDA creates the HPA; do not ship one"
    so = one(docs, "ScaledObject", "weather-web")
    ref = so["spec"]["scaleTargetRef"]
    deployment = one(docs, ref.get("kind", "Deployment"), ref["name"])
    assert "replicas" not in deployment["spec"], "KEDA owns replicas of the target"
    lo, hi = so["spec"]["minReplicaCount"], so["spec"]["maxReplicaCount"]
    assert 2 <= lo <= hi
    triggers = {t["type"]: t for t in so["spec"]["triggers"]}
    assert {"cpu", "memory", "prometheus"} <= set(triggers)
    for kind in ("cpu", "memory"):
        assert triggers[kind]["metricType"] == "Utilization"
        assert 0 < int(triggers[kind]["metadata"]["value"]) <= 100
    prom = triggers["prometheus"]["metadata"]
    assert prom["query"] == (
        "sum(rate(django_http_requests_total_by_view_transport_method_total"
        '{namespace="weather"}[2m]))'
    )
    assert float(prom["threshold"]) > 0
    assert prom["serverAddress"].startswith("http")
    behavior = so["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 60
    # Utilization triggers need requests on every container of the target.
    for c in pod_spec(deployment)["containers"]:
        assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    # The PDB must leave room to evict at least one pod at the minimum size.
    pdb = one(docs, "PodDisruptionBudget", "weather-web")
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    if "minAvailable" in pdb["spec"]:
        value = pdb["spec"]["minAvailable"]
        needed = math.ceil(lo * int(value[:-1]) / 100) if str(value).endswith("%") else int(value)
        assert needed < lo
    else:
        assert pdb["spec"]["maxUnavailable"] >= 1


def test_production_bigger_than_staging(rendered):
    so = {t: one(rendered[t], "ScaledObject", "weather-web")["spec"] for t in OVERLAYS}
    assert so["production"]["minReplicaCount"] > so["staging"]["minReplicaCount"]
    assert so["production"]["maxReplicaCount"] > so["staging"]["maxReplicaCount"]
    assert (
        "minAvailable" in one(rendered["production"], "PodDisruptionBudget", "weather-web")["spec"]
    )

    def web_cpu(t):
        web = one(rendered[t], "Deployment", "weather-web")
        return cpu(pod_spec(web)["containers"][0]["resources"]["limits"]["cpu"])

    assert web_cpu("production") > web_cpu("staging")


# ---------------------------------------------------------------------------
# Jobs worker (issue 22): Procrastinate queues "jobs" and "webhooks", KEDA on queue depth
# ---------------------------------------------------------------------------

JOBS_WORKER = "weather-jobs-worker"
JOBS_QUEUES = {"jobs", "webhooks"}


def selects(selector: dict, labels: dict) -> bool:
    """A NetworkPolicy/PDB podSelector (matchLabels only, which is all we write) on labels."""
    assert set(selector) <= {"matchLabels"}, selector
    return selector.get("matchLabels", {}).items() <= labels.items()


def jobs_worker_container(docs):
    spec = pod_spec(one(docs, "Deployment", JOBS_WORKER))
    return spec, next(c for c in spec["containers"] if c["name"] == "jobs-worker")


@pytest.mark.parametrize("target", APP_TARGETS)
def test_jobs_worker_runs_the_command_with_the_app_image_and_config(rendered, target):
    docs = rendered[target]
    worker = one(docs, "Deployment", JOBS_WORKER)
    spec, c = jobs_worker_container(docs)
    assert c["command"] == ["python", "manage.py", "jobs_worker"]
    assert "args" not in c
    web = pod_spec(one(docs, "Deployment", "weather-web"))["containers"][0]
    assert c["image"] == web["image"], "the worker runs the web pods' image"
    assert "replicas" not in worker["spec"], "KEDA owns the replica count"
    # The same configuration and secrets as the web pods: ConfigMap and the CSI volume.
    assert c["envFrom"] == web["envFrom"] == [{"configMapRef": {"name": "weather-config"}}]
    secrets_dir = one(docs, "ConfigMap", "weather-config")["data"]["SECRETS_DIR"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mount = next(m for m in c["volumeMounts"] if m["mountPath"] == secrets_dir)
    assert mount["readOnly"] is True
    assert volumes[mount["name"]]["csi"]["volumeAttributes"]["secretProviderClass"] == (
        "weather-secrets"
    )
    assert spec["serviceAccountName"] == "weather-app"
    assert spec["automountServiceAccountToken"] is False
    # SIGTERM finishes the item in hand: time for it, and no preStop delay on top.
    assert spec["terminationGracePeriodSeconds"] >= 60
    assert "lifecycle" not in c
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    assert int(env["JOBS_WORKER_CONCURRENCY"]) >= 1


@pytest.mark.parametrize("target", APP_TARGETS)
def test_jobs_worker_is_hardened_and_serves_no_traffic(rendered, target):
    docs = rendered[target]
    spec, c = jobs_worker_container(docs)
    pod_sc = spec["securityContext"]
    assert pod_sc["runAsNonRoot"] is True and pod_sc["runAsUser"] >= 10000
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in spec["containers"]:
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        for key in ("cpu", "memory"):
            assert key in container["resources"]["requests"], (container["name"], key)
            assert key in container["resources"]["limits"], (container["name"], key)
    # The worker itself listens on nothing; the only port of the pod is the metrics sidecar's.
    assert "ports" not in c
    ports = {p["containerPort"] for x in spec["containers"] for p in x.get("ports", [])}
    assert ports == {9102}
    labels = one(docs, "Deployment", JOBS_WORKER)["spec"]["template"]["metadata"]["labels"]
    for svc in find(docs, "Service"):
        if selects({"matchLabels": svc["spec"].get("selector", {})}, labels):
            assert svc["spec"].get("clusterIP") == "None", svc["metadata"]["name"]
            assert {p["targetPort"] for p in svc["spec"]["ports"]} == {"metrics"}
    for ing in find(docs, "Ingress"):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert not path["backend"]["service"]["name"].startswith(JOBS_WORKER)


@pytest.mark.parametrize("target", APP_TARGETS)
def test_jobs_worker_probes_read_the_heartbeat_file(rendered, target):
    spec, c = jobs_worker_container(rendered[target])
    assert "readinessProbe" not in c, "no traffic, so no readiness"
    env = {e["name"]: e.get("value") for e in c["env"]}
    heartbeat = env["JOBS_WORKER_HEARTBEAT_FILE"]
    # On a writable emptyDir (the root filesystem is read-only).
    volumes = {v["name"]: v for v in spec["volumes"]}
    mount = next(m for m in c["volumeMounts"] if heartbeat.startswith(m["mountPath"] + "/"))
    assert "emptyDir" in volumes[mount["name"]]
    for probe in ("startupProbe", "livenessProbe"):
        command = c[probe]["exec"]["command"]
        assert command[:2] == ["python", "-c"], "cheap: no Django boot per probe"
        assert "django" not in command[2].lower() and "manage.py" not in command
        assert c[probe]["timeoutSeconds"] >= 2
    # Restarted after about a minute of a stale heartbeat, given two minutes to start.
    live = c["livenessProbe"]
    assert 30 <= live["periodSeconds"] * live["failureThreshold"] <= 180
    start = c["startupProbe"]
    assert start["periodSeconds"] * start["failureThreshold"] >= 60


def test_jobs_worker_heartbeat_probe_command_works(rendered, tmp_path):
    """The probe's own code, run here: fresh file passes, stale or missing file fails."""
    _, c = jobs_worker_container(rendered["base"])
    command = [sys.executable, *c["livenessProbe"]["exec"]["command"][1:]]
    assert command[1:] == c["startupProbe"]["exec"]["command"][1:]
    heartbeat = tmp_path / "heartbeat"
    env = {**os.environ, "JOBS_WORKER_HEARTBEAT_FILE": str(heartbeat)}

    def probe() -> int:
        return subprocess.run(command, env=env, capture_output=True, timeout=30).returncode

    assert probe() != 0, "no heartbeat yet: not started"
    heartbeat.touch()
    assert probe() == 0
    stale = time.time() - 61
    os.utime(heartbeat, (stale, stale))
    assert probe() != 0, "a heartbeat older than 60 s means a wedged worker"
    fresh = time.time() - 50
    os.utime(heartbeat, (fresh, fresh))
    assert probe() == 0


def keda_query(target_docs) -> tuple[dict, dict]:
    so = one(target_docs, "ScaledObject", JOBS_WORKER)
    triggers = so["spec"]["triggers"]
    assert [t["type"] for t in triggers] == ["postgresql"]
    return so, triggers[0]


@pytest.mark.parametrize("target", APP_TARGETS)
def test_jobs_worker_scales_on_the_procrastinate_queue(rendered, target):
    docs = rendered[target]
    so, trigger = keda_query(docs)
    ref = so["spec"]["scaleTargetRef"]
    assert (ref.get("kind", "Deployment"), ref["name"]) == ("Deployment", JOBS_WORKER)
    lo, hi = so["spec"]["minReplicaCount"], so["spec"]["maxReplicaCount"]
    assert lo == 1 and hi >= 2
    fallback = so["spec"]["fallback"]
    assert lo <= fallback["replicas"] <= hi and fallback["failureThreshold"] >= 1
    assert trigger.get("metricType", "AverageValue") == "AverageValue", "fallback needs it"
    meta = trigger["metadata"]
    assert 10 <= float(meta["targetQueryValue"]) <= 500
    # The query: ready jobs of the worker's queues, in Procrastinate's own table.
    query = " ".join(meta["query"].split())
    assert re.fullmatch(
        r"SELECT count\(\*\) FROM procrastinate_jobs WHERE (.+)", query, re.IGNORECASE
    ), query
    assert "status = 'todo'" in query
    queues = re.search(r"queue_name IN \(([^)]*)\)", query).group(1)
    assert {q.strip().strip("'") for q in queues.split(",")} == JOBS_QUEUES
    assert "(scheduled_at IS NULL OR scheduled_at <= now())" in query
    assert ";" not in query
    behavior = so["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 60
    pdb = one(docs, "PodDisruptionBudget", JOBS_WORKER)
    labels = one(docs, "Deployment", JOBS_WORKER)["spec"]["template"]["metadata"]["labels"]
    assert selects(pdb["spec"]["selector"], labels)
    assert pdb["spec"]["maxUnavailable"] >= 1, "a single worker must stay evictable"


@pytest.mark.parametrize("target", APP_TARGETS)
def test_keda_reads_the_queue_with_the_read_only_role(rendered, target):
    """TriggerAuthentication -> Kubernetes Secret synced by the SecretProviderClass from the
    datastores secret's QUEUE_METRICS_DATABASE_URL; never the app's DATABASE_URL."""
    docs = rendered[target]
    _, trigger = keda_query(docs)
    inline = {"connection", "connectionFromEnv", "host", "password"}
    assert not set(trigger["metadata"]) & inline, "credentials only through the secret"
    auth = one(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    refs = auth["spec"]["secretTargetRef"]
    assert [r["parameter"] for r in refs] == ["connection"]
    spc = one(docs, "SecretProviderClass", "weather-secrets")
    synced = {
        (obj["secretName"], item["key"]): item["objectName"]
        for obj in spc["spec"]["secretObjects"]
        for item in obj["data"]
    }
    alias = synced[(refs[0]["name"], refs[0]["key"])]
    assert alias == "QUEUE_METRICS_DATABASE_URL"
    objects = yaml.safe_load(spc["spec"]["parameters"]["objects"])
    datastores = next(o for o in objects if o["objectAlias"] == "datastores.json")
    assert {"path": alias, "objectAlias": alias} in datastores["jmesPath"]
    # Nothing but the metrics token and the read-only URL becomes a Kubernetes Secret.
    assert set(synced.values()) == {"METRICS_TOKEN", "QUEUE_METRICS_DATABASE_URL"}


def test_jobs_worker_bounds_per_environment(rendered):
    so = {t: keda_query(rendered[t])[0]["spec"] for t in OVERLAYS}
    assert so["production"]["maxReplicaCount"] > so["staging"]["maxReplicaCount"]


@pytest.mark.parametrize("target", APP_TARGETS)
def test_openweather_budget_in_the_config(rendered, target):
    config = one(rendered[target], "ConfigMap", "weather-config")["data"]
    budget = config["OPENWEATHER_CALLS_PER_MINUTE"]
    assert budget.isdigit() and int(budget) > 0
    if target != "base":
        base = one(rendered["base"], "ConfigMap", "weather-config")["data"]
        assert budget != base["OPENWEATHER_CALLS_PER_MINUTE"], "each overlay sets its plan's"


def test_webhook_private_targets_never_allowed_in_a_cluster(rendered):
    """WEBHOOK_ALLOW_PRIVATE_TARGETS (development and tests only) is set by no manifest: no
    ConfigMap key, container env, secret file alias or patch, in any rendered target, nor
    in Terraform (a secret file of that name in SECRETS_DIR would set it too)."""
    name = "WEBHOOK_ALLOW_PRIVATE_TARGETS"
    for target, docs in rendered.items():
        for doc in docs:
            assert name not in json.dumps(doc), f"{target}: {doc['kind']}/{doc['metadata']['name']}"
    for path in TERRAFORM.rglob("*"):
        if path.suffix in (".tf", ".tfvars", ".json") and ".terraform" not in path.parts:
            assert name not in path.read_text(), path


def policy_rules(docs, labels, direction):
    """(policy name, rule) of every rule of `direction` that applies to a pod with labels."""
    found = []
    for np in find(docs, "NetworkPolicy"):
        spec = np["spec"]
        if spec.get("policyTypes") and direction.capitalize() not in spec["policyTypes"]:
            continue
        if selects(spec["podSelector"], labels):
            found += [(np["metadata"]["name"], r) for r in spec.get(direction, [])]
    return found


@pytest.mark.parametrize("target", APP_TARGETS)
def test_jobs_worker_network_policy(rendered, target):
    docs = rendered[target]
    labels = one(docs, "Deployment", JOBS_WORKER)["spec"]["template"]["metadata"]["labels"]
    deny = one(docs, "NetworkPolicy", "default-deny-all")["spec"]
    assert selects(deny["podSelector"], labels)
    # Ingress: only the metrics scrapers, from their namespaces, never by address.
    for name, rule in policy_rules(docs, labels, "ingress"):
        for peer in rule["from"]:
            assert "ipBlock" not in peer, name
            ns = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            assert ns in ("monitoring", "amazon-cloudwatch"), name
    # Egress: DNS, PostgreSQL and Redis in the database subnets, HTTPS to public addresses.
    egress = policy_rules(docs, labels, "egress")
    ports = {(p["protocol"], p["port"]) for _, r in egress for p in r.get("ports", [])}
    assert ports == {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 6379), ("TCP", 443)}
    assert all(r.get("ports") and r.get("to") for _, r in egress), "no rule without ports/peers"
    for _, rule in egress:
        rule_ports = {p["port"] for p in rule["ports"]}
        for peer in rule["to"]:
            block = peer.get("ipBlock")
            if block is None:
                assert rule_ports == {53}
                assert peer["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
                continue
            cidr = ipaddress.ip_network(block["cidr"])
            if rule_ports & {5432, 6379}:
                assert rule_ports == {5432, 6379} and cidr.is_private and cidr.prefixlen >= 16
                continue
            assert rule_ports == {443}
            excluded = [ipaddress.ip_network(e) for e in block.get("except", [])]
            # Webhook targets: private, shared, link-local (IMDS, Pod Identity agent) blocked.
            for address in (
                "169.254.169.254",
                "169.254.170.23",
                "10.40.200.10",
                "172.20.0.1",
                "192.168.1.1",
                "100.100.100.200",
            ):
                ip = ipaddress.ip_address(address)
                assert ip not in cidr or any(ip in e for e in excluded), address


# ---------------------------------------------------------------------------
# Secrets Store CSI
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", APP_TARGETS)
def test_secret_provider_class(rendered, target):
    spc = one(rendered[target], "SecretProviderClass", "weather-secrets")
    assert spc["apiVersion"] == "secrets-store.csi.x-k8s.io/v1"
    assert spc["spec"]["provider"] == "aws"
    params = spc["spec"]["parameters"]
    assert params["usePodIdentity"] == "true"
    assert isinstance(params["objects"], str), "parameters.objects must be a YAML string"
    objects = yaml.safe_load(params["objects"])
    aliases = set()
    for obj in objects:
        assert obj["objectType"] == "secretsmanager"
        if target != "base":
            assert obj["objectName"].startswith(f"weather/{target}/"), obj["objectName"]
        for entry in obj["jmesPath"]:
            assert entry["path"] and entry["objectAlias"]
            aliases.add(entry["objectAlias"])
    assert SECRET_FILES <= aliases
    synced = spc["spec"]["secretObjects"][0]
    assert synced["data"][0]["objectName"] == "METRICS_TOKEN"
    monitor = one(rendered[target], "ServiceMonitor", "weather-web")
    creds = monitor["spec"]["endpoints"][0]["authorization"]["credentials"]
    assert creds == {"name": synced["secretName"], "key": synced["data"][0]["key"]}


@pytest.mark.parametrize("target", APP_TARGETS)
def test_web_and_usage_worker_get_the_usage_store_url(rendered, target):
    # USAGE_REDIS_URL is a file in SECRETS_DIR, from the datastores secret, like REDIS_URL.
    docs = rendered[target]
    spc = one(docs, "SecretProviderClass", "weather-secrets")
    objects = yaml.safe_load(spc["spec"]["parameters"]["objects"])
    datastores = next(o for o in objects if o["objectAlias"] == "datastores.json")
    assert {"path": "USAGE_REDIS_URL", "objectAlias": "USAGE_REDIS_URL"} in datastores["jmesPath"]
    secrets_dir = one(docs, "ConfigMap", "weather-config")["data"]["SECRETS_DIR"]
    for name in ("weather-web", "weather-usage-worker"):
        spec = pod_spec(one(docs, "Deployment", name))
        volumes = {v["name"]: v for v in spec["volumes"]}
        app = spec["containers"][0]
        mount = next(m for m in app["volumeMounts"] if m["mountPath"] == secrets_dir)
        csi = volumes[mount["name"]]["csi"]
        assert csi["volumeAttributes"]["secretProviderClass"] == spc["metadata"]["name"], name


@pytest.mark.parametrize("target", APP_TARGETS)
def test_two_trusted_proxies(rendered, target):
    # CloudFront appends the viewer's address, then the ALB appends CloudFront's.
    config = one(rendered[target], "ConfigMap", "weather-config")["data"]
    assert config["TRUSTED_PROXY_COUNT"] == "2"
    public = one(rendered[target], "Ingress", "weather-public")["metadata"]["annotations"]
    attributes = public["alb.ingress.kubernetes.io/load-balancer-attributes"].split(",")
    assert "routing.http.xff_header_processing.mode=append" in attributes


@pytest.mark.parametrize("target", OVERLAYS)
def test_cloudwatch_reads_only_the_metrics_token(rendered, target):
    spc = one(rendered[target], "SecretProviderClass", "cwagent-metrics")
    assert spc["metadata"]["namespace"] == "amazon-cloudwatch"
    objects = yaml.safe_load(spc["spec"]["parameters"]["objects"])
    assert [o["objectName"] for o in objects] == [f"weather/{target}/metrics-token"]


# ---------------------------------------------------------------------------
# Networking
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", APP_TARGETS)
def test_network_policies(rendered, target):
    docs = rendered[target]
    deny = one(docs, "NetworkPolicy", "default-deny-all")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    egress_ports = set()
    ingress_ports = set()
    for np in find(docs, "NetworkPolicy"):
        for rule in np["spec"].get("egress", []):
            for port in rule.get("ports", []):
                egress_ports.add((port["protocol"], port["port"]))
        for rule in np["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                ingress_ports.add((port["protocol"], port["port"]))
    assert {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 6379), ("TCP", 443)} <= egress_ports
    assert ("TCP", 8000) in ingress_ports
    dns = one(docs, "NetworkPolicy", "allow-dns-egress")["spec"]["egress"][0]["to"][0]
    assert dns["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}


@pytest.mark.parametrize("target", APP_TARGETS)
def test_ingresses(rendered, target):
    docs = rendered[target]
    public = one(docs, "Ingress", "weather-public")
    ann = public["metadata"]["annotations"]
    assert ann["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert ann["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert ann["alb.ingress.kubernetes.io/certificate-arn"].startswith("arn:aws:acm:")
    assert ann["alb.ingress.kubernetes.io/healthcheck-path"] == "/readyz"
    assert public["spec"]["ingressClassName"] == "alb"
    paths = {
        p["path"]: p["backend"]["service"]["name"]
        for p in public["spec"]["rules"][0]["http"]["paths"]
    }
    for path in ("/v1", "/o", "/api", "/accounts", "/portal", "/static", "/"):
        assert paths[path] == "weather-web", path
    # /admin and /metrics are answered by the fixed 404 action, never by the app.
    assert paths["/admin"] == "deny" and paths["/metrics"] == "deny"
    assert "alb.ingress.kubernetes.io/actions.deny" in ann
    internal = one(docs, "Ingress", "weather-internal")
    iann = internal["metadata"]["annotations"]
    assert iann["alb.ingress.kubernetes.io/scheme"] == "internal"
    assert iann["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert "alb.ingress.kubernetes.io/wafv2-acl-arn" not in iann
    ipaths = {p["path"] for p in internal["spec"]["rules"][0]["http"]["paths"]}
    # /readyz: the blue/green health gate probes each cluster here (the public ALB answers
    # only CloudFront).
    assert {"/admin", "/metrics", "/static", "/favicon.ico", "/readyz"} <= ipaths
    if target != "base":
        assert public["spec"]["rules"][0]["host"] != internal["spec"]["rules"][0]["host"]
        assert public["spec"]["tls"][0]["hosts"] == [public["spec"]["rules"][0]["host"]]


@pytest.mark.parametrize("target", APP_TARGETS)
def test_public_alb_admits_only_cloudfront(rendered, target):
    public = one(rendered[target], "Ingress", "weather-public")
    ann = public["metadata"]["annotations"]
    # HTTPS only: CloudFront talks https-only to its origins, and the prefix list counts
    # against the security group's rule quota once per listener port.
    assert json.loads(ann["alb.ingress.kubernetes.io/listen-ports"]) == [{"HTTPS": 443}]
    assert "alb.ingress.kubernetes.io/ssl-redirect" not in ann
    # The security group: CloudFront's origin-facing prefix list, nothing else.
    prefix_lists = ann["alb.ingress.kubernetes.io/security-group-prefix-lists"].split(",")
    assert len(prefix_lists) == 1 and re.fullmatch(r"pl-[0-9a-f]{8,17}", prefix_lists[0])
    if target != "base":
        assert prefix_lists[0] != "pl-00000000"
    for key in (
        "alb.ingress.kubernetes.io/inbound-cidrs",
        "alb.ingress.kubernetes.io/security-groups",
        "alb.ingress.kubernetes.io/wafv2-acl-arn",
    ):
        assert key not in ann, key
    # The listener rules: the app only with CloudFront's secret header, whose value is filled
    # in at render time (docs/deploy.md, step 6) and never committed.
    app_services = {
        p["backend"]["service"]["name"]
        for p in public["spec"]["rules"][0]["http"]["paths"]
        if p["backend"]["service"]["port"].get("name") != "use-annotation"
    }
    assert app_services == {"weather-web"}
    for service in app_services:
        conditions = json.loads(ann[f"alb.ingress.kubernetes.io/conditions.{service}"])
        assert conditions == [
            {
                "field": "http-header",
                "httpHeaderConfig": {
                    "httpHeaderName": "X-Origin-Verify",
                    "values": ["${ORIGIN_VERIFY}"],
                },
            }
        ]
    assert "defaultBackend" not in public["spec"]


def test_overlays_have_their_own_hosts_and_arns(rendered):
    def values(t):
        ing = one(rendered[t], "Ingress", "weather-public")
        ann = ing["metadata"]["annotations"]
        return (
            ing["spec"]["rules"][0]["host"],
            ann["alb.ingress.kubernetes.io/certificate-arn"],
        )

    staging, production = values("staging"), values("production")
    assert all(a != b for a, b in zip(staging, production, strict=True))
    base_host = one(rendered["base"], "Ingress", "weather-public")["spec"]["rules"][0]["host"]
    for t in OVERLAYS:
        host = one(rendered[t], "Ingress", "weather-public")["spec"]["rules"][0]["host"]
        assert host != base_host
        web = one(rendered[t], "Deployment", "weather-web")
        env = {e["name"]: e.get("value") for e in pod_spec(web)["containers"][0]["env"]}
        assert env["DJANGO_ALLOWED_HOSTS"].split(",")[0] == host


# ---------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", APP_TARGETS)
def test_prometheus_rules(rendered, target):
    rule = one(rendered[target], "PrometheusRule", "weather-alerts")
    anchors = runbook_anchors()
    seen = {}
    for group in rule["spec"]["groups"]:
        assert group["name"] and group["rules"]
        for r in group["rules"]:
            assert "alert" in r and "expr" in r, r
            used = metric_names(r["expr"])
            assert used, r["alert"]
            assert used <= KNOWN_METRICS, f"{r['alert']}: unknown metrics {used - KNOWN_METRICS}"
            assert "_total_total" not in r["expr"]
            assert r["labels"]["severity"] in ("critical", "warning", "info")
            assert r["annotations"]["summary"] and r["annotations"]["description"]
            url = r["annotations"]["runbook_url"]
            assert "docs/runbook.md#" in url
            anchor = url.split("#", 1)[1]
            assert anchor == r["alert"].lower()
            assert anchor in anchors, f"docs/runbook.md has no heading for #{anchor}"
            seen[r["alert"]] = r["labels"]["severity"]
    for name, severity in REQUIRED_ALERTS.items():
        assert name in seen, f"missing alert {name}"
        if severity:
            assert seen[name] == severity, name


def test_4xx_alert_excludes_429(rendered):
    rule = one(rendered["base"], "PrometheusRule", "weather-alerts")
    rules = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert 'status!="429"' in rules["WeatherHigh4xxRatio"]["expr"]
    assert 'status=~"5.."' in rules["WeatherHigh5xxRatio"]["expr"]
    assert (
        "[24h]" in rules["WeatherPodRestarts"]["expr"]
        and "> 2" in rules["WeatherPodRestarts"]["expr"]
    )
    assert 'reason="CrashLoopBackOff"' in rules["WeatherPodCrashLooping"]["expr"]
    assert 'reason="Evicted"' in rules["WeatherPodEvicted"]["expr"]


SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
# Labels Prometheus puts on every scraped series (the target's), whatever the exporter wrote.
TARGET_LABELS = {"instance", "job"}


def selectors(expr: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(metric name, [(label, operator, value)]) of every `name{...}` in a PromQL expression."""
    found = []
    for m in SELECTOR.finditer(expr):
        body, matchers, pos = m.group(2), [], 0
        while pos < len(body):
            mm = MATCHER.match(body, pos)
            assert mm, f"cannot read matchers {body!r}"
            matchers.append((mm.group(1), mm.group(2), mm.group(3)))
            pos = mm.end()
        found.append((m.group(1), matchers))
    return found


def series_matches(labels: dict[str, str], matchers: list[tuple[str, str, str]]) -> bool:
    for label, op, value in matchers:
        have = labels.get(label, "")
        hit = have == value if op in ("=", "!=") else re.fullmatch(value, have) is not None
        if hit != (op in ("=", "=~")):
            return False
    return True


def test_selector_reader_sees_matchers():
    expr = 'sum by (pod) (rate(a_total{namespace="weather",device=~"(eth|en[ops])[0-9].*",c!=""}[5m])) / b'
    assert selectors(expr) == [
        (
            "a_total",
            [
                ("namespace", "=", "weather"),
                ("device", "=~", "(eth|en[ops])[0-9].*"),
                ("c", "!=", ""),
            ],
        )
    ]
    assert series_matches(
        {"namespace": "weather", "device": "ens5", "c": "web"}, selectors(expr)[0][1]
    )
    assert not series_matches(
        {"namespace": "weather", "device": "eni3f8a", "c": "web"}, selectors(expr)[0][1]
    )
    assert not series_matches({"namespace": "weather", "device": "ens5"}, selectors(expr)[0][1])


def monitoring_exprs(rendered) -> list[tuple[str, str]]:
    """(where, expr) of every alert rule and dashboard query."""
    rule = one(rendered["base"], "PrometheusRule", "weather-alerts")
    exprs = [(r["alert"], r["expr"]) for g in rule["spec"]["groups"] for r in g["rules"]]
    cm = one(rendered["base"], "ConfigMap", "weather-grafana-dashboard")
    dashboard = json.loads(next(iter(cm["data"].values())))
    for panel in dashboard["panels"]:
        exprs += [(f"panel {panel['title']!r}", t["expr"]) for t in panel["targets"]]
    return exprs


def test_cluster_metric_selectors_match_recorded_series(rendered):
    """A selector on an exporter's metric must match a recorded series: label names and
    values (phase="Failed", resource="cpu", mode, device, container!="") as the exporter
    writes them. Grouping labels of rules on exporters' metrics alone must exist too."""
    checked = 0
    for where, expr in monitoring_exprs(rendered):
        for name, matchers in selectors(expr):
            if name not in CLUSTER_METRICS:
                continue
            recorded = [labels for n, labels in CLUSTER_SERIES if n == name]
            assert any(series_matches(labels, matchers) for labels in recorded), (
                f"{where}: {name}{matchers} matches no series in tests/infra/fixtures/cluster-metrics"
            )
            checked += 1
        used = metric_names(expr)
        if used and used <= CLUSTER_METRICS:
            known = TARGET_LABELS | {k for n, labels in CLUSTER_SERIES if n in used for k in labels}
            for group in GROUPING.findall(expr):
                for label in filter(None, (x.strip() for x in group.split(","))):
                    assert label in known, (
                        f"{where}: no recorded series of {sorted(used)} has {label!r}"
                    )
    assert checked >= 15


def test_rules_are_scoped_to_the_weather_namespace(rendered):
    # Node-level series (node-exporter) belong to no namespace; everything else must say
    # namespace="weather", or another namespace's pods would page us.
    rule = one(rendered["base"], "PrometheusRule", "weather-alerts")
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            for name, matchers in selectors(r["expr"]):
                if name.startswith("node_"):
                    continue
                assert ("namespace", "=", "weather") in matchers, f"{r['alert']}: {name}"


def test_resource_alerts(rendered):
    rule = one(rendered["base"], "PrometheusRule", "weather-alerts")
    rules: dict[str, list[dict]] = {}
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            rules.setdefault(r["alert"], []).append(r)

    def only(name):
        assert len(rules[name]) == 1, name
        return rules[name][0]

    cpu = only("WeatherContainerCPUNearLimit")
    assert "rate(container_cpu_usage_seconds_total{" in cpu["expr"]
    assert 'kube_pod_container_resource_limits{namespace="weather",resource="cpu"}' in cpu["expr"]
    assert cpu["expr"].endswith("> 0.9") and cpu["for"] == "10m"
    memory = only("WeatherContainerMemoryNearLimit")
    assert "container_memory_working_set_bytes{" in memory["expr"]
    assert 'resource="memory"' in memory["expr"]
    assert memory["expr"].endswith("> 0.9") and memory["for"] == "5m"
    node_cpu = only("WeatherNodeCPUHigh")
    assert 'mode=~"idle|iowait|steal"' in node_cpu["expr"]
    assert node_cpu["expr"].endswith("> 0.85") and node_cpu["for"] == "15m"
    node_memory = only("WeatherNodeMemoryLow")
    assert (
        node_memory["expr"] == "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.1"
    )
    assert node_memory["for"] == "10m"
    failed = only("WeatherPodFailed")
    assert 'phase="Failed"' in failed["expr"] and failed["for"] == "5m"
    assert (
        'unless on (namespace, pod) (kube_pod_status_reason{namespace="weather",reason="Evicted"} == 1)'
        in failed["expr"]
    )
    # Network: both directions, each rule reading its own direction's counters.
    for name in (
        "WeatherNetworkTrafficSpike",
        "WeatherPodNetworkHigh",
        "WeatherNodeNetworkSaturated",
    ):
        assert {r["labels"]["direction"] for r in rules[name]} == {"receive", "transmit"}, name
        for r in rules[name]:
            other = "transmit" if r["labels"]["direction"] == "receive" else "receive"
            assert f"_{r['labels']['direction']}_bytes_total" in r["expr"], name
            assert f"_{other}_bytes_total" not in r["expr"], name
    for r in rules["WeatherNetworkTrafficSpike"]:
        # Against the last day's average while real traffic was served (blue/green-proof).
        assert "> 4 * avg_over_time((" in r["expr"] and ")[1d:5m])" in r["expr"]
        assert 'view!~"healthz|readyz|metrics"}[5m])) > 1)' in r["expr"]
        assert r["for"] == "15m"
    for r in rules["WeatherPodNetworkHigh"]:
        assert r["expr"].startswith("sum by (namespace, pod) (rate(container_network_")
        assert r["expr"].endswith("> 10000000") and r["for"] == "10m"
    for r in rules["WeatherNodeNetworkSaturated"]:
        assert 'device=~"(eth|en[ops])[0-9].*"' in r["expr"]
        assert r["expr"].endswith("> 78000000") and r["for"] == "15m"


@pytest.mark.parametrize("target", APP_TARGETS)
def test_service_monitors_match_services(rendered, target):
    docs = rendered[target]
    for sm in find(docs, "ServiceMonitor"):
        selector = sm["spec"]["selector"]["matchLabels"]
        services = [
            s
            for s in find(docs, "Service")
            if selector.items() <= s["metadata"].get("labels", {}).items()
        ]
        assert services, f"ServiceMonitor {sm['metadata']['name']} selects no Service"
        port_names = {p["name"] for s in services for p in s["spec"]["ports"]}
        for ep in sm["spec"]["endpoints"]:
            assert ep["port"] in port_names
            assert ep["path"] == "/metrics"
        assert sm["spec"]["namespaceSelector"]["matchNames"] == ["weather"]


def test_grafana_dashboard_uses_known_metrics(rendered):
    cm = one(rendered["base"], "ConfigMap", "weather-grafana-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(next(iter(cm["data"].values())))
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for word in (
        "request rate",
        "error",
        "latency",
        "cache hit",
        "upstream",
        "throttle",
        "metering",
    ):
        assert word in titles, word
    for panel in dashboard["panels"]:
        for t in panel["targets"]:
            assert metric_names(t["expr"]) <= KNOWN_METRICS, t["expr"]


def test_cloudwatch_agent_config(rendered):
    docs = rendered["cloudwatch"]
    cw = json.loads(
        one(docs, "ConfigMap", "prometheus-cwagentconfig")["data"]["cwagentconfig.json"]
    )
    prom = cw["logs"]["metrics_collected"]["prometheus"]
    deployment = one(docs, "Deployment", "cwagent-prometheus")
    mounts = {m["mountPath"] for m in pod_spec(deployment)["containers"][0]["volumeMounts"]}
    assert prom["prometheus_config_path"].rsplit("/", 1)[0] in mounts
    selectors = set()
    for decl in prom["emf_processor"]["metric_declaration"]:
        for sel in decl["metric_selectors"]:
            selectors.add(sel.strip("^$"))
    assert selectors <= KNOWN_METRICS
    scrape = yaml.safe_load(one(docs, "ConfigMap", "prometheus-config")["data"]["prometheus.yaml"])
    web = next(s for s in scrape["scrape_configs"] if s["job_name"] == "weather-web")
    token_file = web["authorization"]["credentials_file"]
    assert token_file.rsplit("/", 1)[0] in mounts
    assert token_file.endswith("/METRICS_TOKEN")


# ---------------------------------------------------------------------------
# Chaos
# ---------------------------------------------------------------------------


def test_chaos_engines_have_experiments_rbac_and_probes(rendered):
    docs = rendered["chaos"]
    web = one(rendered["base"], "Deployment", "weather-web")
    web_labels = web["spec"]["template"]["metadata"]["labels"]
    experiments = {e["metadata"]["name"]: e for e in find(docs, "ChaosExperiment")}
    assert {"pod-delete", "node-drain"} <= set(experiments)
    accounts = {sa["metadata"]["name"] for sa in find(docs, "ServiceAccount")}
    bound = set()
    for binding in find(docs, "ClusterRoleBinding") + find(docs, "RoleBinding"):
        role = binding["roleRef"]["name"]
        assert find(docs, binding["roleRef"]["kind"], role), role
        bound |= {s["name"] for s in binding["subjects"] if s["kind"] == "ServiceAccount"}
    engines = find(docs, "ChaosEngine")
    assert {e["spec"]["experiments"][0]["name"] for e in engines} == {"pod-delete", "node-drain"}
    for engine in engines:
        spec = engine["spec"]
        assert spec["engineState"] in ("active", "stop")
        assert spec["chaosServiceAccount"] in accounts & bound
        assert spec["appinfo"]["appns"] == "weather"
        key, value = spec["appinfo"]["applabel"].split("=")
        assert web_labels[key] == value
        for exp in spec["experiments"]:
            assert exp["name"] in experiments
            probes = exp["spec"]["probe"]
            http = [p for p in probes if p["type"] == "httpProbe"]
            assert any(p["httpProbe/inputs"]["url"].endswith("/healthz") for p in http)
            for p in http:
                assert p["httpProbe/inputs"]["method"]["get"]["responseCode"] == "200"
                assert p["runProperties"]["probeTimeout"]
    for exp in experiments.values():
        definition = exp["spec"]["definition"]
        assert definition["permissions"] and definition["args"]


def test_chaos_is_not_in_the_overlays(rendered):
    for target in APP_TARGETS:
        assert not find(rendered[target], "ChaosEngine")


def test_overlays_do_not_set_a_namespace():
    # k8s/cloudwatch lives in amazon-cloudwatch; an overlay-wide namespace would move it.
    for env in OVERLAYS:
        kustomization = yaml.safe_load((K8S / "overlays" / env / "kustomization.yaml").read_text())
        assert "namespace" not in kustomization
