"""webhooks.services: signing secrets, endpoints, sending (rows and queued jobs in one
transaction), redelivery and the retry schedule."""

from __future__ import annotations

import base64
import json
import logging
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import AccountFactory
from weatherapi.errors import InvalidParameter, NotFound, PermissionDeniedError
from webhooks import queue, services
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookSecret

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.216.34"
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the task queue (Procrastinate) needs PostgreSQL"
)


@pytest.fixture
def hooks_dns(fake_dns):
    fake_dns.add("hooks.example.com", PUBLIC)
    fake_dns.add("other.example.com", PUBLIC)
    return fake_dns


def _jobs(**filters):
    from procrastinate.contrib.django.models import ProcrastinateJob

    return list(ProcrastinateJob.objects.filter(task_name="webhooks.deliver", **filters).order_by("id"))


# --- Signing secret ---------------------------------------------------------------------------


def test_secret_is_whsec_and_32_random_bytes_made_once(account):
    secret = services.webhook_secret_get_or_create(account_id=account.pk)
    assert secret.secret.startswith("whsec_")
    assert len(base64.b64decode(secret.secret.removeprefix("whsec_"))) == 32
    assert services.webhook_secret_get_or_create(account_id=account.pk).secret == secret.secret
    other = services.webhook_secret_get_or_create(account_id=AccountFactory().pk)
    assert other.secret != secret.secret
    assert "whsec_" not in str(secret) and "whsec_" not in repr(secret)


def test_rotation_keeps_the_previous_secret_signing_for_the_grace_period(account):
    old = services.webhook_secret_get_or_create(account_id=account.pk).secret
    rotated = services.webhook_secret_rotate(account_id=account.pk, grace=timedelta(hours=2))
    now = timezone.now()
    assert rotated.secret != old and rotated.previous_secret == old
    assert timedelta(hours=1, minutes=59) < rotated.previous_valid_until - now <= timedelta(hours=2)
    assert rotated.signing_secrets(now) == [rotated.secret, old]
    assert rotated.signing_secrets(now + timedelta(hours=2, seconds=1)) == [rotated.secret]
    # A second rotation: only two secrets ever sign.
    again = services.webhook_secret_rotate(account_id=account.pk)
    assert again.signing_secrets(timezone.now()) == [again.secret, rotated.secret]


def test_rotation_without_grace_retires_the_old_secret_at_once(account):
    services.webhook_secret_get_or_create(account_id=account.pk)
    rotated = services.webhook_secret_rotate(account_id=account.pk, grace=timedelta(0))
    assert rotated.previous_secret == "" and rotated.previous_valid_until is None
    assert rotated.signing_secrets(timezone.now()) == [rotated.secret]
    with pytest.raises(ValueError):
        services.webhook_secret_rotate(account_id=account.pk, grace=timedelta(seconds=-1))


def test_rotation_is_never_logged_with_the_secret(account, caplog):
    caplog.set_level(logging.INFO)
    rotated = services.webhook_secret_rotate(account_id=account.pk)
    assert rotated.secret not in caplog.text and rotated.previous_secret not in caplog.text


# --- Endpoints ---------------------------------------------------------------------------------


def test_endpoint_create_checks_the_url_and_the_events(account, hooks_dns):
    endpoint = services.webhook_endpoint_create(
        account_id=account.pk, url="https://hooks.example.com/wx", events=["job.completed", "usage.threshold", "job.completed"]
    )
    assert endpoint.public_id.startswith("we_") and len(endpoint.public_id) == 27
    assert endpoint.events == ["usage.threshold", "job.completed"]
    assert WebhookSecret.objects.filter(account=account).exists()
    with pytest.raises(InvalidParameter) as bad_url:
        services.webhook_endpoint_create(account_id=account.pk, url="https://169.254.169.254/", events=["job.completed"])
    assert list(bad_url.value.errors) == ["url"]
    for events in ([], ["job.started"], "job.completed"):
        with pytest.raises(InvalidParameter) as bad_events:
            services.webhook_endpoint_create(account_id=account.pk, url="https://hooks.example.com/", events=events)
        assert list(bad_events.value.errors) == ["events"]


