"""Fixtures for the infrastructure checks: rendered kustomize output and parsed Terraform.

INFRA_RENDER_DIR (set by .ci/check-infra) points at a directory holding one rendered
file per kustomize target, named after the kustomization's directory (base.yaml,
staging.yaml, production.yaml, chaos.yaml, cloudwatch.yaml, monitoring.yaml). Without it
the targets are rendered here with `kubectl kustomize`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from infra_helpers import TARGETS


def _render(target: str, out_dir: Path) -> Path:
    out = out_dir / f"{target}.yaml"
    if not out.exists():
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            pytest.skip("kubectl not installed and INFRA_RENDER_DIR not set")
        text = subprocess.run(
            [kubectl, "kustomize", str(TARGETS[target])],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        out.write_text(text)
    return out


@pytest.fixture(scope="session")
def render_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = os.environ.get("INFRA_RENDER_DIR")
    if env:
        return Path(env)
    return tmp_path_factory.mktemp("rendered")


@pytest.fixture(scope="session")
def rendered(render_dir: Path):
    """target name -> list of manifest dicts."""
    docs = {}
    for target in TARGETS:
        path = _render(target, render_dir)
        docs[target] = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs
