"""Start real processes for tests and benchmarks: gunicorn running the app, on a free port.

The caller passes the environment (DATABASE_URL of the test database, REDIS_URL, the fake
upstream's URL). ``GunicornServer`` waits for ``/healthz`` and stops the whole process
group on exit. With ``DJANGO_DEBUG=0`` it serves the static files ``collectstatic`` made
with the production settings (``tests/support/static.py``), as the image does.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` on the local server when it is missing
    (the benchmarks' own databases); any other URL is left alone."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    name = url.rsplit("/", 1)[1].split("?")[0]
    exists = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{name}'"],  # noqa: S608 - a local benchmark's own name
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)


def current_database_url() -> str:
    """The URL of the database pytest-django is using right now (call inside a db test)."""
    from django.db import connection

    s = connection.settings_dict
    if "sqlite" in s["ENGINE"]:
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def stop_process_group(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> int | None:
    """Send ``sig`` to the process's group (started with ``start_new_session``), SIGKILL it
    after ``timeout`` seconds; its exit code (None if it never started)."""
    if proc is None:
        return None
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


class GunicornServer:
    def __init__(
        self,
        env: Mapping[str, str],
        *,
        workers: int = 2,
        threads: int = 8,
        worker_class: str | None = None,  # None: gunicorn.conf.py's, what ships
        extra_args: list[str] | None = None,
        log_path: Path | None = None,
        port: int | None = None,  # None: a free one; given when a proxy in front must know it first
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "weatherapi.settings",
            "PORT": str(self.port),
            "GUNICORN_BIND_HOST": "127.0.0.1",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_ACCESS_LOG": "off",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.env.pop("PYTEST_CURRENT_TEST", None)
        if self.env.get("DJANGO_DEBUG") == "0" and "DJANGO_STATIC_ROOT" not in env:
            # The production settings serve static files from a collectstatic's output.
            from tests.support.static import collected_static_root

            self.env["DJANGO_STATIC_ROOT"] = str(collected_static_root())
        if worker_class is not None:
            self.env["GUNICORN_WORKER_CLASS"] = worker_class
        elif "GUNICORN_WORKER_CLASS" not in env:
            self.env.pop("GUNICORN_WORKER_CLASS", None)
        self.extra_args = extra_args or []
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> GunicornServer:
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *self.extra_args,
             "weatherapi.wsgi:application"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not become healthy")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        return stop_process_group(self.proc, sig, timeout)

    def __enter__(self) -> GunicornServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
