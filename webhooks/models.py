"""Each account's signing secret, its webhook endpoints, and every delivery with its attempts.

The signing secret is stored as it is, not hashed: it signs every outgoing request, and
the portal shows it so the receiver can verify. It is never logged (``weatherapi.logging``
redacts ``whsec_`` values) and never part of a model's ``str``.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from django.db import models
from django.utils import timezone

from accounts.models import Account

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_signing_secret() -> str:
    """``whsec_`` and the base64 of 32 random bytes, as the Standard Webhooks spec says."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_public_id(prefix: str) -> str:
    """``prefix`` and 24 random lowercase letters and digits (about 124 bits)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(24))


def new_endpoint_id() -> str:
    return new_public_id("we_")


def new_message_id() -> str:
    return new_public_id("msg_")


class WebhookEvent(models.TextChoices):
    USAGE_THRESHOLD = "usage.threshold", "usage.threshold"
    JOB_COMPLETED = "job.completed", "job.completed"


EVENT_TYPES: tuple[str, ...] = tuple(WebhookEvent.values)


class WebhookSecret(models.Model):
    """The account's signing secret; after a rotation the previous one also signs until
    ``previous_valid_until`` (the grace period), so receivers can switch without a gap."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="webhook_secret")
    secret = models.CharField(max_length=64)
    previous_secret = models.CharField(max_length=64, blank=True)
    previous_valid_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"signing secret of account {self.account_id}"

    def previous_in_grace(self, now: datetime) -> bool:
        return bool(self.previous_secret) and self.previous_valid_until is not None and now < self.previous_valid_until

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a request made at ``now``: the current one, then the
        previous one while its grace period lasts."""
        return [self.secret, self.previous_secret] if self.previous_in_grace(now) else [self.secret]


class WebhookEndpoint(models.Model):
    """A URL of the account's that receives the events it subscribes to."""

    public_id = models.CharField(max_length=32, unique=True, default=new_endpoint_id)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=2048)
    events = models.JSONField(default=list, help_text="Event types sent to this URL.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return self.public_id


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One message to one URL. ``msg_id`` is its ``webhook-id`` on every attempt, so a
    receiver can drop duplicates; ``payload`` is the body exactly as sent and signed.

    ``series`` counts attempt series: a redelivery starts a new one (same message, same
    ``webhook-id``), and a retry queued by an earlier series then sends nothing.
    ``series_started_at`` is the first attempt of the current series: retries stop
    ``WEBHOOK_RETRY_FOR_SECONDS`` after it; ``series_attempts`` sets the next backoff.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_deliveries")
    msg_id = models.CharField(max_length=40, unique=True, default=new_message_id)
    event_type = models.CharField(max_length=40)
    url = models.CharField(max_length=2048)
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    payload = models.TextField()
    # What the message is about, for the app that sent it (e.g. "job_…"): webhooks does not
    # know the other apps' models.
    reference = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    series = models.PositiveIntegerField(default=1)
    series_started_at = models.DateTimeField(null=True, blank=True)
    series_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["account", "-created_at"], name="webhooks_delivery_recent")]

    def __str__(self) -> str:
        return self.msg_id


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery (or a refusal to make it): numbered from 1 per
    delivery, across its series."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("delivery", "number")
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_number")]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.number}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
