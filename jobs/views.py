"""/v1/batch and /v1/jobs: many requests in one call. Scoped to the caller's account."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import principal_of
from billing.throttles import RateState, limiter_settle
from jobs import serializers as s
from jobs.idempotency import (
    HEADER,
    KEY_PATTERN,
    MAX_KEY,
    Replay,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
)
from jobs.models import IdempotentRequest
from jobs.selectors import job_document, job_get_for_account, job_list_for_account
from jobs.services import batch_run, job_create
from weatherapi.api import (
    ACCOUNT_ERRORS,
    COMMON_ERRORS,
    CONFLICT,
    PROBLEM_MEDIA_TYPE,
    ApiView,
    json_bytes_response,
    problem,
    problem_example,
)
from weatherapi.context import request_context
from weatherapi.errors import InvalidParameter
from weatherapi.errors import NotFound as JobNotFound
from weatherapi.scopes import WEATHER_READ
from webhooks.targets import callback_url_check

_IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER, location=OpenApiParameter.HEADER, required=False,
    type={"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": f"^{KEY_PATTERN.pattern}$"},
    examples=[OpenApiExample("A UUID", value="9b2f0c1e-5d7a-4f63-8a1e-2c4b6d8e0f12")],
    description="Any unique string (e.g. a UUID), at most 255 characters: a repeated request with the same "
                "key and body gets the first answer again for 24 hours (header `Idempotent-Replayed: true`) "
                "and runs and bills nothing more.",
)
_POST_ERRORS = {**COMMON_ERRORS, (409, PROBLEM_MEDIA_TYPE): CONFLICT}
_JOB_ERRORS = {
    **ACCOUNT_ERRORS,
    (404, PROBLEM_MEDIA_TYPE): problem(
        "`not_found`: the account has no job of that id (another account's job is not found either).",
        problem_example("not_found", 404, "No such job.")),
}

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
    """A POST of many requests. Before the throttle runs (``prepare``) it takes the
    ``Idempotency-Key`` (``jobs.idempotency``: a replay runs and counts nothing more) and
    validates the envelope, so that a batch's throttle counts each item
    (``metered_items``); an invalid envelope counts as one request."""

    envelope_serializer: type[s._Requests] = s.BatchSerializer
    counts_items = True
    _envelope: dict[str, Any] | None = None
    _claim: IdempotentRequest | None = None
    _replay: Replay | None = None

    def prepare(self, request: Request) -> None:
        if request.method != "POST":
            return
        key = request.headers.get(HEADER)
        if key is not None:
            claimed = idempotency_claim(account_id=principal_of(request).account_id, path=request.path,
                                        key=key, body=request.body)
            if isinstance(claimed, Replay):
                self._replay = claimed
                return
            self._claim = claimed
        serializer = self.envelope_serializer(data=request.data)
        if serializer.is_valid():
            self._envelope = dict(serializer.validated_data)

    def metered_items(self, request: Request) -> int:
        if not self.counts_items or self._envelope is None:
            return 0
        return len(self._envelope["requests"])

    def handle_exception(self, exc: Exception) -> Any:
        if self._claim is not None:
            idempotency_release(claim=self._claim)  # the client's retry runs again
            self._claim = None
        return super().handle_exception(exc)

    def answer(self, body: bytes, *, status: int = 200, location: str = "") -> HttpResponse:
        """The response, stored for the request's ``Idempotency-Key`` when it has one."""
        if self._claim is not None:
            idempotency_complete(claim=self._claim, status=status, body=body, location=location)
        response = json_bytes_response(body, status=status)
        if location:
            response["Location"] = location
        return response

    def replayed(self) -> HttpResponse | None:
        if self._replay is None:
            return None
        response = json_bytes_response(self._replay.body, status=self._replay.status)
        if self._replay.location:
            response["Location"] = self._replay.location
        response["Idempotent-Replayed"] = "true"
        return response

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
        request=s.BatchSerializer,
        parameters=[_IDEMPOTENCY_KEY],
        examples=[_BATCH_REQUEST_EXAMPLE],
        responses={200: OpenApiResponse(s.BatchResultSerializer, description="One result per request, in order."),
                   **_POST_ERRORS},
        tags=["batch and jobs"],
    )
    def post(self, request: Request) -> HttpResponse:
        replayed = self.replayed()
        if replayed is not None:
            return replayed
        envelope = self.envelope(request)
        principal = principal_of(request)
        context = request_context(request)
        outcome = batch_run(principal=principal, items=envelope["requests"], request_id=context.request_id)
        if isinstance(context.rate, RateState):
            context.rate = limiter_settle(account_id=principal.account_id, state=context.rate,
                                          billable=outcome.billable)
        return self.answer(outcome.render())


