"""The checks check everything: every kustomization under k8s/ is rendered, validated and
scanned by .ci/check-infra, and what it renders is fit for checkov's namespace rule."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from infra_helpers import K8S, ROOT, TARGETS, kustomization_dirs

CHECK_INFRA = ROOT / ".ci" / "check-infra"

# Kinds that live outside any namespace (everything else must say which one it is in).
CLUSTER_SCOPED = {
    "Namespace",
    "PriorityClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "IngressClass",
}


def check_infra_targets() -> dict[str, Path]:
    # Without the option the script would run every check (minutes, virtualenvs): refuse.
    assert "--list-targets" in CHECK_INFRA.read_text(), ".ci/check-infra cannot list its targets"
    bash = shutil.which("bash")
    assert bash, "bash is needed to run .ci/check-infra"
    out = subprocess.run(
        [bash, str(CHECK_INFRA), "--list-targets"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    targets = {}
    for line in out.splitlines():
        name, _, path = line.partition(":")
        targets[name] = (ROOT / path).resolve()
    return targets


def test_check_infra_renders_every_kustomization():
    on_disk = {d.resolve() for d in kustomization_dirs()}
    assert K8S / "monitoring" in on_disk  # the one check-infra used to miss
    targets = check_infra_targets()
    assert set(targets.values()) == on_disk
    # The tests read the rendered files under the same names.
    assert {name: path.resolve() for name, path in TARGETS.items()} == targets


def test_rendered_dir_holds_every_target(render_dir):
    if not os.environ.get("INFRA_RENDER_DIR"):
        pytest.skip("INFRA_RENDER_DIR not set: the targets are rendered by these tests themselves")
    rendered = {p.stem for p in render_dir.glob("*.yaml")}
    assert set(TARGETS) <= rendered


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_namespaced_resource_names_its_namespace(rendered, target):
    # checkov CKV_K8S_21: a namespaced resource without a namespace lands in "default"
    # (k8s/monitoring's generated Grafana dashboard ConfigMap did when rendered on its own).
    for doc in rendered[target]:
        if doc["kind"] in CLUSTER_SCOPED:
            continue
        namespace = doc["metadata"].get("namespace")
        assert namespace and namespace != "default", (
            f"{target}: {doc['kind']}/{doc['metadata']['name']}"
        )
