"""Reads of jobs, always scoped by the caller's account."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet

from jobs.models import JOB_ID_PREFIX, Job
from webhooks.selectors import webhook_delivery_list_for_reference


def _uuid_of(public_id: str) -> uuid.UUID | None:
    if not public_id.startswith(JOB_ID_PREFIX):
        return None
    try:
        return uuid.UUID(hex=public_id[len(JOB_ID_PREFIX):])
    except ValueError:
        return None


def job_get_for_account(*, account_id: int, public_id: str) -> Job | None:
    """The account's job ``job_…``; None for another account's, as for none (no IDOR)."""
    job_id = _uuid_of(public_id)
    if job_id is None:
        return None
    return Job.objects.filter(pk=job_id, account_id=account_id).first()


def job_list_for_account(*, account_id: int) -> QuerySet[Job]:
    return Job.objects.filter(account_id=account_id).order_by("-created_at", "-id")


def _callback(job: Job) -> dict[str, Any] | None:
    if not job.callback_url:
        return None
    deliveries = [d for d in webhook_delivery_list_for_reference(account_id=job.account_id, reference=job.public_id)
                  if d.url == job.callback_url]
    attempts = [
        {"attempt": a.number, "at": _iso(a.at), "status_code": a.status_code}
        for d in deliveries for a in d.attempts.all()
    ]
    return {"url": job.callback_url, "deliveries": attempts}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def job_document(*, job: Job, results: bool, callback: bool = True) -> dict[str, Any]:
    """The job as ``GET /v1/jobs/{id}`` answers it (and ``job.completed`` carries it); the
    results once it has finished and ``results`` is asked for; the callback's deliveries
    unless ``callback`` is false (the list)."""
    doc: dict[str, Any] = {
        "id": job.public_id, "status": job.status, "total": job.total, "done": job.done,
        "failed_items": job.failed_items, "created_at": _iso(job.created_at), "finished_at": _iso(job.finished_at),
    }
    if results and job.finished_at is not None:
        # A failed job's items that never ran have no result.
        doc["results"] = [
            {"id": json.loads(request)["id"], "status": status, "body": json.loads(bytes(body or b""))}
            for request, status, body in job.items.filter(status__isnull=False).order_by("index")
            .values_list("request", "status", "body")
        ]
    if callback:
        doc["callback"] = _callback(job)
    return doc
