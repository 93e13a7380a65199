"""The ``webhooks.deliver`` task through Procrastinate's worker (PostgreSQL): deliveries
queued by ``webhook_event_send`` reach a local receiver, a failed attempt queues its
retry, and a job run again sends nothing twice."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from tests.support.webhook_receiver import WebhookReceiver
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("private_targets"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the task queue (Procrastinate) needs PostgreSQL"),
]


@pytest.fixture(autouse=True)
def _no_delivery_jobs_left():
    """The queue's tables are not Django's (pytest-django's flush leaves them): this
    module's jobs go with the test, so no later test's worker runs them."""
    yield
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = %s", ["webhooks.deliver"])


@pytest.fixture(autouse=True)
def _worker_closes_its_connections():
    """The worker's task threads close their Django connection after each task, as with
    CONN_MAX_AGE=0 (Procrastinate's cleanup keeps a persistent one): none outlives the test
    to hold up the test database's teardown."""
    from django.db import connections

    database = connections.settings["default"]
    saved = database["CONN_MAX_AGE"]
    database["CONN_MAX_AGE"] = 0
    yield
    database["CONN_MAX_AGE"] = saved


def run_worker() -> None:
    """Run the due jobs of the webhooks queue, then return (as ``jobs_worker`` runs them,
    on a psycopg connector of its own)."""
    from procrastinate.contrib.django import app

    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["webhooks"], wait=False, install_signal_handlers=False, listen_notify=False)


def run_until(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run_worker()
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("the worker did not get there in time")


def _jobs(delivery: WebhookDelivery) -> list[tuple[str, dict]]:
    from procrastinate.contrib.django.models import ProcrastinateJob

    jobs = ProcrastinateJob.objects.filter(task_name="webhooks.deliver", args__delivery_id=delivery.pk)
    return list(jobs.order_by("id").values_list("status", "args"))


def _status(delivery: WebhookDelivery) -> str:
    delivery.refresh_from_db()
    return delivery.status


def test_the_worker_delivers_a_signed_event(account):
    secret = services.webhook_secret_get_or_create(account_id=account.pk).secret
    with WebhookReceiver(secret=secret) as receiver:
        (delivery,) = services.webhook_event_send(account_id=account.pk, event_type="job.completed",
                                                  data={"id": "job_1"}, url=receiver.url + "/cb", reference="job_1")
        run_until(lambda: _status(delivery) == DeliveryStatus.SUCCEEDED)
        (request,) = receiver.received
        assert request.verified is True and request.header("webhook-id") == delivery.msg_id
    assert _jobs(delivery) == [("succeeded", {"delivery_id": delivery.pk, "series": 1})]


def test_a_500_then_the_retry_accepted_through_the_queue(account, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.2
    secret = services.webhook_secret_get_or_create(account_id=account.pk).secret
    with WebhookReceiver(secret=secret) as receiver:
        receiver.script(500)
        (delivery,) = services.webhook_event_send(account_id=account.pk, event_type="job.completed",
                                                  data={"id": "job_2"}, url=receiver.url + "/cb")
        run_until(lambda: _status(delivery) == DeliveryStatus.SUCCEEDED)
        first, second = receiver.received
        assert first.verified and second.verified
        assert first.header("webhook-id") == second.header("webhook-id") == delivery.msg_id
        assert first.header("webhook-timestamp") <= second.header("webhook-timestamp")
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number").values_list("number", "status_code"))
    assert attempts == [(1, 500), (2, 204)]
    assert [status for status, _ in _jobs(delivery)] == ["succeeded", "succeeded"]


def test_a_job_run_twice_sends_once(account):
    """A stalled job retried after its worker died, when the attempt had committed."""
    with WebhookReceiver() as receiver:
        (delivery,) = services.webhook_event_send(account_id=account.pk, event_type="job.completed",
                                                  data={}, url=receiver.url + "/cb")
        run_until(lambda: _status(delivery) == DeliveryStatus.SUCCEEDED)
        from webhooks.queue import delivery_defer

        delivery_defer(delivery_id=delivery.pk, msg_id=delivery.msg_id, series=1)  # the same job again
        run_until(lambda: [s for s, _ in _jobs(delivery)] == ["succeeded", "succeeded"])
        assert len(receiver.received) == 1
