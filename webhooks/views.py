"""/v1/webhook-endpoints: the account's webhook endpoints. Scoped to the caller's account:
another account's endpoint is a 404, never a 403 that would confirm it exists."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import principal_of
from weatherapi.api import (
    PROBLEM_MEDIA_TYPE,
    SERVICE_UNAVAILABLE,
    THROTTLED,
    UNAUTHENTICATED,
    ApiView,
    problem,
    problem_example,
)
from weatherapi.scopes import WEATHER_READ
from webhooks import selectors, services
from webhooks import serializers as s
from webhooks.models import WebhookEndpoint

_URL_REFUSED = ("The host resolves to a non-public address (169.254.169.254): private, loopback, link-local, "
                "metadata and reserved addresses are refused.")
_CREATE_INVALID = problem(
    "`invalid_parameter`: the body is not JSON, `url` is not an `https://` URL to a public host (or "
    "does not resolve), or `events` is empty or names an unknown event type; `errors` names each "
    "offending field.",
    problem_example("invalid_parameter", 400, f"url: {_URL_REFUSED}", errors={"url": [_URL_REFUSED]}),
)
_CREATE_FORBIDDEN = problem(
    "`permission_denied`: the OAuth2 token lacks the scope `weather:read`, the account is suspended, "
    "or it already has the most webhook endpoints an account may have (10 by default).",
    problem_example("permission_denied", 403, "The token lacks the scope weather:read."),
    problem_example("permission_denied", 403, "An account may have at most 10 webhook endpoints; delete one "
                     "you no longer use first.", name="too many endpoints"),
)
_FORBIDDEN = problem(
    "`permission_denied`: the OAuth2 token lacks the scope `weather:read`, or the account is suspended.",
    problem_example("permission_denied", 403, "The token lacks the scope weather:read."),
)
_NOT_FOUND = problem(
    "`not_found`: the account has no webhook endpoint with this id.",
    problem_example("not_found", 404, "No such webhook endpoint."),
)


def _key(status: int) -> tuple[int, str]:
    return (status, PROBLEM_MEDIA_TYPE)


_BASE_ERRORS: dict[Any, OpenApiResponse] = {
    _key(401): UNAUTHENTICATED,
    _key(403): _FORBIDDEN,
    _key(429): THROTTLED,
    _key(503): SERVICE_UNAVAILABLE,
}

_ENDPOINT_EXAMPLE = {
    "id": "we_3k9x7q2m8v4n6b1c5z0r2t8y", "url": "https://example.com/hooks/weather",
    "events": ["usage.threshold", "job.completed"], "created_at": "2026-11-30T09:15:00Z",
}


def _endpoint_body(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"id": endpoint.public_id, "url": endpoint.url, "events": endpoint.events, "created_at": endpoint.created_at}


class WebhookEndpointsView(ApiView):
    required_scopes = (WEATHER_READ,)
    metering_endpoint = "webhook_endpoints"

    @extend_schema(
        operation_id="webhook_endpoints_list",
        summary="Webhook endpoints",
        description="The account's webhook endpoints, oldest first. The signing secret is not listed: "
                    "it is in the portal, and in the answer to creating an endpoint.",
        responses={200: OpenApiResponse(s.WebhookEndpointListSerializer, description="The endpoints.",
                                        examples=[OpenApiExample("One endpoint", value={"endpoints": [_ENDPOINT_EXAMPLE]},
                                                                 response_only=True)]),
                   **_BASE_ERRORS},
        tags=["webhooks"],
    )
    def get(self, request: Request) -> Response:
        endpoints = selectors.webhook_endpoint_list(account_id=principal_of(request).account_id)
        return Response(s.WebhookEndpointListSerializer({"endpoints": [_endpoint_body(e) for e in endpoints]}).data)

    @extend_schema(
        operation_id="webhook_endpoints_create",
        summary="Add a webhook endpoint",
        description="Events of the chosen types are POSTed to `url` as JSON `{\"type\", \"timestamp\", "
                    "\"data\"}`, signed as the Standard Webhooks specification says with the account's "
                    "secret, which the answer carries. A delivery not answered with a 2xx within 5 "
                    "seconds is retried with exponential backoff for 24 hours, with the same "
                    "`webhook-id`; redirects are not followed. At most 10 endpoints per account.",
        request=s.WebhookEndpointCreateSerializer,
        responses={201: OpenApiResponse(s.WebhookEndpointCreatedSerializer,
                                        description="The endpoint, and the account's signing secret.",
                                        examples=[OpenApiExample("Created", response_only=True, value={
                                            **_ENDPOINT_EXAMPLE,
                                            "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD2sQ8pM2gNvQ=",
                                        })]),
                   _key(400): _CREATE_INVALID, **_BASE_ERRORS, _key(403): _CREATE_FORBIDDEN},
        examples=[OpenApiExample("Both events", request_only=True, value={
            "url": "https://example.com/hooks/weather", "events": ["usage.threshold", "job.completed"]})],
        tags=["webhooks"],
    )
    def post(self, request: Request) -> Response:
        account_id = principal_of(request).account_id
        serializer = s.WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The URL's DNS check runs only on an otherwise valid body.
        endpoint = services.webhook_endpoint_create(
            account_id=account_id, url=serializer.validated_data["url"], events=serializer.validated_data["events"]
        )
        secret = services.webhook_secret_get_or_create(account_id=account_id)
        body = s.WebhookEndpointCreatedSerializer({**_endpoint_body(endpoint), "secret": secret.secret}).data
        return Response(body, status=201)


class WebhookEndpointDetailView(ApiView):
    required_scopes = (WEATHER_READ,)
    metering_endpoint = "webhook_endpoint"

    @extend_schema(
        operation_id="webhook_endpoints_delete",
        summary="Delete a webhook endpoint",
        description="Nothing more is sent to the endpoint, including retries of earlier events.",
        parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="The endpoint's id (`we_…`).",
                                     examples=[OpenApiExample("An endpoint", value=_ENDPOINT_EXAMPLE["id"])])],
        responses={204: OpenApiResponse(None, description="Deleted."), **_BASE_ERRORS, _key(404): _NOT_FOUND},
        tags=["webhooks"],
    )
    def delete(self, request: Request, id: str) -> Response:  # noqa: A002 - the path parameter's public name
        services.webhook_endpoint_delete(account_id=principal_of(request).account_id, endpoint_id=id)
        return Response(status=204)

