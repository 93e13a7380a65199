#!/usr/bin/env python
"""Contract fuzzing by hand: schemathesis against a throwaway server, every /v1/ operation.

    .venv/bin/python scripts/run_schemathesis.py [--mode positive|negative|all] [--max-examples N] [--seed S]

Makes a throwaway SQLite database in a temporary folder (migrated; a ``fuzz`` plan with a
high burst limit; a live key), starts the fake OpenWeather and gunicorn on free ports, runs
``st run`` with every default check (and the hooks of ``tests/contract/hooks.py``, which keep
requests to the one-location rule) and prints its output. Exits with schemathesis' code.
``REDIS_URL`` is passed through when set (the cache keys get a unique prefix). The test
suite runs the same thing in ``tests/contract/test_schemathesis.py``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.contract.runner import DEFAULT_MAX_EXAMPLES, run_st, st_command  # noqa: E402
from tests.fakes.openweather import FakeOpenWeather  # noqa: E402
from tests.support.servers import GunicornServer  # noqa: E402


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", default="all", choices=["positive", "negative", "all"])
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES)
    parser.add_argument("--seed", type=int)
    args, extra = parser.parse_known_args()

    with tempfile.TemporaryDirectory(prefix="wx-fuzz-") as tmp, FakeOpenWeather() as upstream:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "weatherapi.settings",
            "DATABASE_URL": f"sqlite:///{tmp}/fuzz.sqlite3",
            "DJANGO_DEBUG": "1",
            "LOG_LEVEL": "WARNING",
            "OPENWEATHER_BASE_URL": upstream.url,
            "OPENWEATHER_API_KEY": upstream.api_key,
            "CACHE_KEY_PREFIX": f"fuzz{os.getpid()}",
        }
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "upsert_plan", "fuzz", "--name", "Fuzz", "--requests-per-minute", "100000",
               "--included", "100000000", "--overage-per-1000", "0.01")
        key = manage(env, "create_api_key", "--email", "fuzz@example.com", "--plan", "fuzz",
                     "--name", "schemathesis").strip().splitlines()[-1]
        server_env = {k: env[k] for k in ("DATABASE_URL", "DJANGO_DEBUG", "OPENWEATHER_BASE_URL",
                                          "OPENWEATHER_API_KEY", "CACHE_KEY_PREFIX")}
        # Webhook endpoint URLs are loopback ones (tests/contract/hooks.py): no name is looked up.
        server_env["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = "1"
        with GunicornServer(server_env, workers=2, threads=8, log_path=Path(tmp) / "gunicorn.log") as server:
            command = st_command(base_url=server.url, api_key=key, mode=args.mode, postgresql=False,
                                 max_examples=args.max_examples, seed=args.seed, extra=extra)
            print("$", " ".join(c if "X-API-Key" not in c else "'X-API-Key: ***'" for c in command), flush=True)
            result = run_st(command)
            print(result.stdout, result.stderr, sep="", end="")
            if result.returncode != 0:
                print((Path(tmp) / "gunicorn.log").read_text(errors="replace")[-5000:], file=sys.stderr)
            return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
