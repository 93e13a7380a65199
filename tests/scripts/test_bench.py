"""``scripts/bench.py``'s reading of the app's own access lines (its "time inside the app").

The benchmark itself is a script that prints numbers (docs/performance.md); what can be
proved without timing anything is that it reads the lines the app really writes: the
real ``settings.LOGGING`` writes to a file, as gunicorn's stdout does in the benchmark.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.logs import app_logs_to


def _bench_module():  # type: ignore[no-untyped-def]
    # Loaded from its file, as the other scripts' tests do: scripts/ never goes on sys.path.
    spec = importlib.util.spec_from_file_location("bench", Path(__file__).resolve().parents[2] / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


AppLatency = _bench_module().AppLatency

pytestmark = pytest.mark.django_db

CURRENT = "/v1/weather/current"


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The app's LOGGING writing its JSON lines to a file, as gunicorn's stdout does."""
    path = tmp_path / "gunicorn.log"
    with path.open("w", encoding="utf-8") as stream, app_logs_to(stream):
        yield path


def _logged(path: Path, view: str) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if line.get("logger") == "weatherapi.access" and line["view"] == view]


def test_takes_the_scenario_views_latencies_from_the_window_only(client, live_client, upstream, log_file):
    latency = AppLatency(log_file)
    client.get("/healthz")  # before the window
    since = latency.mark()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    # A miss then a hit of the same place, in the same window.
    for _ in range(2):
        assert live_client.get(CURRENT, {"lat": "51.51", "lon": "-0.13"}).status_code == 200

    latency.take("1", since, view="healthz")
    latency.take("2", since, view="weather-current", cache="hit")
    latency.take("4", since, view="weather-current", cache="miss")

    healthz = _logged(log_file, "healthz")
    weather = _logged(log_file, "weather-current")
    assert len(healthz) == 4
    assert latency.samples["1"] == [line["latency_ms"] for line in healthz[1:]]
    assert [line["cache"] for line in weather] == ["miss", "hit"]
    assert latency.samples["2"] == [weather[1]["latency_ms"]]
    assert latency.samples["4"] == [weather[0]["latency_ms"]]


def test_skips_lines_that_are_not_whole_access_lines(tmp_path: Path):
    log = tmp_path / "gunicorn.log"
    access = {"logger": "weatherapi.access", "view": "healthz", "latency_ms": 0.3}
    log.write_text(
        "gunicorn booting\n"
        # Another logger's line that quotes the access logger's name, with the same fields.
        + json.dumps({**access, "logger": "gunicorn.error", "message": "weatherapi.access", "latency_ms": 9.9}) + "\n"
        + json.dumps(access) + "\n"
        + json.dumps(access)[:30] + "\n"  # cut short by the read
    )
    latency = AppLatency(log)
    latency.take("1", 0, view="healthz")
    assert latency.samples["1"] == [0.3]


def test_summary_gives_each_scenarios_median_and_99th_percentile(tmp_path: Path):
    latency = AppLatency(tmp_path / "unused.log")
    latency.samples = {"1": [float(v) for v in range(1, 101)], "2": [], "3": [7.0]}
    assert latency.summary() == "(1) p50 50.0 p99 99.0; (3) p50 7.0 p99 7.0"
