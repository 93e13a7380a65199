"""One item of a batch or a job: run it as its single endpoint would, and its usage event.

``item_run`` answers exactly what ``GET /v1/<endpoint>?<params>`` answers for the same
caller: the operation's document (``forecasts.operations``), or the problem document of
the error the single endpoint would raise. Its usage event is the single request's: the
item's endpoint, its status, billable when a live credential gets a 200
(``billing.endpoints``).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from accounts.credentials import Principal
from billing.services.usage import UsageRecord, usage_record_build
from forecasts.operations import OPERATIONS
from weatherapi.errors import (
    ApplicationError,
    InternalError,
    InvalidParameter,
    problem_body,
    to_application_error,
)

logger = logging.getLogger(__name__)

# The usage event's endpoint of an item that names no operation.
UNKNOWN_ENDPOINT = "unknown"


@dataclass(frozen=True, slots=True)
class ItemResult:
    id: str
    status: int
    body: bytes  # a JSON object
    endpoint: str  # the metering endpoint
    cache: str | None
    latency_ms: int

    def render(self) -> bytes:
        """``{"id", "status", "body"}``, the answer's bytes spliced in, not decoded again. The
        id in ASCII JSON: a caller's id may hold any code point a JSON string can, a lone
        surrogate included, which no UTF-8 encoder takes."""
        return b'{"id":' + json.dumps(self.id).encode() + b',"status":' + \
            str(self.status).encode() + b',"body":' + self.body + b"}"

    def usage_record(self, *, principal: Principal, request_id: str, event_id: uuid.UUID | None = None) -> UsageRecord:
        record = usage_record_build(
            principal=principal, endpoint=self.endpoint, method="GET", status=self.status, cache=self.cache,
            latency_ms=self.latency_ms, request_id=request_id,
        )
        return record if event_id is None else replace(record, id=event_id)


def problem_bytes(error: ApplicationError) -> bytes:
    # ASCII JSON: the detail may quote what the caller sent (see ``ItemResult.render``).
    return json.dumps(
        problem_body(code=error.code, status=error.status, detail=error.detail, errors=error.errors),
        separators=(",", ":"),
    ).encode()


def item_run(*, principal: Principal, item_id: str, endpoint: Any, params: Any) -> ItemResult:
    started = time.perf_counter()
    operation = OPERATIONS.get(endpoint) if isinstance(endpoint, str) else None
    metering_endpoint = operation.metering_endpoint if operation is not None else UNKNOWN_ENDPOINT
    cache = None
    try:
        if operation is None:
            raise InvalidParameter(
                f"endpoint: {endpoint!r} is not one of {', '.join(sorted(OPERATIONS))}.",
                errors={"endpoint": [f"Give one of {', '.join(sorted(OPERATIONS))}."]},
            )
        if not isinstance(params, dict):
            raise InvalidParameter("params: Give an object of query parameters.",
                                   errors={"params": ["Give an object of query parameters."]})
        answer = operation.answer(principal, operation.validate(params))
        status, body = 200, answer.render()
        cache = "stale" if answer.stale else ("hit" if answer.cached else "miss")
    except Exception as e:  # noqa: BLE001 - every error is the item's own answer
        error = to_application_error(e)
        if isinstance(error, InternalError) and not isinstance(e, ApplicationError):
            logger.exception("unhandled error in a batch item", exc_info=e)
        status, body = error.status, problem_bytes(error)
    return ItemResult(item_id, status, body, metering_endpoint, cache, int((time.perf_counter() - started) * 1000))
