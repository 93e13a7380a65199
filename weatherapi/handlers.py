"""One WSGI application, two middleware stacks.

The API (``/v1/``) and the machine endpoints (``/healthz``, ``/readyz``, ``/metrics``) are
called by programs with a key or a token, never by a browser with a session. Sessions,
CSRF, messages, allauth, axes, django-csp and the clickjacking middleware do nothing for
them, yet cost a large share of a cached weather answer's CPU (docs/performance.md). So
those paths run ``settings.API_MIDDLEWARE``: the shared outer middleware (request id,
access log, Prometheus, security headers, the API error handler, metering) plus fixed
API security headers. Everything else runs the full ``settings.MIDDLEWARE``.

The routing is by path only, before Django resolves the URL. The settings build both
stacks from the same shared pieces (``SITE_ONLY_MIDDLEWARE`` is what only the site stack
has), so the two cannot drift apart in order or content.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

API_PATH_PREFIXES = ("/v1/",)
API_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

# load_middleware reads settings.MIDDLEWARE; building the API chain swaps it for the
# duration of that one call, at start-up, under this lock.
_load_lock = threading.Lock()


def is_api_stack_path(path: str) -> bool:
    return path in API_PATHS or path.startswith(API_PATH_PREFIXES)


class ApiStackMixin:
    """For a Django handler class: its middleware chain is ``settings.API_MIDDLEWARE``
    (the test suite's client uses it too, so API tests run the stack gunicorn runs)."""

    def load_middleware(self, is_async: bool = False) -> None:
        with _load_lock:
            site = settings.MIDDLEWARE
            settings.MIDDLEWARE = settings.API_MIDDLEWARE
            try:
                super().load_middleware(is_async)  # type: ignore[misc]
            finally:
                settings.MIDDLEWARE = site


class ApiWSGIHandler(ApiStackMixin, WSGIHandler):
    """A WSGIHandler whose middleware chain is ``settings.API_MIDDLEWARE``."""


class RoutedWSGIApplication:
    """Sends API and probe paths to the lean stack and the rest to the full one."""

    def __init__(self) -> None:
        self.site = WSGIHandler()
        self.api = ApiWSGIHandler()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        handler = self.api if is_api_stack_path(environ.get("PATH_INFO", "")) else self.site
        return handler(environ, start_response)
