"""One exception family and one handler (docs/design.md, errors).

Domain code raises ``ApplicationError`` subclasses with a stable ``code``; the DRF
exception handler below, the not-found/error views and ``ApiExceptionMiddleware`` turn
every error under ``/v1/`` and ``/api/`` into an RFC 9457 problem document.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from weatherapi.context import request_context
from weatherapi.request_id import get_request_id

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
ERROR_TYPE_BASE = "https://docs.weatherapi.example/errors/"

TITLES: dict[str, str] = {
    "invalid_parameter": "Invalid parameter",
    "authentication_required": "Authentication required",
    "invalid_credentials": "Invalid credentials",
    "permission_denied": "Permission denied",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "conflict": "Conflict",
    "location_not_found": "Location not found",
    "rate_limited": "Rate limited",
    "quota_exceeded": "Quota exceeded",
    "upstream_unavailable": "Upstream unavailable",
    "upstream_timeout": "Upstream timeout",
    "service_unavailable": "Service unavailable",
    "internal_error": "Internal error",
}


class ApplicationError(Exception):
    """Base of every error the API reports. Subclasses fix ``code`` and ``status``."""

    code = "internal_error"
    status = 500
    default_detail = "An unexpected error occurred."

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Mapping[str, list[str]] | None = None,
        retry_after: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.errors = dict(errors) if errors else None
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        super().__init__(self.detail)


class InvalidParameter(ApplicationError):
    code, status, default_detail = "invalid_parameter", 400, "A parameter is invalid."


class AuthenticationRequired(ApplicationError):
    code, status = "authentication_required", 401
    default_detail = "Send an API key in X-API-Key or an OAuth2 bearer token."


class InvalidCredentials(ApplicationError):
    code, status, default_detail = "invalid_credentials", 401, "The credentials are invalid."


class PermissionDeniedError(ApplicationError):
    code, status, default_detail = "permission_denied", 403, "You may not do this."


class NotFound(ApplicationError):
    code, status, default_detail = "not_found", 404, "No such resource."


class MethodNotAllowed(ApplicationError):
    code, status, default_detail = "method_not_allowed", 405, "Method not allowed."


class Conflict(ApplicationError):
    code, status, default_detail = "conflict", 409, "The request conflicts with one still being answered."


class LocationNotFound(ApplicationError):
    code, status, default_detail = "location_not_found", 404, "No such location."


class RateLimited(ApplicationError):
    code, status, default_detail = "rate_limited", 429, "Too many requests; slow down."


class QuotaExceeded(ApplicationError):
    code, status, default_detail = "quota_exceeded", 429, "The monthly quota of your plan is used up."


class UpstreamUnavailable(ApplicationError):
    code, status = "upstream_unavailable", 503
    default_detail = "The weather provider is unavailable; try again shortly."


class UpstreamTimeout(UpstreamUnavailable):
    code, status = "upstream_timeout", 504
    default_detail = "The weather provider did not answer in time; try again shortly."


class ServiceUnavailable(ApplicationError):
    code, status, default_detail = "service_unavailable", 503, "The service is unavailable."


class InternalError(ApplicationError):
    pass


def problem_body(
    *,
    code: str,
    status: int,
    detail: str,
    errors: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": ERROR_TYPE_BASE + code,
        "title": TITLES.get(code, code.replace("_", " ").capitalize()),
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": get_request_id(),
    }
    if errors:
        body["errors"] = errors
    return body


def _headers_for(error: ApplicationError) -> dict[str, str]:
    headers = dict(error.headers)
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, int(error.retry_after)))
    return headers


def problem_response(error: ApplicationError) -> JsonResponse:
    """A plain Django response, for code paths outside DRF (middleware, 404/500 views)."""
    response = JsonResponse(
        problem_body(code=error.code, status=error.status, detail=error.detail, errors=error.errors),
        status=error.status,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in _headers_for(error).items():
        response[name] = value
    return response


def _flatten_validation(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for field, messages in detail.items():
            if isinstance(messages, list | tuple):
                out[str(field)] = [str(m) for m in messages]
            elif isinstance(messages, dict):
                for sub, msgs in _flatten_validation(messages).items():
                    out[f"{field}.{sub}"] = msgs
            else:
                out[str(field)] = [str(messages)]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def _summary(errors: dict[str, list[str]]) -> str:
    field, messages = next(iter(errors.items()))
    prefix = "" if field == "non_field_errors" else f"{field}: "
    return f"{prefix}{messages[0]}" if messages else "A parameter is invalid."


def to_application_error(exc: BaseException) -> ApplicationError:
    """Map any exception (ours, DRF's, Django's) onto our family."""
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, drf_exceptions.ValidationError | drf_exceptions.ParseError):
        if isinstance(exc, drf_exceptions.ParseError):
            return InvalidParameter(str(exc.detail))
        errors = _flatten_validation(exc.detail)
        return InvalidParameter(_summary(errors), errors=errors)
    if isinstance(exc, drf_exceptions.NotAuthenticated):
        return AuthenticationRequired()
    if isinstance(exc, drf_exceptions.AuthenticationFailed):
        return InvalidCredentials(str(exc.detail))
    if isinstance(exc, drf_exceptions.PermissionDenied | DjangoPermissionDenied):
        return PermissionDeniedError()
    if isinstance(exc, drf_exceptions.NotFound | Http404):
        return NotFound()
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return MethodNotAllowed(str(exc.detail), headers={})
    if isinstance(exc, drf_exceptions.Throttled):
        return RateLimited(retry_after=int(getattr(exc, "wait", None) or 1))
    if isinstance(exc, SuspiciousOperation):
        # Django's refusals of a request's shape (too many parameters, a body too big): the
        # client's doing, a 400 (Django's own handler answers these 400 too).
        return InvalidParameter("The request is too large or malformed.")
    if isinstance(exc, drf_exceptions.APIException):
        # Anything else DRF says (e.g. 415 for a body it cannot parse) keeps its status but
        # speaks one of the API's error codes (docs/design.md, errors):
        # the client sent something we cannot take.
        err: ApplicationError = InvalidParameter(str(exc.detail)) if exc.status_code < 500 else InternalError()
        err.status = exc.status_code
        return err
    return InternalError()


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every error becomes the problem document."""
    error = to_application_error(exc)
    if isinstance(error, InternalError) and not isinstance(exc, ApplicationError):
        logger.exception("unhandled error in API view", exc_info=exc)
    headers = _headers_for(error)
    view = context.get("view")
    if isinstance(exc, drf_exceptions.MethodNotAllowed) and view is not None:
        headers["Allow"] = ", ".join(view.allowed_methods)
    if error.status == 401 and view is not None and context.get("request") is not None:
        challenge = view.get_authenticate_header(context["request"])
        if challenge:
            headers["WWW-Authenticate"] = challenge
    response = Response(
        problem_body(code=error.code, status=error.status, detail=error.detail, errors=error.errors),
        status=error.status,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    # Kept for the access log.
    request = context.get("request")
    if request is not None:
        request_context(request).error_code = error.code
    return response


def is_api_path(request: HttpRequest) -> bool:
    path = request.path_info
    return path.startswith("/v1/") or path == "/v1" or path.startswith("/api/")