class JobPagination(CursorPagination):
    page_size = 20
    max_page_size = 100
    page_size_query_param = "limit"
    ordering = ("-created_at", "-id")

    def get_page_size(self, request: Any) -> int:
        # DRF quietly clamps or ignores a bad size; the API answers a bad parameter with a 400.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise InvalidParameter(f"limit: Give a whole number from 1 to {self.max_page_size}.",
                                   errors={"limit": [f"Give a whole number from 1 to {self.max_page_size}."]})
        return int(raw)


class JobsView(EnvelopeView):
    required_scopes = (WEATHER_READ,)
    metering_endpoint = "jobs"
    envelope_serializer = s.JobCreateSerializer
    # Each item counts toward the minute and the month when the worker runs it.
    counts_items = False

    @extend_schema(
        operation_id="jobs_create",
        summary="Submit a job",
        description="Up to 1,000 requests, as in `POST /v1/batch`, run by our workers: answered `202` at "
                    "once with `Location: /v1/jobs/{id}`. Items wait for capacity (your plan's per-minute "
                    "limit, our upstream budget) instead of failing. Poll `GET /v1/jobs/{id}`, or give a "
                    "`callback_url` (https) that receives the signed `job.completed` event (Standard "
                    "Webhooks; your signing secret is in the portal). Each item answered 200 is billed as "
                    "one request of its endpoint, once, whatever retries happen. Results are kept for 7 days.",
        request=s.JobCreateSerializer,
        parameters=[_IDEMPOTENCY_KEY],
        responses={202: OpenApiResponse(s.JobCreatedSerializer, description="Queued."), **_POST_ERRORS},
        tags=["batch and jobs"],
    )
    def post(self, request: Request) -> HttpResponse:
        replayed = self.replayed()
        if replayed is not None:
            return replayed
        envelope = self.envelope(request)
        callback_url = envelope.get("callback_url")
        if callback_url is not None:
            callback_url = callback_url_check(callback_url)
        job = job_create(principal=principal_of(request), items=envelope["requests"], callback_url=callback_url,
                         request_id=request_context(request).request_id)
        body = s.JobCreatedSerializer(
            {"id": job.public_id, "status": job.status, "created_at": job.created_at, "total": job.total}).data
        return self.answer(JSONRenderer().render(body), status=202, location=f"/v1/jobs/{job.public_id}")

    @extend_schema(
        operation_id="jobs_list",
        summary="Your jobs",
        description="The account's jobs, newest first, without their results; `next` and `previous` are the "
                    "URLs of the neighbouring pages.",
        parameters=[
            OpenApiParameter("cursor", str, description="From `next` or `previous`.",
                             examples=[OpenApiExample("A page's cursor", value="cD0yMDI2LTEyLTA0")]),
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                             description="Jobs per page, 1 to 100 (default 20).",
                             examples=[OpenApiExample("Twenty", value=20)]),
        ],
        responses={200: OpenApiResponse(s.JobPageSerializer, description="A page of jobs."), **COMMON_ERRORS,
                   (404, PROBLEM_MEDIA_TYPE): problem(
                       "`not_found`: the `cursor` names no page (use the `next` and `previous` links).",
                       problem_example("not_found", 404, "No such resource."))},
        tags=["batch and jobs"],
    )
    def get(self, request: Request) -> Response:
        paginator = JobPagination()
        page = paginator.paginate_queryset(job_list_for_account(account_id=principal_of(request).account_id),
                                           request, view=self)
        return paginator.get_paginated_response(
            [job_document(job=job, results=False, callback=False) for job in page or []])


class JobDetailView(ApiView):
    required_scopes = (WEATHER_READ,)
    metering_endpoint = "jobs.get"

    @extend_schema(
        operation_id="jobs_get",
        summary="A job",
        description="Progress (`done` of `total`, `failed_items`), and once finished each item's result as "
                    "in `POST /v1/batch`; the callback's delivery attempts with the answer codes. Another "
                    "account's job is a 404.",
        parameters=[OpenApiParameter("job_id", str, OpenApiParameter.PATH, description="The job's id, `job_…`.",
                                     examples=[OpenApiExample("A job", value="job_6f1d2c3b4a5948e7b6c5d4e3f2a1b0c9")])],
        responses={200: OpenApiResponse(s.JobSerializer, description="The job."), **_JOB_ERRORS},
        tags=["batch and jobs"],
    )
    def get(self, request: Request, job_id: str) -> HttpResponse:
        job = job_get_for_account(account_id=principal_of(request).account_id, public_id=job_id)
        if job is None:
            raise JobNotFound("No such job.")
        # ASCII JSON: the items' ids may hold any code point a JSON string can (a lone
        # surrogate, which no UTF-8 encoder takes).
        return json_bytes_response(json.dumps(job_document(job=job, results=True), separators=(",", ":")).encode())
