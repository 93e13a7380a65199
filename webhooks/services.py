"""Writes of the webhooks app: signing secrets, endpoints, deliveries and their attempts.

Sending (``webhook_event_send``) stores the message and queues its first attempt in one
transaction, so a message is either stored and queued or neither. Each attempt
(``webhook_delivery_attempt``, run by the ``webhooks.deliver`` task) holds the delivery's
row lock from the check that it is still due to the commit of its attempt row and, when it
failed, of its retry's job: a crash in between leaves nothing, and the stalled job's retry
sends again (at-least-once, same ``webhook-id``); a delivery already answered with a 2xx
is never sent again.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from accounts.models import Account
from weatherapi.errors import InvalidParameter, NotFound, PermissionDeniedError
from weatherapi.metrics import WEBHOOK_DELIVERIES
from webhooks import queue, transport
from webhooks.models import (
    EVENT_TYPES,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
    new_signing_secret,
)
from webhooks.targets import Resolver, UnsafeTarget, callback_url_check, target_resolve

logger = logging.getLogger(__name__)

# callback_url_check lives in webhooks.targets; the jobs API imports it from here.
__all__ = [
    "callback_url_check", "retry_delay", "webhook_delivery_attempt", "webhook_endpoint_create",
    "webhook_endpoint_delete", "webhook_event_send", "webhook_redeliver", "webhook_secret_get_or_create",
    "webhook_secret_rotate",
]

DEFAULT_ROTATION_GRACE = timedelta(hours=24)
RETRY_CAP_SECONDS = 3600.0


# --- Signing secret ---------------------------------------------------------------------


def webhook_secret_get_or_create(*, account_id: int) -> WebhookSecret:
    """The account's signing secret, made on first use."""
    with transaction.atomic():
        secret, _ = WebhookSecret.objects.get_or_create(
            account_id=account_id, defaults={"secret": new_signing_secret()}
        )
    return secret


def webhook_secret_rotate(*, account_id: int, grace: timedelta = DEFAULT_ROTATION_GRACE) -> WebhookSecret:
    """A new signing secret. For ``grace`` the previous one signs too (both signatures in
    ``webhook-signature``); a zero grace retires it at once. A second rotation within a grace
    period retires the secret that was previous before it: only two ever sign."""
    if grace < timedelta(0):
        raise ValueError("grace must not be negative")
    with transaction.atomic():
        webhook_secret_get_or_create(account_id=account_id)
        secret = WebhookSecret.objects.select_for_update().get(account_id=account_id)
        now = timezone.now()
        if grace > timedelta(0):
            secret.previous_secret, secret.previous_valid_until = secret.secret, now + grace
        else:
            secret.previous_secret, secret.previous_valid_until = "", None
        secret.secret = new_signing_secret()
        secret.rotated_at = now
        secret.save(update_fields=["secret", "previous_secret", "previous_valid_until", "rotated_at"])
    logger.info("webhook signing secret rotated", extra={"account_id": account_id, "grace_seconds": grace.total_seconds()})
    return secret


# --- Endpoints --------------------------------------------------------------------------


def _clean_events(events: Sequence[str]) -> list[str]:
    if isinstance(events, str) or not isinstance(events, Sequence) or not events:
        raise InvalidParameter("events: Choose at least one event type.", errors={"events": ["Choose at least one event type."]})
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        message = f"Unknown event type {unknown[0]!r}; choose from {', '.join(EVENT_TYPES)}."
        raise InvalidParameter(f"events: {message}", errors={"events": [message]})
    return [e for e in EVENT_TYPES if e in events]  # deduplicated, in a stable order


