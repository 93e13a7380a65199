"""Jobs, their items, and the first answers of requests sent with an ``Idempotency-Key``."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import models

from accounts.models import Account

JOB_ID_PREFIX = "job_"


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="jobs")
    # The submitting credential, as the worker bills and answers for it (``Principal``).
    credential_type = models.CharField(max_length=16)
    credential_id = models.BigIntegerField()
    credential_prefix = models.CharField(max_length=32)
    mode = models.CharField(max_length=8)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    failed_items = models.PositiveIntegerField(default=0)
    callback_url = models.CharField(max_length=2048, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="Kept until then: seven days after it finishes.")

    class Meta:
        indexes = [
            models.Index(fields=["account", "-created_at"], name="job_account_newest"),
            models.Index(fields=["expires_at"], name="job_expires"),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def public_id(self) -> str:
        return JOB_ID_PREFIX + self.id.hex


class JobItem(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    index = models.PositiveIntegerField()
    # The item as the caller gave it, ``{"id", "endpoint", "params"}``, in ASCII JSON: an
    # unknown endpoint or bad params are the item's 400, and any string a JSON document can
    # hold (NUL, a lone surrogate) is stored as it came (PostgreSQL's text and jsonb take
    # neither as such).
    request = models.TextField()
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.BinaryField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="jobitem_job_index")]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.index}"

    @property
    def asked(self) -> dict[str, Any]:
        """The item as the caller gave it."""
        value: dict[str, Any] = json.loads(self.request)
        return value


class IdempotentRequest(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed for 24 hours.
    ``status`` 0: the first request is still being answered."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    path = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    status = models.PositiveSmallIntegerField(default=0)
    body = models.BinaryField(default=b"")
    location = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "path", "key"], name="idempotent_account_path_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotent_created")]

    def __str__(self) -> str:
        return f"{self.path} {self.key}"
