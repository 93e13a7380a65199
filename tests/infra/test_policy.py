"""Policy of the checks themselves: checkov skips are inline and carry a reason."""

from __future__ import annotations

import re

import yaml
from infra_helpers import K8S, ROOT, TERRAFORM

TF_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")
K8S_SKIP = re.compile(r"checkov\.io/skip\d+:\s*([A-Z0-9_]+)(?:=(.*))?")


def test_no_global_skips():
    config = yaml.safe_load((ROOT / ".checkov.yaml").read_text())
    for key in ("skip-check", "skip_check", "soft-fail", "soft-fail-on", "skip-path"):
        assert key not in config, f".checkov.yaml must not use {key}"
    assert config["skip-download"] is True
    assert config["download-external-modules"] is False


def test_every_inline_skip_has_a_reason():
    found = 0
    for path in list(TERRAFORM.rglob("*.tf")) + list(K8S.rglob("*.yaml")):
        pattern = TF_SKIP if path.suffix == ".tf" else K8S_SKIP
        for line in path.read_text().splitlines():
            m = pattern.search(line)
            if m:
                found += 1
                reason = (m.group(2) or "").strip()
                assert len(reason) >= 20, f"{path}: skip {m.group(1)} without a real reason"
    assert found, "expected the documented inline skips"
