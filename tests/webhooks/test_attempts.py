"""Delivery attempts (``webhooks.services.webhook_delivery_attempt``, what the
``webhooks.deliver`` task runs) over real HTTP to a receiver on 127.0.0.1 that verifies
each request with the ``standardwebhooks`` package."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.webhook_receiver import Answer, WebhookReceiver
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSecret

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_targets")]

JOB = {"id": "job_7f3k2", "status": "succeeded", "total": 2, "done": 2}


def _send(account, url: str) -> WebhookDelivery:
    (delivery,) = services.webhook_event_send(account_id=account.pk, event_type="job.completed", data=JOB, url=url,
                                              reference="job_7f3k2")
    return delivery


def _attempt(delivery: WebhookDelivery, **kwargs) -> str:  # type: ignore[no-untyped-def]
    delivery.refresh_from_db()
    return services.webhook_delivery_attempt(delivery_id=delivery.pk, series=delivery.series, **kwargs)


def _attempts(delivery: WebhookDelivery) -> list[tuple[int, int | None]]:
    return list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number").values_list("number", "status_code"))


def _metric(outcome: str) -> float:
    return REGISTRY.get_sample_value("weatherapi_webhook_deliveries_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def secret(account) -> str:
    return services.webhook_secret_get_or_create(account_id=account.pk).secret


@pytest.fixture
def verifying_receiver(secret):
    with WebhookReceiver(secret=secret) as receiver:
        yield receiver


def test_a_delivery_is_signed_as_standard_webhooks_says(account, verifying_receiver, secret):
    delivery = _send(account, verifying_receiver.url + "/hooks/jobs?x=1")
    before = _metric("succeeded")
    assert _attempt(delivery) == "succeeded"
    (request,) = verifying_receiver.received
    assert request.verified is True
    assert request.path == "/hooks/jobs?x=1"
    assert request.body == delivery.payload.encode()
    assert Webhook(secret).verify(request.body, request.headers) == {
        "type": "job.completed", "timestamp": json.loads(delivery.payload)["timestamp"], "data": JOB}
    assert request.header("webhook-id") == delivery.msg_id
    assert abs(int(request.header("webhook-timestamp")) - time.time()) < 10
    assert request.header("webhook-signature").startswith("v1,") and " " not in request.header("webhook-signature")
    assert request.header("content-type") == "application/json"
    assert request.header("user-agent").startswith("WeatherAPI-Webhooks/")
    assert request.header("host") == f"127.0.0.1:{verifying_receiver.port}"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.finished_at and delivery.next_attempt_at is None
    (attempt,) = delivery.attempts.all()
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 204, "")
    assert 0 <= attempt.duration_ms < 5000
    assert _metric("succeeded") == before + 1


def test_during_rotation_grace_both_secrets_sign_and_after_it_only_the_new_one(account, secret):
    with WebhookReceiver() as receiver:
        rotated = services.webhook_secret_rotate(account_id=account.pk, grace=timedelta(hours=1))
        assert rotated.previous_secret == secret
        first = _send(account, receiver.url + "/cb")
        assert _attempt(first) == "succeeded"
        (request,) = receiver.received
        assert len(request.header("webhook-signature").split(" ")) == 2
        # A receiver that has the old secret and one that has the new both verify it.
        Webhook(secret).verify(request.body, request.headers)
        Webhook(rotated.secret).verify(request.body, request.headers)

        WebhookSecret.objects.filter(account=account).update(previous_valid_until=timezone.now() - timedelta(seconds=1))
        second = _send(account, receiver.url + "/cb")
        assert _attempt(second) == "succeeded"
        later = receiver.received[1]
        assert len(later.header("webhook-signature").split(" ")) == 1
        Webhook(rotated.secret).verify(later.body, later.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(later.body, later.headers)


def test_a_receiver_with_the_old_secret_only_refuses_after_the_grace(account, secret):
    with WebhookReceiver(secret=secret) as old_receiver:
        services.webhook_secret_rotate(account_id=account.pk, grace=timedelta(0))
        delivery = _send(account, old_receiver.url + "/cb")
        assert _attempt(delivery) == "retry"
        assert old_receiver.received[0].verified is False and _attempts(delivery) == [(1, 400)]


def test_a_500_is_retried_with_backoff_and_the_retry_accepted_with_the_same_webhook_id(account, verifying_receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    verifying_receiver.script(500)
    delivery = _send(account, verifying_receiver.url + "/cb")
    before_retry = _metric("retry")
    assert _attempt(delivery) == "retry"
    assert _metric("retry") == before_retry + 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.series_attempts == 1
    wait = (delivery.next_attempt_at - WebhookAttempt.objects.get(delivery=delivery).at).total_seconds()
    assert 5 - 1 <= wait <= 10 + 1  # equal jitter over [base/2, base], plus the attempt's own time
    if connection.vendor == "postgresql":
        from procrastinate.contrib.django.models import ProcrastinateJob

        retry = ProcrastinateJob.objects.filter(task_name="webhooks.deliver").order_by("-id").first()
        assert retry.args == {"delivery_id": delivery.pk, "series": 1}
        assert abs((retry.scheduled_at - delivery.next_attempt_at).total_seconds()) < 0.01

    assert _attempt(delivery) == "succeeded"
    first, second = verifying_receiver.received
    assert first.verified and second.verified
    assert first.header("webhook-id") == second.header("webhook-id") == delivery.msg_id
    assert first.body == second.body
    assert _attempts(delivery) == [(1, 500), (2, 204)]


def test_backoff_grows_with_each_failed_attempt(account, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    receiver.script(503, 503, 503, 503)
    delivery = _send(account, receiver.url + "/cb")
    waits = []
    for n in range(1, 5):
        assert _attempt(delivery) == "retry"
        delivery.refresh_from_db()
        attempt = WebhookAttempt.objects.get(delivery=delivery, number=n)
        waits.append((delivery.next_attempt_at - attempt.at).total_seconds())
    for n, wait in enumerate(waits, start=1):
        ceiling = 10 * 2 ** (n - 1)
        assert ceiling / 2 - 1 <= wait <= ceiling + 1, (n, waits)


def test_a_redirect_is_not_followed(account, receiver):
    receiver.script(Answer(status=302, headers={"Location": receiver.url + "/elsewhere"}))
    delivery = _send(account, receiver.url + "/cb")
    assert _attempt(delivery) == "retry"
    assert [r.path for r in receiver.received] == ["/cb"]
    assert receiver.connections == 1
    assert _attempts(delivery) == [(1, 302)]


def test_a_slow_receiver_is_a_timeout_recorded_and_retried(account, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.script(Answer(status=204, delay=3))
    delivery = _send(account, receiver.url + "/cb")
    started = time.monotonic()
    assert _attempt(delivery) == "retry"
    assert time.monotonic() - started < 2.5
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None and attempt.error == "timed out after 0.5 s"
    assert 400 <= attempt.duration_ms < 2500
    receiver.script(204)
    assert _attempt(delivery) == "succeeded"
    assert _attempts(delivery) == [(1, None), (2, 204)]


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_deadline(account, receiver, settings):
    """Each read would finish within the timeout: only the wall-clock deadline ends it."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.6
    receiver.script(Answer(status=200, trickle=0.1))
    delivery = _send(account, receiver.url + "/cb")
    started = time.monotonic()
    assert _attempt(delivery) == "retry"
    assert time.monotonic() - started < 2.5
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None and attempt.error == "timed out after 0.6 s"


