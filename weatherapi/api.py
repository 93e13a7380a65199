"""The base of every /v1/ view, and the shared pieces of their OpenAPI description."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.credentials import Principal
from weatherapi.errors import InvalidParameter


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem document (DESIGN §5)."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    request_id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


def problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ProblemSerializer, description=description)


COMMON_ERRORS: dict[int, OpenApiResponse] = {
    400: problem("invalid_parameter: a parameter is missing, malformed or out of range."),
    401: problem("authentication_required or invalid_credentials."),
    403: problem("permission_denied: the token lacks a scope, or the account is suspended."),
    429: problem("rate_limited or quota_exceeded; see Retry-After."),
    503: problem("upstream_unavailable or service_unavailable; see Retry-After."),
}


# No valid request comes near this; a longer one is an attack or a bug, answered with a 400.
MAX_QUERY_STRING = 2048


class ApiView(APIView):
    """One operation per view. Query parameters are validated by ``query_serializer``."""

    query_serializer: type[serializers.Serializer] | None = None

    def principal(self, request: Request) -> Principal:
        principal = request.auth
        assert isinstance(principal, Principal)  # noqa: S101 - HasScope guarantees it
        return principal

    def query(self, request: Request) -> dict[str, Any]:
        if len(request.META.get("QUERY_STRING", "")) > MAX_QUERY_STRING:
            raise InvalidParameter(f"The query string is longer than {MAX_QUERY_STRING} characters.")
        params = request.query_params
        repeated = sorted(k for k in params if len(params.getlist(k)) > 1)
        if repeated:
            raise InvalidParameter(
                f"{repeated[0]} is given more than once",
                errors={k: ["Give this parameter once."] for k in repeated},
            )
        assert self.query_serializer is not None  # noqa: S101
        serializer = self.query_serializer(data={k: params.get(k) for k in params})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


def json_bytes_response(body: bytes, *, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="application/json")