def test_endpoint_create_refuses_a_name_resolving_to_a_private_address(account, fake_dns, network_guard):
    fake_dns.add("internal.example.com", "10.0.0.8")
    with pytest.raises(InvalidParameter):
        services.webhook_endpoint_create(account_id=account.pk, url="https://internal.example.com/", events=["job.completed"])
    assert not WebhookEndpoint.objects.exists()
    assert network_guard.connects == []


def test_endpoints_per_account_are_capped(account, hooks_dns, settings):
    settings.MAX_WEBHOOK_ENDPOINTS_PER_ACCOUNT = 2
    for n in range(2):
        services.webhook_endpoint_create(account_id=account.pk, url=f"https://hooks.example.com/{n}", events=["job.completed"])
    with pytest.raises(PermissionDeniedError):
        services.webhook_endpoint_create(account_id=account.pk, url="https://hooks.example.com/3", events=["job.completed"])
    # Another account has its own allowance.
    services.webhook_endpoint_create(account_id=AccountFactory().pk, url="https://hooks.example.com/", events=["job.completed"])


def test_endpoint_delete_is_scoped_and_stops_its_pending_deliveries(account, hooks_dns):
    endpoint = services.webhook_endpoint_create(account_id=account.pk, url="https://hooks.example.com/", events=["usage.threshold"])
    (delivery,) = services.webhook_event_send(account_id=account.pk, event_type="usage.threshold", data={"percent": 80})
    with pytest.raises(NotFound):
        services.webhook_endpoint_delete(account_id=AccountFactory().pk, endpoint_id=endpoint.public_id)
    services.webhook_endpoint_delete(account_id=account.pk, endpoint_id=endpoint.public_id)
    assert not WebhookEndpoint.objects.exists()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.finished_at is not None
    # Its queued attempt then sends nothing.
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk, series=1) == "skipped"
    with pytest.raises(NotFound):
        services.webhook_endpoint_delete(account_id=account.pk, endpoint_id=endpoint.public_id)


# --- Sending -----------------------------------------------------------------------------------


def test_event_goes_to_each_subscribed_endpoint_of_the_account(account, hooks_dns):
    usage = services.webhook_endpoint_create(account_id=account.pk, url="https://hooks.example.com/usage", events=["usage.threshold"])
    both = services.webhook_endpoint_create(account_id=account.pk, url="https://other.example.com/all",
                                            events=["usage.threshold", "job.completed"])
    services.webhook_endpoint_create(account_id=account.pk, url="https://hooks.example.com/jobs", events=["job.completed"])
    services.webhook_endpoint_create(account_id=AccountFactory().pk, url="https://hooks.example.com/", events=["usage.threshold"])
    deliveries = services.webhook_event_send(account_id=account.pk, event_type="usage.threshold",
                                             data={"threshold": 80, "period": "2026-12"}, reference="usage_2026-12_80")
    assert [(d.url, d.endpoint_id) for d in deliveries] == [(usage.url, usage.pk), (both.url, both.pk)]
    assert len({d.msg_id for d in deliveries}) == 2 and all(d.msg_id.startswith("msg_") for d in deliveries)
    assert all(d.status == DeliveryStatus.PENDING and d.reference == "usage_2026-12_80" for d in deliveries)
    assert deliveries[0].payload == deliveries[1].payload
    body = json.loads(deliveries[0].payload)
    assert body["type"] == "usage.threshold" and body["data"] == {"threshold": 80, "period": "2026-12"}
    stamp = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert body["timestamp"].endswith("Z") and abs(stamp - timezone.now()) < timedelta(seconds=5)
    assert list(body) == ["type", "timestamp", "data"]


def test_no_endpoint_no_delivery(account):
    assert services.webhook_event_send(account_id=account.pk, event_type="usage.threshold", data={}) == []