def test_a_closed_port_is_a_failed_attempt(account, settings):
    with WebhookReceiver() as gone:
        url = gone.url + "/cb"
    delivery = _send(account, url)
    assert _attempt(delivery) == "retry"
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None and attempt.error.startswith("connection failed")


def test_no_retry_after_the_retry_window(account, receiver, settings):
    settings.WEBHOOK_RETRY_FOR_SECONDS = 86400
    receiver.script(500)
    delivery = _send(account, receiver.url + "/cb")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(series_started_at=timezone.now() - timedelta(hours=24, seconds=1))
    before = _metric("failed")
    assert _attempt(delivery) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.finished_at and delivery.next_attempt_at is None
    assert _metric("failed") == before + 1


def test_a_succeeded_delivery_is_not_sent_again(account, receiver):
    """The same job run twice (a stalled job retried after its worker died)."""
    delivery = _send(account, receiver.url + "/cb")
    assert _attempt(delivery) == "succeeded"
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk, series=1) == "skipped"
    assert services.webhook_delivery_attempt(delivery_id=10**9, series=1) == "skipped"
    assert len(receiver.received) == 1 and _attempts(delivery) == [(1, 204)]


def test_redelivery_sends_the_same_message_again(account, verifying_receiver):
    delivery = _send(account, verifying_receiver.url + "/cb")
    assert _attempt(delivery) == "succeeded"
    services.webhook_redeliver(account_id=account.pk, delivery_id=delivery.msg_id)
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk, series=1) == "skipped"
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk, series=2) == "succeeded"
    first, second = verifying_receiver.received
    assert second.verified and first.header("webhook-id") == second.header("webhook-id") and first.body == second.body
    assert _attempts(delivery) == [(1, 204), (2, 204)]


def test_the_host_is_checked_again_at_delivery_and_never_connected_when_private(account, fake_dns, network_guard, settings):
    """DNS rebinding: public when submitted, private when delivered."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    fake_dns.add("rebind.example.com", "93.184.216.34")
    services.callback_url_check("https://rebind.example.com/cb")
    delivery = _send(account, "https://rebind.example.com/cb")
    fake_dns.add("rebind.example.com", "169.254.169.254")
    assert _attempt(delivery) == "retry"
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert attempt.error.startswith("refused: The host resolves to a non-public address (169.254.169.254)")
    assert network_guard.connects == [] and network_guard.refused == []
    assert fake_dns.lookups == ["rebind.example.com", "rebind.example.com"]


def test_a_refusal_that_dns_cannot_change_fails_at_once(account, settings, network_guard):
    delivery = _send(account, "http://127.0.0.1:9/cb")  # allowed when it was sent
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    assert _attempt(delivery) == "failed"
    assert WebhookAttempt.objects.get(delivery=delivery).error == "refused: Must be an https:// URL."
    assert network_guard.connects == []


def test_an_injected_resolver_is_used_at_delivery(account, network_guard):
    calls = []

    def resolver(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(host)
        return [(2, 1, 6, "", ("10.9.8.7", port))]

    delivery = _send(account, "https://hooks.internal.example/cb")
    assert _attempt(delivery, resolver=resolver) == "retry"
    assert calls == ["hooks.internal.example"] and network_guard.connects == []
