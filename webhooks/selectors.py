"""Reads of the webhooks app, each scoped by the caller's account."""

from __future__ import annotations

from django.db.models import Prefetch

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret

RECENT_DELIVERIES = 25


def webhook_secret_get(*, account_id: int) -> WebhookSecret | None:
    return WebhookSecret.objects.filter(account_id=account_id).first()


def webhook_endpoint_list(*, account_id: int) -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(account_id=account_id).order_by("created_at", "id"))


def _with_attempts(queryset):  # type: ignore[no-untyped-def]
    return queryset.prefetch_related(
        Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number"))
    )


def webhook_delivery_list(*, account_id: int, limit: int = RECENT_DELIVERIES) -> list[WebhookDelivery]:
    """The account's newest deliveries, each with its attempts (``delivery.attempts.all()``)."""
    queryset = WebhookDelivery.objects.filter(account_id=account_id).order_by("-created_at", "-id")[:limit]
    return list(_with_attempts(queryset))


def webhook_delivery_list_for_reference(*, account_id: int, reference: str) -> list[WebhookDelivery]:
    """The account's deliveries sent with ``reference`` (e.g. a job's callback), oldest
    first, each with its attempts."""
    queryset = WebhookDelivery.objects.filter(account_id=account_id, reference=reference).order_by("created_at", "id")
    return list(_with_attempts(queryset))
