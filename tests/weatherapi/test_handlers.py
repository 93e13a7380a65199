"""The WSGI application routes the API and the probes to the lean middleware stack."""

from __future__ import annotations

import io
import sys

import pytest
from django.core import signals
from django.db import close_old_connections

from weatherapi.handlers import is_api_stack_path
from weatherapi.wsgi import application


def call(path: str, query: str = "", **headers: str) -> tuple[str, dict[str, list[str]], bytes]:
    """One request through the real WSGI application (what gunicorn calls)."""
    seen: dict[str, object] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: object = None) -> None:
        seen["status"] = status
        seen["headers"] = response_headers

    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "HTTP_HOST": "testserver", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr, **{"HTTP_" + k.upper(): v for k, v in headers.items()},
    }
    # As Django's test client does: the request signals must not close the test's
    # database connection (and with it the test transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    grouped: dict[str, list[str]] = {}
    for name, value in seen["headers"]:  # type: ignore[attr-defined]
        grouped.setdefault(name.lower(), []).append(value.strip())
    return str(seen["status"]), grouped, body


@pytest.mark.parametrize(("path", "lean"), [
    ("/v1/weather/current", True),
    ("/v1/account", True),
    ("/healthz", True),
    ("/readyz", True),
    ("/metrics", True),
    ("/v1", False),  # the site stack's catch-all: a 404 problem document
    ("/healthz/", False),
    ("/api/docs/", False),
    ("/o/token/", False),
    ("/accounts/login/", False),
    ("/portal/", False),
    ("/static/css/portal.css", False),
    ("/favicon.ico", False),
])
def test_which_paths_take_the_lean_stack(path, lean):
    assert is_api_stack_path(path) is lean


def test_static_files_are_served_by_the_site_stack_only(settings):
    """WhiteNoise answers /static/ and /favicon.ico right after the security headers; the
    API stack does not carry it, so an API answer pays nothing for it."""
    whitenoise = "whitenoise.middleware.WhiteNoiseMiddleware"
    security = settings.MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
    assert settings.MIDDLEWARE[security + 1] == whitenoise
    assert whitenoise not in settings.API_MIDDLEWARE


@pytest.mark.django_db
def test_api_answer_has_api_headers_and_no_browser_state(test_key):
    status, headers, body = call("/v1/weather/current", "lat=51.51&lon=-0.13", x_api_key=test_key)
    assert status.startswith("200"), body
    assert headers["content-security-policy"] == ["default-src 'none'; frame-ancestors 'none'"]
    assert headers["x-frame-options"] == ["DENY"]
    assert headers["x-content-type-options"] == ["nosniff"]
    assert headers["content-length"] == [str(len(body))]  # not chunked
    assert "x-request-id" in headers and "ratelimit" in headers
    # No session, CSRF or messages middleware ran: nothing varies on or sets a cookie.
    assert "set-cookie" not in headers
    assert not any("cookie" in v.lower() for v in headers.get("vary", []))


@pytest.mark.django_db
def test_api_errors_are_still_problem_documents_on_the_lean_stack():
    status, headers, body = call("/v1/weather/current", "lat=51.51&lon=-0.13")
    assert status.startswith("401")
    assert headers["content-type"] == ["application/problem+json"]
    assert headers["content-length"] == [str(len(body))]
    assert b'"authentication_required"' in body


def test_probe_takes_the_lean_stack():
    status, headers, body = call("/healthz")
    assert status.startswith("200")
    assert headers["content-length"] == [str(len(body))]
    assert headers["content-security-policy"] == ["default-src 'none'; frame-ancestors 'none'"]


@pytest.mark.django_db
def test_portal_page_keeps_the_full_browser_stack():
    status, headers, body = call("/accounts/login/")
    assert status.startswith("200"), body[:300]
    assert any(c.startswith("csrftoken=") for c in headers["set-cookie"])
    assert "default-src 'self'" in headers["content-security-policy"][0]
    assert headers["x-frame-options"] == ["DENY"]


@pytest.mark.django_db
def test_the_suites_test_clients_route_like_the_wsgi_application(client, test_client):
    """tests/support/client.py: API tests through Django's test client run the lean stack."""
    api = test_client.get("/v1/weather/current?lat=51.51&lon=-0.13")
    assert api.status_code == 200
    assert api["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    page = client.get("/accounts/login/")
    assert "default-src 'self'" in page["Content-Security-Policy"]
    assert "csrftoken" in page.cookies
