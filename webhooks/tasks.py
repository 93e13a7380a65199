"""The delivery task, run by ``manage.py jobs_worker`` on the ``webhooks`` queue."""

from __future__ import annotations

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from webhooks.queue import DELIVER_TASK, QUEUE
from webhooks.services import webhook_delivery_attempt


# Retries here are for the task failing (the database unreachable mid-attempt); a receiver's
# failure is not an exception: the attempt queues its own retry with backoff and jitter.
@app.task(queue=QUEUE, name=DELIVER_TASK, retry=RetryStrategy(max_attempts=5, exponential_wait=4))
def deliver(delivery_id: int, series: int = 1) -> None:
    webhook_delivery_attempt(delivery_id=delivery_id, series=series)
