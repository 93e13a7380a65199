"""Shared helpers of the infrastructure checks (importable: pytest.ini sets pythonpath)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
TERRAFORM = ROOT / "terraform"
DOCS = ROOT / "docs"
OVERLAYS = ("staging", "production")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomization_dirs() -> list[Path]:
    """Every directory under k8s/ holding a kustomization (what .ci/check-infra renders)."""
    return sorted({p.parent for name in KUSTOMIZATION_FILES for p in K8S.rglob(name)})


# Rendered target name (the directory's name, as .ci/check-infra names them) -> directory.
TARGETS = {d.name: d for d in kustomization_dirs()}


def runbook_anchors() -> set[str]:
    """GitHub's anchors of the headings of docs/runbook.md (alerts and alarms link them)."""
    anchors = set()
    for line in (DOCS / "runbook.md").read_text().splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


def find(docs, kind, name=None):
    return [
        d for d in docs if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)
    ]


def one(docs, kind, name):
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected exactly one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_spec(doc):
    kind = doc["kind"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return doc["spec"]["template"]["spec"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind == "Pod":
        return doc["spec"]
    return None


def containers(spec):
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def workloads(docs):
    return [d for d in docs if pod_spec(d) is not None]


# ---------------------------------------------------------------------------
# Recorded exposition of the cluster's exporters (kubelet/cAdvisor, kube-state-metrics,
# node-exporter): the series alert rules may read besides the app's own.
# ---------------------------------------------------------------------------

CLUSTER_METRICS_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cluster-metrics"
_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+\S+(?:\s+\d+)?$")
_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_exposition(text: str) -> list[tuple[str, dict[str, str]]]:
    """(sample name, labels) of every sample line of a Prometheus text exposition."""
    series = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"line {number} is not a sample: {line!r}"
        body, labels, pos = m.group(2) or "", {}, 0
        while pos < len(body):
            lm = _LABEL.match(body, pos)
            assert lm, f"line {number}: bad labels at {body[pos:]!r}"
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        series.append((m.group(1), labels))
    return series


def cluster_series() -> list[tuple[str, dict[str, str]]]:
    """Every recorded series of the cluster's exporters."""
    series = []
    for path in sorted(CLUSTER_METRICS_FIXTURES.glob("*.prom")):
        series += parse_exposition(path.read_text())
    assert series, f"no fixtures in {CLUSTER_METRICS_FIXTURES}"
    return series
