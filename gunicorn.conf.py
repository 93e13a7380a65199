"""gunicorn settings, all from the environment so Kubernetes sizes them from the CPU limit.

gthread workers: a thread blocked on a slow upstream does not stop the worker's other
threads from serving cached answers (measured in docs/performance.md).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = f"{os.environ.get('GUNICORN_BIND_HOST', '0.0.0.0')}:{_int('PORT', 8000)}"  # noqa: S104 - inside the pod
workers = _int("GUNICORN_WORKERS", 2)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = _int("GUNICORN_THREADS", 8)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
backlog = _int("GUNICORN_BACKLOG", 2048)
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if Path("/dev/shm").is_dir() else None)
preload_app = os.environ.get("GUNICORN_PRELOAD", "0") == "1"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "*")
proc_name = "weatherapi"
# Access log as one JSON object a line; the app writes its own richer request line too.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
if accesslog == "off":
    accesslog = None
access_log_format = (
    '{"time":"%(t)s","logger":"gunicorn.access","remote":"%(h)s","method":"%(m)s","path":"%(U)s",'
    '"status":%(s)s,"bytes":"%(B)s","duration_us":%(D)s,"request_id":"%({x-request-id}o)s",'
    '"user_agent":"%(a)s"}'
)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "raw": {"format": "%(message)s"},
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"},
        "error": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"},
        "access": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "raw"},
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    # Multiprocess metrics: stale files from a previous run would be summed in.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        if path.exists():
            for child in path.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        path.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
