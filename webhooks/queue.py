"""Queueing delivery attempts on Procrastinate, in the caller's database transaction
(``weatherapi.queue``): a delivery's task and the rows it is about commit together or not
at all, in the web process (``webhook_event_send``) as in the worker (a retry queued with
the attempt's row).

On the embedded default (SQLite) there is no queue: a delivery stays ``pending`` and a
warning says so.

No Procrastinate ``lock`` per delivery: a waiting job holds its lock even while scheduled
for later, so a retry queued for in an hour would hold back a redelivery asked for now.
Two attempts of one delivery never overlap anyway: each runs holding the delivery's row
lock (``webhooks.services.webhook_delivery_attempt``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from weatherapi.queue import queue_available, task_defer

logger = logging.getLogger(__name__)

QUEUE = "webhooks"
DELIVER_TASK = "webhooks.deliver"


def delivery_defer(*, delivery_id: int, msg_id: str, series: int, at: datetime | None = None) -> int | None:
    """Queue an attempt of the delivery (``at``: not before then). The job's id, or None
    where there is no queue (SQLite)."""
    if not queue_available():
        logger.warning(
            "webhook delivery %s stays pending: the task queue needs PostgreSQL (DATABASE_URL)", msg_id,
            extra={"msg_id": msg_id},
        )
        return None
    return task_defer(task=DELIVER_TASK, queue=QUEUE, kwargs={"delivery_id": delivery_id, "series": series}, at=at)
