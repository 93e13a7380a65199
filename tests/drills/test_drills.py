"""The failure drills' code runs in the suite: one quick drill, end to end (scripts/drills.py).

The worker-kill drill starts its own throwaway PostgreSQL cluster (initdb) and a private
redis-server, gunicorn and the usage worker, SIGKILLs the worker twice mid-batch, and
checks that every 2xx answer is billed exactly once. The whole set is
``.venv/bin/python scripts/drills.py`` (run by .ci/run).
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_worker_kill_drill_bills_every_answer_exactly_once() -> None:
    if not shutil.which("redis-server") or not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.skip("needs redis-server and the PostgreSQL server binaries")
    result = subprocess.run(
        [sys.executable, "scripts/drills.py", "--only", "worker-kill"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| worker-kill |" in result.stdout
    assert "all drills passed" in result.stdout
