"""Batches (answered in the request) and jobs (answered by the worker)."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.credentials import Principal
from billing.services.usage import usage_events_record
from billing.throttles import QUOTA_EXCEEDED, RATE_LIMITED, RateState, limiter_hit, limiter_settle
from forecasts.providers.budget import upstream_budget_waits
from jobs.items import ItemResult, item_run, problem_bytes
from jobs.models import IdempotentRequest, Job, JobItem
from jobs.selectors import job_document
from weatherapi.errors import QuotaExceeded, ServiceUnavailable
from weatherapi.metrics import JOB_ITEMS, JOBS
from weatherapi.queue import queue_available, task_defer
from webhooks.services import webhook_event_send


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


# --- jobs -------------------------------------------------------------------------------

QUEUE = "jobs"
RUN_TASK = "jobs.run"
RESULTS_KEPT = timedelta(days=7)
# The answer kept for a request with an Idempotency-Key (Stripe keeps it 24 hours too).
IDEMPOTENCY_KEPT = timedelta(hours=24)
# Items a worker runs before it hands the job back to the queue: other jobs take turns,
# and a stopping worker (SIGTERM) finishes its chunk within the grace period.
CHUNK_ITEMS = 25
# Tries of an item the provider answers 503/504 for, before that answer is its result.
UPSTREAM_ATTEMPTS = 3
_EVENT_NAMESPACE = uuid.UUID("3d4c0e8e-4c45-4e4b-9a59-0f1b8f0e7a11")


def item_event_id(job_id: uuid.UUID, index: int) -> uuid.UUID:
    """The usage event id of a job's item: derived, not drawn, so that an item run again
    after a crash is stored (and billed) once (``billing.services.usage``)."""
    return uuid.uuid5(_EVENT_NAMESPACE, f"{job_id}:{index}")


def _job_run_defer(job: Job) -> None:
    # One task of a job at a time (the lock), even when a stalled one is retried.
    task_defer(task=RUN_TASK, queue=QUEUE, kwargs={"job_id": str(job.id)}, lock=job.public_id)


def job_create(
    *, principal: Principal, items: Sequence[dict[str, Any]], callback_url: str | None, request_id: str
) -> Job:
    """Store the job and its items and queue it, in one transaction: a job answered 202 is
    on the queue, and nothing is queued for a job that was not stored."""
    if not queue_available():
        raise ServiceUnavailable(
            "Jobs need the task queue, which runs on PostgreSQL; this server runs on SQLite. "
            "Use POST /v1/batch for up to 100 requests.", retry_after=3600,
        )
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.create(
            account_id=principal.account_id, credential_type=principal.credential_type,
            credential_id=principal.credential_id, credential_prefix=principal.credential_prefix,
            mode=principal.mode, total=len(items), callback_url=callback_url or "", request_id=request_id[:64],
            created_at=now, expires_at=now + RESULTS_KEPT,
        )
        JobItem.objects.bulk_create(
            JobItem(job=job, index=i, request=json.dumps(
                {"id": item["id"], "endpoint": item["endpoint"], "params": item["params"]}, separators=(",", ":")))
            for i, item in enumerate(items)
        )
        _job_run_defer(job)
    JOBS.labels(event="created").inc()
    JOB_ITEMS.labels(event="queued").inc(len(items))
    return job


def _principal(job: Job) -> Principal:
    return Principal(
        account_id=job.account_id, credential_type=job.credential_type,  # type: ignore[arg-type]
        credential_id=job.credential_id, credential_prefix=job.credential_prefix,
        mode=job.mode,  # type: ignore[arg-type]
    )


def _admit(principal: Principal) -> tuple[int, RateState | None]:
    """Count the item against the account's minute and month. Items wait for the minute
    to reset rather than fail (the caller is not holding a connection open)."""
    while True:
        verdict, state = limiter_hit(principal=principal, counts_month=principal.mode == "live")
        if verdict != RATE_LIMITED or state is None:
            return verdict, state
        JOB_ITEMS.labels(event="rate_wait").inc()
        time.sleep(state.minute_reset + random.uniform(0, 1))  # noqa: S311 # nosec B311 - jitter


def _item_answer(principal: Principal, item: JobItem) -> tuple[ItemResult, RateState | None]:
    asked = item.asked
    verdict, state = _admit(principal)
    if verdict == QUOTA_EXCEEDED and state is not None:
        error = QuotaExceeded(f"The monthly quota of {state.month_limit} requests of your plan is used up.")
        return ItemResult(asked["id"], error.status, problem_bytes(error), "unknown", None, 0), state
    for attempt in range(UPSTREAM_ATTEMPTS):
        with upstream_budget_waits():
            result = item_run(principal=principal, item_id=asked["id"], endpoint=asked["endpoint"],
                              params=asked["params"])
        if result.status not in (503, 504):
            break
        # The provider failing (or another worker's call for the same place given up on):
        # an item waits and tries again rather than fail at the first refusal.
        time.sleep(min(30.0, 2.0 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311 # nosec B311
    return result, state


def _item_finish(job: Job, principal: Principal, item: JobItem, result: ItemResult, state: RateState | None) -> None:
    record = result.usage_record(principal=principal, request_id=job.request_id,
                                 event_id=item_event_id(job.id, item.index))
    if usage_events_record(records=[record]) is None and record.billable:
        if state is not None:
            limiter_settle(account_id=job.account_id, state=state, billable=0)
        # Not stored, not billed: the task fails and the queue runs the item again later.
        raise ServiceUnavailable("Usage cannot be recorded right now.", retry_after=5)
    with transaction.atomic():
        stored = JobItem.objects.filter(pk=item.pk, status__isnull=True).update(
            status=result.status, body=result.body, finished_at=timezone.now())
        if stored:
            Job.objects.filter(pk=job.pk).update(
                done=F("done") + 1, failed_items=F("failed_items") + int(result.status != 200))
    if state is not None:
        limiter_settle(account_id=job.account_id, state=state, billable=int(record.billable))
    JOB_ITEMS.labels(event="succeeded" if result.status == 200 else "failed").inc()


def job_run(*, job_id: uuid.UUID, chunk: int = CHUNK_ITEMS) -> bool:
    """Run the job's next ``chunk`` items, then queue the rest or finish the job. Safe to
    run again after a crash at any point: a stored item is never run again, an item run
    again is billed once (its usage event id), and the job finishes once. True when the job
    is finished."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.finished_at is not None:
        return True
    if job.status == Job.Status.QUEUED:
        Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=Job.Status.RUNNING, started_at=timezone.now())
    principal = _principal(job)
    pending = list(job.items.filter(status__isnull=True).order_by("index")[: chunk + 1])
    for item in pending[:chunk]:
        result, state = _item_answer(principal, item)
        _item_finish(job, principal, item, result, state)
    if len(pending) > chunk:
        with transaction.atomic():
            _job_run_defer(job)
        return False
    _job_finish(job_id=job.pk)
    return True