def test_a_callback_url_gets_one_delivery_whatever_the_endpoints(account, hooks_dns):
    services.webhook_endpoint_create(account_id=account.pk, url="https://hooks.example.com/", events=["job.completed"])
    data = {"id": "job_abc", "status": "succeeded", "finished_at": datetime(2026, 12, 4, 15, 0, tzinfo=UTC)}
    (delivery,) = services.webhook_event_send(account_id=account.pk, event_type="job.completed", data=data,
                                              url="https://other.example.com/cb", reference="job_abc")
    assert delivery.url == "https://other.example.com/cb" and delivery.endpoint is None
    assert json.loads(delivery.payload)["data"] == {"id": "job_abc", "status": "succeeded",
                                                    "finished_at": "2026-12-04T15:00:00Z"}
    with pytest.raises(ValueError):
        services.webhook_event_send(account_id=account.pk, event_type="job.started", data={})


@needs_postgresql
def test_sending_queues_one_job_per_delivery_in_the_same_transaction(account, hooks_dns):
    services.webhook_endpoint_create(account_id=account.pk, url="https://hooks.example.com/", events=["job.completed"])
    services.webhook_endpoint_create(account_id=account.pk, url="https://other.example.com/", events=["job.completed"])
    with pytest.raises(RuntimeError), transaction.atomic():
        services.webhook_event_send(account_id=account.pk, event_type="job.completed", data={})
        assert len(_jobs()) == 2  # inserted on Django's own connection, in this transaction
        raise RuntimeError("the caller's transaction fails")
    assert not WebhookDelivery.objects.exists() and _jobs() == []
    deliveries = services.webhook_event_send(account_id=account.pk, event_type="job.completed", data={})
    jobs = _jobs()
    assert [(j.queue_name, j.status, j.args) for j in jobs] == [
        ("webhooks", "todo", {"delivery_id": d.pk, "series": 1}) for d in deliveries
    ]


def test_without_a_queue_deliveries_stay_pending_with_a_warning(account, hooks_dns, monkeypatch, caplog):
    monkeypatch.setattr(queue, "queue_available", lambda: False)
    caplog.set_level(logging.WARNING, logger="webhooks.queue")
    (delivery,) = services.webhook_event_send(account_id=account.pk, event_type="job.completed", data={},
                                              url="https://hooks.example.com/cb")
    assert delivery.status == DeliveryStatus.PENDING
    assert f"webhook delivery {delivery.msg_id} stays pending" in caplog.text and "PostgreSQL" in caplog.text


# --- Redelivery --------------------------------------------------------------------------------


def test_redeliver_starts_a_new_series_of_the_same_message(account, hooks_dns):
    (delivery,) = services.webhook_event_send(account_id=account.pk, event_type="job.completed", data={},
                                              url="https://hooks.example.com/cb")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED, finished_at=timezone.now(), series_started_at=timezone.now(), series_attempts=7
    )
    with pytest.raises(NotFound):
        services.webhook_redeliver(account_id=AccountFactory().pk, delivery_id=delivery.msg_id)
    again = services.webhook_redeliver(account_id=account.pk, delivery_id=delivery.msg_id)
    assert (again.pk, again.msg_id, again.payload) == (delivery.pk, delivery.msg_id, delivery.payload)
    assert (again.series, again.status, again.series_started_at, again.series_attempts, again.finished_at) == (
        2, DeliveryStatus.PENDING, None, 0, None)
    # A job of the first series finds nothing to do.
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk, series=1) == "skipped"
    if connection.vendor == "postgresql":
        assert [j.args for j in _jobs()] == [{"delivery_id": delivery.pk, "series": s} for s in (1, 2)]


# --- Retry schedule ----------------------------------------------------------------------------


def test_backoff_doubles_from_the_base_up_to_an_hour_with_jitter(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    rng = random.Random(7)
    for attempts in range(1, 16):
        ceiling = min(3600, 10 * 2 ** (attempts - 1))
        samples = [services.retry_delay(attempts, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples), attempts
        assert len({round(s, 6) for s in samples}) > 150, "no jitter"
        # Spread over the whole allowed range, not stuck at one end.
        assert min(samples) < ceiling * 0.6 and max(samples) > ceiling * 0.9
    assert services.retry_delay(1000) <= 3600