def webhook_endpoint_create(
    *, account_id: int, url: str, events: Sequence[str], resolver: Resolver | None = None
) -> WebhookEndpoint:
    """A new endpoint receiving ``events`` at ``url`` (checked as ``callback_url_check``
    does, under the field name ``url``). At most ``MAX_WEBHOOK_ENDPOINTS_PER_ACCOUNT``."""
    cleaned = _clean_events(events)
    callback_url_check(url, resolver=resolver, field="url")  # DNS: before the transaction
    with transaction.atomic():
        # Serialises concurrent creations of one account, so the cap holds.
        Account.objects.select_for_update().filter(pk=account_id).first()
        cap = settings.MAX_WEBHOOK_ENDPOINTS_PER_ACCOUNT
        if WebhookEndpoint.objects.filter(account_id=account_id).count() >= cap:
            raise PermissionDeniedError(
                f"An account may have at most {cap} webhook endpoints; delete one you no longer use first."
            )
        webhook_secret_get_or_create(account_id=account_id)
        endpoint = WebhookEndpoint.objects.create(account_id=account_id, url=url, events=cleaned)
    return endpoint


def webhook_endpoint_delete(*, account_id: int, endpoint_id: str) -> None:
    """Delete the account's endpoint ``endpoint_id`` (``we_…``); its pending deliveries
    end as failed (nothing more is sent to it). Another account's endpoint is NotFound."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.filter(account_id=account_id, public_id=endpoint_id).first()
        if endpoint is None:
            raise NotFound("No such webhook endpoint.")
        WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, finished_at=timezone.now(), next_attempt_at=None
        )
        endpoint.delete()


# --- Sending ----------------------------------------------------------------------------


def _payload(*, event_type: str, data: Mapping[str, Any], at: datetime) -> str:
    timestamp = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps(
        {"type": event_type, "timestamp": timestamp, "data": data},
        # ASCII: a caller's item id may hold any code point a JSON string can (even a lone
        # surrogate), and the payload is stored and signed as it is.
        cls=DjangoJSONEncoder, ensure_ascii=True, separators=(",", ":"),
    )


def webhook_event_send(
    *,
    account_id: int,
    event_type: str,
    data: Mapping[str, Any],
    url: str | None = None,
    reference: str = "",
) -> list[WebhookDelivery]:
    """Send ``{"type", "timestamp", "data"}`` signed with the account's secret: to ``url``
    when given (a job's ``callback_url``, already checked with ``callback_url_check``),
    else to each of the account's endpoints subscribed to ``event_type`` (none: nothing).

    The deliveries are stored and their first attempts queued in one transaction (the
    caller's, when it has one). On SQLite there is no queue: they stay ``pending`` and a
    warning is logged. ``reference`` lets the sender find its deliveries again
    (``webhooks.selectors.webhook_delivery_list_for_reference``)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    now = timezone.now()
    payload = _payload(event_type=event_type, data=data, at=now)
    with transaction.atomic():
        webhook_secret_get_or_create(account_id=account_id)
        if url is not None:
            targets: list[tuple[str, WebhookEndpoint | None]] = [(url, None)]
        else:
            endpoints = WebhookEndpoint.objects.filter(account_id=account_id).order_by("created_at", "id")
            targets = [(e.url, e) for e in endpoints if event_type in e.events]
        deliveries = []
        for target_url, endpoint in targets:
            delivery = WebhookDelivery.objects.create(
                account_id=account_id, event_type=event_type, url=target_url, endpoint=endpoint,
                payload=payload, reference=reference[:64], next_attempt_at=now, created_at=now,
            )
            queue.delivery_defer(delivery_id=delivery.pk, msg_id=delivery.msg_id, series=delivery.series)
            deliveries.append(delivery)
    return deliveries


def webhook_redeliver(*, account_id: int, delivery_id: str) -> WebhookDelivery:
    """Send the account's delivery ``delivery_id`` (``msg_…``) again: a new series of
    attempts (same body, same ``webhook-id``, fresh timestamps and signatures) with its own
    retry window. A retry still queued from the earlier series then sends nothing."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update().filter(account_id=account_id, msg_id=delivery_id).first()
        )
        if delivery is None:
            raise NotFound("No such webhook delivery.")
        now = timezone.now()
        delivery.series += 1
        delivery.status = DeliveryStatus.PENDING
        delivery.series_started_at = None
        delivery.series_attempts = 0
        delivery.finished_at = None
        delivery.next_attempt_at = now
        delivery.save(update_fields=["series", "status", "series_started_at", "series_attempts", "finished_at",
                                     "next_attempt_at"])
        queue.delivery_defer(delivery_id=delivery.pk, msg_id=delivery.msg_id, series=delivery.series)
    return delivery


# --- Attempts ---------------------------------------------------------------------------


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones in a series:
    exponential (``WEBHOOK_RETRY_BASE_SECONDS`` doubled per attempt, at most an hour) with
    equal jitter, i.e. uniform in [half, all] of it, so receivers coming back from an outage
    are not hit by every sender at once, and no retry comes right after the failure."""
    base = float(settings.WEBHOOK_RETRY_BASE_SECONDS)
    ceiling = min(RETRY_CAP_SECONDS, base * 2 ** min(max(attempts, 1) - 1, 32))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)  # noqa: S311 - jitter, not a secret


def _signature_header(secret: WebhookSecret, *, msg_id: str, at: datetime, body: bytes) -> str:
    return " ".join(Webhook(s).sign(msg_id=msg_id, timestamp=at, data=body) for s in secret.signing_secrets(at))


def _send(delivery: WebhookDelivery, secret: WebhookSecret, *, at: datetime, resolver: Resolver | None) -> tuple[transport.Answer, bool]:
    """One attempt: the answer, and whether a later attempt could do better."""
    started = timezone.now()
    try:
        target = target_resolve(delivery.url, resolver=resolver)
    except UnsafeTarget as e:
        elapsed = int((timezone.now() - started).total_seconds() * 1000)
        return transport.Answer(status_code=None, error=f"refused: {e.reason}", duration_ms=elapsed), e.retryable
    body = delivery.payload.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery.msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": _signature_header(secret, msg_id=delivery.msg_id, at=at, body=body),
    }
    answer = transport.post(target, body=body, headers=headers, timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS))
    return answer, True


