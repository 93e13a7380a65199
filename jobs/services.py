"""Batches (answered in the request) and jobs (answered by the worker)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from accounts.credentials import Principal
from billing.services.usage import usage_events_record
from jobs.items import ItemResult, item_run
from weatherapi.errors import ServiceUnavailable


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    results: list[ItemResult]
    billable: int  # items billed: the reservation the admission made for the others is given back

    def render(self) -> bytes:
        return b'{"results":[' + b",".join(r.render() for r in self.results) + b"]}"


def batch_run(*, principal: Principal, items: Sequence[dict[str, Any]], request_id: str) -> BatchOutcome:
    """Run each item in order (items for one place share the cache, as single calls do) and
    record each one's usage event, in one round trip for all of them.

    No unmetered service: when no store takes the events, data we could not bill is not
    sent (503, the whole batch), as for a single request (``billing.middleware``).
    """
    results = [
        item_run(principal=principal, item_id=item["id"], endpoint=item["endpoint"], params=item["params"])
        for item in items
    ]
    records = [r.usage_record(principal=principal, request_id=request_id) for r in results]
    billable = sum(r.billable for r in records)
    if usage_events_record(records=records) is None and billable:
        raise ServiceUnavailable("Usage cannot be recorded right now.", retry_after=5)
    return BatchOutcome(results, billable)
