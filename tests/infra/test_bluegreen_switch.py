"""scripts/bluegreen_switch.py: the plan, and --dry-run working offline without boto3."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from infra_helpers import ROOT

SCRIPT = ROOT / "scripts" / "bluegreen_switch.py"
ARGS = [
    "--zone-id",
    "Z0000000EXAMPLE",
    "--record-name",
    "api.eu-west-1.weatherapi.example.com",
    "--health-url",
    "https://weather-public.green.eu-west-1.weatherapi.example.com/readyz",
    "--host-header",
    "api.weatherapi.example.com",
]


def load():
    spec = importlib.util.spec_from_file_location("bluegreen_switch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run(*extra):
    # -S: no site-packages, so the dry run provably needs neither boto3 nor network.
    return subprocess.run(
        [sys.executable, "-S", str(SCRIPT), *ARGS, *extra],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_default_plan_moves_weights_stepwise():
    plan = load().build_plan("green")
    assert [s.weights for s in plan] == [
        {"green": 10, "blue": 90},
        {"green": 50, "blue": 50},
        {"green": 100, "blue": 0},
    ]
    assert plan[0].wait_seconds == 0 and plan[1].wait_seconds == 300


def test_plan_back_to_blue():
    plan = load().build_plan("blue", [25, 100], step_wait=60)
    assert [s.weights["blue"] for s in plan] == [25, 100]
    assert all(sum(s.weights.values()) == 100 for s in plan)


@pytest.mark.parametrize("steps", [[], [50, 10, 100], [10, 50], [0, 100], [10, 10, 100], [150]])
def test_invalid_plans_rejected(steps):
    module = load()
    with pytest.raises(module.PlanError):
        module.build_plan("green", steps)


def test_dry_run_prints_plan_offline():
    result = run("--to", "green", "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "blue -> green" in out
    for weights in ("blue=90, green=10", "blue=50, green=50", "blue=0, green=100"):
        assert weights in out
    assert "/readyz" in out and "Host: api.weatherapi.example.com" in out
    assert "dry run: nothing changed" in out


def test_dry_run_json():
    result = run("--to", "blue", "--steps", "10,50,100", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.split("\ndry run")[0])
    assert payload["to"] == "blue"
    assert [s["weights"]["blue"] for s in payload["steps"]] == [10, 50, 100]
    assert payload["steps"][0]["gates_before"] == ["http"]


def test_bad_steps_exit_64():
    result = run("--to", "green", "--steps", "50,10", "--dry-run")
    assert result.returncode == 64
    assert "increasing" in result.stderr


def test_real_switch_refuses_without_gate():
    result = subprocess.run(
        [
            sys.executable,
            "-S",
            str(SCRIPT),
            "--zone-id",
            "Z",
            "--record-name",
            "x.example.com",
            "--to",
            "green",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 64
    assert "health gate" in result.stderr
