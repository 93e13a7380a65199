"""Run schemathesis (its CLI, ``st run``) against a live server: shared by the contract test
and ``scripts/run_schemathesis.py``.

The schema is read from the running server's ``/api/schema/``, so what is fuzzed is what
the server publishes. Every default check runs; no operation is excluded, except, on a
server on SQLite, those that need the task queue (``NEEDS_POSTGRESQL``). ``hooks.py`` keeps the
generated requests to the weather operations' "exactly one location" rule, which the schema
states in words only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ST = Path(sys.executable).with_name("st")
HOOKS = Path(__file__).resolve().with_name("hooks.py")

# Bounded so one mode takes about a minute on two cores (8 operations).
DEFAULT_MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30"))


# Operations a server on the embedded SQLite default answers 503 by design: jobs need the
# task queue, which runs on PostgreSQL (docs/design.md, batches, jobs and webhooks).
NEEDS_POSTGRESQL = ("jobs_create",)


def st_command(
    *,
    base_url: str,
    api_key: str,
    mode: str,
    postgresql: bool = True,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    report_dir: Path | None = None,
    seed: int | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    command = [
        str(ST), "run", f"{base_url}/api/schema/",
        "--url", base_url,
        "--header", f"X-API-Key: {api_key}",
        "--mode", mode,
        "--max-examples", str(max_examples),
        "--workers", "2",
        "--request-timeout", "15",
        "--generation-database", "none",
        "--continue-on-failure",
        "--no-color",
        "--output-truncate", "false",
    ]
    if report_dir is not None:
        command += ["--report", "junit", "--report-dir", str(report_dir)]
    if seed is not None:
        command += ["--seed", str(seed)]
    if not postgresql:
        for operation_id in NEEDS_POSTGRESQL:
            command += ["--exclude-operation-id", operation_id]
    return [*command, *extra]


def run_st(command: list[str], *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false", "SCHEMATHESIS_HOOKS": str(HOOKS)}
    return subprocess.run(  # noqa: S603 - our own command line
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
