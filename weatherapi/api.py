"""The base of every /v1/ view, and the shared pieces of their OpenAPI description."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from weatherapi import schema as _schema  # noqa: F401 - registers the security scheme extensions
from weatherapi.errors import ERROR_TYPE_BASE, PROBLEM_CONTENT_TYPE, TITLES, InvalidParameter

ERROR_CODES = tuple(TITLES)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem document, sent as ``application/problem+json``."""

    type = serializers.URLField(help_text="A URL naming the kind of error: the base URL followed by `code`.")
    title = serializers.CharField(help_text="A short, human-readable summary of the kind of error.")
    status = serializers.IntegerField(min_value=400, max_value=599, help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong with this request, for a human.")
    code = serializers.ChoiceField(choices=ERROR_CODES, help_text="A stable machine-readable error code.")
    request_id = serializers.CharField(allow_null=True, help_text="The X-Request-ID of the request.")
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="invalid_parameter only: the messages for each offending parameter.",
    )


PROBLEM_MEDIA_TYPE = PROBLEM_CONTENT_TYPE


def problem_example(code: str, status: int, detail: str, *, name: str = "", **extra: Any) -> OpenApiExample:
    return OpenApiExample(
        name or code,
        value={"type": ERROR_TYPE_BASE + code, "title": TITLES[code], "status": status, "detail": detail,
               "code": code, "request_id": "4f1c2a9e0b7d4c51a3e8f6b2d9c0e1a7", **extra},
        response_only=True,
    )


