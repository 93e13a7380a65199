from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from weatherapi.context import context_attach, request_context
from weatherapi.errors import InternalError, is_api_path, problem_response, to_application_error
from weatherapi.request_id import reset_request_id, sanitize_or_generate, set_request_id

logger = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Outermost: every response, errors included, carries ``X-Request-ID``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = sanitize_or_generate(request.headers.get("X-Request-ID"))
        context_attach(request, request_id)
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-ID"] = request_id
        return response


class ApiExceptionMiddleware:
    """Turns an exception escaping non-DRF code under /v1/ and /api/ into a problem document.

    DRF views already answer through ``api_exception_handler``; this catches what happens
    around them (middleware, Django's own views), so no API client ever sees an HTML 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request):
            return None
        error = to_application_error(exception)
        if isinstance(error, InternalError):
            logger.exception("unhandled error under the API", exc_info=exception)
        request_context(request).error_code = error.code
        return problem_response(error)


class ApiSecurityHeadersMiddleware:
    """The API stack's fixed headers (OWASP REST Security): a JSON answer loads nothing and
    may not be framed. Constant strings, unlike django-csp's per-response policy build.

    Also ``Content-Length``, which the site stack gets from ``CommonMiddleware``: without
    it gunicorn sends chunked answers (and closes HTTP/1.0 connections)."""

    CSP = "default-src 'none'; frame-ancestors 'none'"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not response.streaming and "Content-Length" not in response:
            response.headers["Content-Length"] = str(len(response.content))
        return response
