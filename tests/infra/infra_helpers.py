"""Shared helpers of the infrastructure checks (importable: pytest.ini sets pythonpath)."""

from __future__ import annotations

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