def job_fail(*, job_id: uuid.UUID) -> None:
    """The job could not be finished (its task failed every attempt): ``failed``, with the
    results of the items that ran, and its ``job.completed`` event."""
    _job_finish(job_id=job_id, status=Job.Status.FAILED)


def _job_finish(*, job_id: uuid.UUID, status: str = Job.Status.SUCCEEDED) -> None:
    """Mark the job finished and send ``job.completed``, in one transaction: the event is
    queued once, with one ``webhook-id`` per target, whatever runs the job again."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.finished_at is not None:
            return
        now = timezone.now()
        job.status, job.finished_at, job.expires_at = status, now, now + RESULTS_KEPT
        job.save(update_fields=["status", "finished_at", "expires_at"])
        data = job_document(job=job, results=True)
        if job.callback_url:
            webhook_event_send(account_id=job.account_id, event_type="job.completed", data=data,
                               url=job.callback_url, reference=job.public_id)
        webhook_event_send(account_id=job.account_id, event_type="job.completed", data=data,
                           reference=job.public_id)
    JOBS.labels(event=status).inc()


def jobs_prune(*, now: datetime | None = None) -> tuple[int, int]:
    """Delete finished jobs past their seven days and idempotency records past their 24
    hours. Returns (jobs, records) deleted."""
    now = now or timezone.now()
    _, jobs = Job.objects.filter(expires_at__lt=now, finished_at__isnull=False).delete()
    records, _ = IdempotentRequest.objects.filter(created_at__lt=now - IDEMPOTENCY_KEPT).delete()
    return jobs.get(Job._meta.label, 0), records
