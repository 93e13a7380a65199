"""Queueing delivery attempts on Procrastinate, in the caller's database transaction.

A delivery's job is inserted through Django's own connection (Procrastinate's
``DjangoConnector``), whatever connector the app runs with (the worker swaps in a psycopg
one): so the job and the rows it is about commit together or not at all, in the web
process (``webhook_event_send``) as in the worker (a retry queued with the attempt's row).

The queue's tables exist on PostgreSQL only (``weatherapi.routers``). On the embedded
default (SQLite) there is no queue: a delivery stays ``pending`` and a warning says so.

No Procrastinate ``lock`` per delivery: a waiting job holds its lock even while scheduled
for later, so a retry queued for in an hour would hold back a redelivery asked for now.
Two attempts of one delivery never overlap anyway: each runs holding the delivery's row
lock (``webhooks.services.webhook_delivery_attempt``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache

from django.db import connection
from procrastinate import manager
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.tasks import configure_task

logger = logging.getLogger(__name__)

QUEUE = "webhooks"
DELIVER_TASK = "webhooks.deliver"


def queue_available() -> bool:
    return connection.vendor == "postgresql"


@lru_cache(maxsize=1)
def _job_manager() -> manager.JobManager:
    return manager.JobManager(connector=DjangoConnector(alias="default"))


def delivery_defer(*, delivery_id: int, msg_id: str, series: int, at: datetime | None = None) -> int | None:
    """Queue an attempt of the delivery (``at``: not before then). The job's id, or None
    where there is no queue (SQLite)."""
    if not queue_available():
        logger.warning(
            "webhook delivery %s stays pending: the task queue needs PostgreSQL (DATABASE_URL)", msg_id,
            extra={"msg_id": msg_id},
        )
        return None
    deferrer = configure_task(
        name=DELIVER_TASK,
        job_manager=_job_manager(),
        queue=QUEUE,
        schedule_at=at,
        task_kwargs={"delivery_id": delivery_id, "series": series},
    )
    return deferrer.defer()
