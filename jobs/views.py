"""/v1/batch and /v1/jobs: many requests in one call. Scoped to the caller's account."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.request import Request

from accounts.authentication import principal_of
from billing.throttles import RateState, limiter_settle
from jobs import serializers as s
from jobs.services import batch_run
from weatherapi.api import COMMON_ERRORS, ApiView, json_bytes_response
from weatherapi.context import request_context
from weatherapi.scopes import WEATHER_READ

_BATCH_REQUEST_EXAMPLE = OpenApiExample(
    "Two places and a typo",
    value={"requests": [
        {"id": "london", "endpoint": "weather/current", "params": {"q": "London,GB", "units": "metric"}},
        {"id": "paris-aq", "endpoint": "air-quality", "params": {"lat": 48.85, "lon": 2.35}},
        {"id": "oops", "endpoint": "weather/current", "params": {"lat": 91, "lon": 0}},
    ]},
    request_only=True,
)


class EnvelopeView(ApiView):
    """Validates the envelope before the throttle runs (``prepare``), so that the throttle
    counts each item (``metered_items``); an invalid envelope counts as one request."""

    envelope_serializer: type[s._Requests] = s.BatchRequestSerializer
    _envelope: dict[str, Any] | None = None

    def prepare(self, request: Request) -> None:
        if request.method == "POST":
            serializer = self.envelope_serializer(data=request.data)
            if serializer.is_valid():
                self._envelope = dict(serializer.validated_data)

    def metered_items(self, request: Request) -> int:
        return len(self._envelope["requests"]) if self._envelope is not None else 0

    def envelope(self, request: Request) -> dict[str, Any]:
        if self._envelope is None:
            serializer = self.envelope_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            self._envelope = dict(serializer.validated_data)
        return self._envelope


class BatchView(EnvelopeView):
    required_scopes = (WEATHER_READ,)
    metering_endpoint = "batch"

    @extend_schema(
        operation_id="batch",
        summary="Many requests at once",
        description="Up to 100 requests of the weather, forecast, geocoding and air-quality endpoints in one "
                    "call, answered in order. Each result's `body` is exactly what the single endpoint "
                    "answers (its document or its problem document) and `status` its HTTP status; an "
                    "invalid item is that item's 400 only. Each item counts as one request toward the "
                    "per-minute limit and the monthly quota (a batch larger than what is left of the "
                    "minute is refused whole, 429), and each item answered 200 is billed as one request "
                    "of its endpoint.",
        request=s.BatchRequestSerializer,
        examples=[_BATCH_REQUEST_EXAMPLE],
        responses={200: OpenApiResponse(s.BatchResultSerializer, description="One result per request, in order."),
                   **COMMON_ERRORS},
        tags=["batch and jobs"],
    )
    def post(self, request: Request) -> HttpResponse:
        envelope = self.envelope(request)
        principal = principal_of(request)
        context = request_context(request)
        outcome = batch_run(principal=principal, items=envelope["requests"], request_id=context.request_id)
        if isinstance(context.rate, RateState):
            context.rate = limiter_settle(account_id=principal.account_id, state=context.rate,
                                          billable=outcome.billable)
        return json_bytes_response(outcome.render())
