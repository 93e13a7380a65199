"""gunicorn settings, all from the environment so Kubernetes sizes them from the CPU limit.

gthread workers: a thread blocked on a slow upstream does not stop the worker's other
threads from serving cached answers (scenario (5) of scripts/bench.py).
"""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path

from gunicorn import glogging


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = f"{os.environ.get('GUNICORN_BIND_HOST', '0.0.0.0')}:{_int('PORT', 8000)}"  # noqa: S104 - inside the pod
workers = _int("GUNICORN_WORKERS", 2)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = _int("GUNICORN_THREADS", 32)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
backlog = _int("GUNICORN_BACKLOG", 2048)
# gunicorn's own 414 is an HTML page; let long URLs reach Django, which answers a problem
# document (the API caps query strings at 2,048 characters). 8190 is gunicorn's maximum.
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 8190)
# Above the WAF's 200-header rule plus what the ALB adds, so a request the WAF lets through
# never meets gunicorn's HTML 431 (docs/deploy.md, request size limits).
limit_request_fields = _int("GUNICORN_LIMIT_REQUEST_FIELDS", 256)
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if Path("/dev/shm").is_dir() else None)  # noqa: S108 - gunicorn heartbeat files
# Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new
# connections over them. With one shared socket the first worker to wake accepted whole
# bursts: in 2 of 5 benchmark rounds one worker held all 16 keep-alive connections and the
# pod served half as much (docs/performance.md). Cost: connections still in a worker's own
# accept queue when it exits are reset (Kubernetes deregisters the pod from the ALB first).
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1") == "1"
preload_app = os.environ.get("GUNICORN_PRELOAD", "0") == "1"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "*")
proc_name = "weatherapi"
# The app writes the one access line per request (weatherapi.access_log: request id,
# route, status, latency, account, credential prefix, cache, error code). gunicorn's own
# access log would be a second, poorer line for the same request: off unless
# GUNICORN_ACCESS_LOG is set ("-" for stdout). Its format logs the path, never the query.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "off") or None
if accesslog == "off":
    accesslog = None
access_log_format = (
    '{"time":"%(t)s","logger":"gunicorn.access","remote":"%(h)s","method":"%(m)s","path":"%(U)s",'
    '"status":%(s)s,"bytes":"%(B)s","duration_us":%(D)s,"request_id":"%({x-request-id}o)s",'
    '"user_agent":"%(a)s"}'
)


class Logger(glogging.Logger):
    """gunicorn treats any ``logconfig_dict`` as "access log on" and builds every request's
    access-log atoms (docs/performance.md) only for the
    ``CRITICAL`` level below to drop them. Django's own access line is the one we keep."""

    @property
    def access_log_enabled(self) -> bool:
        return bool(self.cfg.accesslog)


logger_class = Logger
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn's own lines (boot, worker exits, timeouts) as JSON on stdout, through the same
# redaction as the app's (weatherapi.logging imports nothing from Django).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "weatherapi.logging.RedactSecretsFilter"}},
    "formatters": {
        "json": {
            "()": "weatherapi.logging.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "raw": {"()": "weatherapi.logging.PlainFormatter", "fmt": "%(message)s"},
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json",
            "filters": ["redact"],
        },
        "error": {
            "class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json",
            "filters": ["redact"],
        },
        "access": {
            "class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "raw",
            "filters": ["redact"],
        },
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": loglevel.upper(), "propagate": False},
        # With a logconfig_dict gunicorn logs access lines whatever ``accesslog`` says:
        # "off" has to be said here too.
        "gunicorn.access": {
            "handlers": ["access"] if accesslog else [],
            "level": "INFO" if accesslog else "CRITICAL",
            "propagate": False,
        },
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


def post_worker_init(worker) -> None:  # type: ignore[no-untyped-def]
    # The app is loaded: what exists now (Django, the URL and middleware chains, modules)
    # lives as long as the worker. Frozen, the cyclic collector never walks it again: a
    # full collection walks them all with the GIL held, stopping every thread of the
    # worker (scripts/bench_scale.py gc, docs/performance.md). Garbage made while serving is collected as before.
    gc.freeze()