def webhook_delivery_attempt(*, delivery_id: int, series: int = 1, resolver: Resolver | None = None) -> str:
    """Run one attempt of a delivery (the ``webhooks.deliver`` task). Returns the outcome:
    ``succeeded``, ``retry`` (failed; the next attempt is queued), ``failed`` (failed, no
    retry left), or ``skipped`` (nothing to do: gone, finished, or a newer series)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.series != series or delivery.status != DeliveryStatus.PENDING:
            return "skipped"
        secret = webhook_secret_get_or_create(account_id=delivery.account_id)
        now = timezone.now()
        if delivery.series_started_at is None:
            delivery.series_started_at = now
        number = (delivery.attempts.aggregate(n=Max("number"))["n"] or 0) + 1
        answer, retryable = _send(delivery, secret, at=now, resolver=resolver)
        WebhookAttempt.objects.create(
            delivery=delivery, number=number, at=now, status_code=answer.status_code,
            error=answer.error[:500], duration_ms=answer.duration_ms,
        )
        delivery.series_attempts += 1
        finished = timezone.now()
        window = timedelta(seconds=settings.WEBHOOK_RETRY_FOR_SECONDS)
        if answer.succeeded:
            outcome = "succeeded"
            delivery.status, delivery.finished_at, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, finished, None
        elif retryable and finished - delivery.series_started_at < window:
            outcome = "retry"
            delivery.next_attempt_at = finished + timedelta(seconds=retry_delay(delivery.series_attempts))
            queue.delivery_defer(delivery_id=delivery.pk, msg_id=delivery.msg_id, series=delivery.series,
                                 at=delivery.next_attempt_at)
        else:
            outcome = "failed"
            delivery.status, delivery.finished_at, delivery.next_attempt_at = DeliveryStatus.FAILED, finished, None
        delivery.save(update_fields=["status", "series_started_at", "series_attempts", "finished_at", "next_attempt_at"])
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
    logger.info(
        "webhook attempt %s of %s: %s", number, delivery.msg_id, outcome,
        extra={"msg_id": delivery.msg_id, "attempt": number, "status_code": answer.status_code,
               "error": answer.error, "outcome": outcome, "duration_ms": answer.duration_ms},
    )
    return outcome
