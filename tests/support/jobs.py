"""Processes and servers for job tests: ``python manage.py jobs_worker`` as its Deployment
runs it, and a webhook receiver on 127.0.0.1 that verifies what it gets with the
``standardwebhooks`` package, as a customer's would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook

from tests.support.servers import ROOT, stop_process_group


class JobsWorker:
    """``manage.py jobs_worker`` in its own process group (SIGKILL takes it all)."""

    def __init__(self, env: Mapping[str, str], *, log_path: Path | None = None) -> None:
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "weatherapi.settings", "LOG_LEVEL": "WARNING", **env}
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> JobsWorker:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "jobs_worker"], cwd=ROOT, env=self.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int | None:
        return stop_process_group(self.proc, sig, timeout)

    def __enter__(self) -> JobsWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: Any  # the payload as standardwebhooks' verify() returned it, or the error
    status: int  # what the receiver answered


@dataclass
class Receiver:
    """Answers each delivery with ``answers()`` (an HTTP status) after verifying it with the
    account's secret (``secret`` is set by the test once it knows it)."""

    answers: Callable[[int], int] = lambda n: 200
    secret: str = ""
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    verified: Any = Webhook(receiver.secret).verify(body, headers)
                except Exception as e:  # noqa: BLE001 - recorded for the test to see
                    verified = e
                with receiver._lock:
                    status = receiver.answers(len(receiver.received))
                    receiver.received.append(Received(headers, body, verified, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n: int, timeout: float) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= n:
                    return list(self.received)
            time.sleep(0.1)
        raise AssertionError(f"{len(self.received)} deliveries arrived, expected {n}")


def payload_of(received: Received) -> dict[str, Any]:
    return json.loads(received.body)
