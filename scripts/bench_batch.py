#!/usr/bin/env python
"""What a batch saves a client: 100 cached answers as 100 single calls against one
``POST /v1/batch`` of the same 100 items, through gunicorn with the production settings,
PostgreSQL, the local Redis and the fake upstream, in one run.

    .venv/bin/python scripts/bench_batch.py [--items 100] [--rounds 20]

Prints the wall time of each way (median of the rounds, one keep-alive connection, the
cache warm) and their ratio. Environment: BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/weatherapi_benchbatch), BENCH_REDIS_URL (default
redis://127.0.0.1:6379/14, a database of its own).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.openweather import FakeOpenWeather  # noqa: E402
from tests.support.servers import GunicornServer, ensure_database  # noqa: E402


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    database = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weatherapi_benchbatch")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    ensure_database(database)
    with tempfile.TemporaryDirectory(prefix="wx-batch-") as tmp, FakeOpenWeather() as upstream:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "weatherapi.settings", "DATABASE_URL": database,
               "REDIS_URL": redis_url, "OPENWEATHER_BASE_URL": upstream.url, "OPENWEATHER_API_KEY": upstream.api_key,
               "LOG_LEVEL": "WARNING", "CACHE_KEY_PREFIX": f"benchbatch{os.getpid()}"}
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "upsert_plan", "benchbatch", "--name", "Bench batch", "--requests-per-minute", "1000000",
               "--included", "100000000", "--overage-per-1000", "0.01")
        key = manage(env, "create_api_key", "--email", "benchbatch@example.com", "--plan", "benchbatch",
                     "--name", "bench").strip().splitlines()[-1]
        server_env = {k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "OPENWEATHER_BASE_URL", "OPENWEATHER_API_KEY",
                                          "CACHE_KEY_PREFIX", "LOG_LEVEL")}
        server_env.update({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "bench-" + "x" * 50,
                           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0"})
        places = [{"lat": round(-50 + i * 0.9, 2), "lon": round(-120 + i * 2.3, 2)} for i in range(args.items)]
        items = [{"id": f"p{i}", "endpoint": "weather/current", "params": p} for i, p in enumerate(places)]
        with GunicornServer(server_env, workers=2, threads=8, log_path=Path(tmp) / "gunicorn.log") as server:
            session = requests.Session()
            session.headers["X-API-Key"] = key
            current = server.url + "/v1/weather/current"
            for p in places:  # warm the cache: both ways read the same cached answers
                assert session.get(current, params=p, timeout=10).status_code == 200
            singles, batches = [], []
            for _ in range(args.rounds):
                started = time.perf_counter()
                for p in places:
                    assert session.get(current, params=p, timeout=10).status_code == 200
                singles.append(time.perf_counter() - started)
                started = time.perf_counter()
                response = session.post(server.url + "/v1/batch", json={"requests": items}, timeout=30)
                batches.append(time.perf_counter() - started)
                assert response.status_code == 200 and {r["status"] for r in response.json()["results"]} == {200}
        single, batch = statistics.median(singles), statistics.median(batches)
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        print(f"{args.items} cached answers, median of {args.rounds} rounds, one keep-alive connection:")
        print(f"  {args.items} single GETs:        {single * 1000:8.1f} ms  ({single / args.items * 1e6:6.0f} µs an answer)")
        print(f"  one POST /v1/batch:       {batch * 1000:8.1f} ms  ({batch / args.items * 1e6:6.0f} µs an answer)")
        print(f"  ratio singles / batch:    {single / batch:8.2f}")
        print(f"  upstream calls (the warm-up only): {upstream.calls()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