def problem(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(response=ProblemSerializer, description=description, examples=list(examples))


def _key(status: int) -> tuple[int, str]:
    return (status, PROBLEM_MEDIA_TYPE)


INVALID_PARAMETER = problem(
    "`invalid_parameter`: a parameter is missing, malformed, out of range or given twice; "
    "`errors` names each offending parameter.",
    problem_example("invalid_parameter", 400, "lat: Ensure this value is less than or equal to 90.",
             errors={"lat": ["Ensure this value is less than or equal to 90."]}),
)
UNAUTHENTICATED = problem(
    "`authentication_required` (no credential) or `invalid_credentials` (unknown, revoked or "
    "expired key or token).",
    problem_example("authentication_required", 401, "Send an API key in X-API-Key or an OAuth2 bearer token."),
    problem_example("invalid_credentials", 401, "The credentials are invalid."),
)
FORBIDDEN = problem(
    "`permission_denied`: the OAuth2 token lacks the operation's scope, or the account is suspended.",
    problem_example("permission_denied", 403, "The token lacks the scope weather:read."),
)
THROTTLED = problem(
    "`rate_limited` (the plan's per-minute burst is used up) or `quota_exceeded` (the monthly "
    "quota of a plan without overage is used up). Wait `Retry-After` seconds.",
    problem_example("rate_limited", 429, "Your plan allows 60 requests a minute."),
    problem_example("quota_exceeded", 429, "The monthly quota of 1000000 requests of your plan is used up."),
)
SERVICE_UNAVAILABLE = problem(
    "`service_unavailable`: the service cannot check credentials or record usage right now. "
    "Retry after `Retry-After` seconds.",
    problem_example("service_unavailable", 503, "Usage cannot be recorded right now."),
)
UPSTREAM_UNAVAILABLE = problem(
    "`upstream_unavailable` (the weather provider failed and no stale copy is cached) or "
    "`service_unavailable`. Retry after `Retry-After` seconds.",
    problem_example("upstream_unavailable", 503, "The weather provider is unavailable; try again shortly."),
    problem_example("service_unavailable", 503, "Usage cannot be recorded right now."),
)
UPSTREAM_TIMEOUT = problem(
    "`upstream_timeout`: the weather provider did not answer in time and no stale copy is cached.",
    problem_example("upstream_timeout", 504, "The weather provider did not answer in time; try again shortly."),
)
# The weather operations' 400 also covers their location rule (forecasts.schema).
LOCATION_INVALID_PARAMETER = problem(
    "`invalid_parameter`: a parameter is missing, malformed, out of range or given twice, or the "
    "location is not exactly one of `lat` and `lon` (both), `q` or `zip` (none, several, or one of "
    "`lat`/`lon` alone); `errors` names each offending parameter (`location` when the forms are "
    "not exactly one).",
    problem_example("invalid_parameter", 400, "lat: Ensure this value is less than or equal to 90.",
             errors={"lat": ["Ensure this value is less than or equal to 90."]}),
    problem_example("invalid_parameter", 400, "location: Give exactly one location: lat and lon, q, or zip.",
             name="not exactly one location",
             errors={"location": ["Give exactly one location: lat and lon, q, or zip."]}),
)
CONFLICT = problem(
    "`conflict`: the `Idempotency-Key` was used for a request with another body, or that request "
    "is still being answered (retry after `Retry-After` seconds).",
    problem_example("conflict", 409, "A request with this Idempotency-Key is still being answered; retry shortly."),
)
LOCATION_NOT_FOUND = problem(
    "`location_not_found`: no place matches `q` or `zip`.",
    problem_example("location_not_found", 404, "No place matches 'Atlantis'."),
)
ACCOUNT_NOT_FOUND = problem(
    "`not_found`: the credential's account no longer exists.",
    problem_example("not_found", 404, "No such account."),
)

# Errors of every authenticated /v1/ operation (plus 400 where it takes parameters).
COMMON_ERRORS: dict[Any, OpenApiResponse] = {
    _key(400): INVALID_PARAMETER,
    _key(401): UNAUTHENTICATED,
    _key(403): FORBIDDEN,
    _key(429): THROTTLED,
    _key(503): SERVICE_UNAVAILABLE,
}
# Operations answered by the weather provider (through our cache).
PROVIDER_ERRORS: dict[Any, OpenApiResponse] = {
    **COMMON_ERRORS,
    _key(503): UPSTREAM_UNAVAILABLE,
    _key(504): UPSTREAM_TIMEOUT,
}
# Operations that take a location (lat and lon, q or zip): after PROVIDER_ERRORS.
LOCATION_ERRORS: dict[Any, OpenApiResponse] = {
    _key(400): LOCATION_INVALID_PARAMETER,
    _key(404): LOCATION_NOT_FOUND,
}
# Operations without parameters (nothing can be a 400).
ACCOUNT_ERRORS: dict[Any, OpenApiResponse] = {
    _key(401): UNAUTHENTICATED,
    _key(403): FORBIDDEN,
    _key(404): ACCOUNT_NOT_FOUND,
    _key(429): THROTTLED,
    _key(503): SERVICE_UNAVAILABLE,
}


# No valid request comes near this; a longer one is an attack or a bug, answered with a 400.
MAX_QUERY_STRING = 2048


class JsonOnlyNegotiation(BaseContentNegotiation):
    """The API speaks JSON only: answer JSON whatever ``Accept`` says, never a 406 (which
    would need an error code the API does not have)."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class ApiView(APIView):
    """One operation per view. Query parameters are validated by ``query_serializer``.

    ``prepare``: a view that can sometimes answer without any I/O (a weather body this
    process holds) does so here, after authentication and permissions and before the
    throttles, and marks the request context ``prepared``. The throttle then appends the
    answer's usage event in the same script call that admits the request, so a warm
    cached answer costs one Redis round trip in all (``billing.throttles``). Outcomes keep
    DRF's order: an invalid query or a refused request is answered as without it.
    """

    query_serializer: type[serializers.Serializer] | None = None
    metering_endpoint = ""  # the usage event's endpoint (billing.endpoints)
    content_negotiation_class = JsonOnlyNegotiation

    def prepare(self, request: Request) -> None:
        """Compute the answer now if that needs no I/O (see the class docstring)."""

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        """No body: which methods the operation takes is DRF's ``Allow`` header (DRF's
        default answer describes the view's internals). Never billed."""
        return Response(status=204)

    def check_throttles(self, request: Request) -> None:
        self.prepare(request)
        super().check_throttles(request)

    def query(self, request: Request) -> dict[str, Any]:
        raw = request.META.get("QUERY_STRING", "")
        if len(raw) > MAX_QUERY_STRING:
            raise InvalidParameter(f"The query string is longer than {MAX_QUERY_STRING} characters.")
        try:
            params = request.query_params
        except TooManyFieldsSent as e:
            raise InvalidParameter(
                f"The query has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} parameters."
            ) from e
        repeated = sorted(k for k in params if len(params.getlist(k)) > 1)
        if repeated:
            raise InvalidParameter(
                f"{repeated[0]} is given more than once",
                errors={k: ["Give this parameter once."] for k in repeated},
            )
        assert self.query_serializer is not None  # noqa: S101
        return dict(query_validator(self.query_serializer).run_validation({k: params.get(k) for k in params}))


_query_validators = threading.local()


def query_validator(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One instance of a query serializer per thread, validating one query after another
    with ``run_validation`` as DRF's ``ListSerializer`` validates each item with its one
    child: it keeps no state of a validation on the instance. Building a serializer deep
    copies its declared fields, which cost more than validating the query itself.
    Errors are the same ``ValidationError`` as ``is_valid(raise_exception=True)``'s."""
    validators: dict[type[serializers.Serializer], serializers.Serializer] | None = getattr(
        _query_validators, "by_class", None
    )
    if validators is None:
        validators = _query_validators.by_class = {}
    validator = validators.get(serializer_class)
    if validator is None:
        validator = validators[serializer_class] = serializer_class()
    return validator


def json_bytes_response(body: bytes, *, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="application/json")
