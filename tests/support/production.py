"""gunicorn with the production settings, for tests that must see what production serves.

``production_server()`` starts gunicorn (the shipped gunicorn.conf.py) with
``DJANGO_DEBUG=0``, the test database (committed data only: use
``django_db(transaction=True)``), the suite's Redis and ``TRUSTED_PROXY_COUNT=1`` as in the
Kubernetes config. ``https`` are the headers the ALB adds to every request it forwards;
``tests/support/proxy.py`` is a real proxy in front for tests where client addresses
matter.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType

from django.conf import settings

from tests.support.servers import GunicornServer, current_database_url

HOST = "api.example.com"
# What the ALB sets on what it forwards (TLS ends there).
# Read-only: one test's client once wrote its API key into this shared dict, and every later
# request of the run carried it.
HTTPS: Mapping[str, str] = MappingProxyType({"Host": HOST, "X-Forwarded-Proto": "https"})


def production_env(**extra: str) -> dict[str, str]:
    env = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": f"{HOST},127.0.0.1",
        "METRICS_TOKEN": secrets.token_urlsafe(20),
        "TRUSTED_PROXY_COUNT": "1",
        "DATABASE_URL": current_database_url(),
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    return env


@contextmanager
def production_server(tmp_path: Path, env: Mapping[str, str] | None = None, *, threads: int = 8,
                      port: int | None = None) -> Iterator[GunicornServer]:
    """gunicorn (2 workers) with ``production_env()`` plus ``env``; its log in ``tmp_path``.
    Static files are collected as the image's build does (``tests/support/static.py``)."""
    with GunicornServer(production_env(**dict(env or {})), workers=2, threads=threads,
                        log_path=tmp_path / "gunicorn.log", port=port) as server:
        yield server
