"""``python manage.py jobs_worker``: runs job items and webhook deliveries until stopped.

Procrastinate's worker on the ``jobs`` and ``webhooks`` queues, with what a crash needs:
a task whose worker died (SIGKILL, a lost node) stays ``doing`` on the queue; every
worker looks for such tasks (their worker's heartbeat stopped) and runs them again,
at start and then every few seconds. Tasks are safe to run again (``jobs.services``,
``webhooks.services``). SIGTERM stops taking tasks and lets the ones in hand finish (a
job's task runs a chunk of items, then queues the rest).

Liveness: the worker touches ``JOBS_WORKER_HEARTBEAT_FILE`` every heartbeat while it can
reach the queue; the Deployment's probe checks the file's age (no Django start per probe).
``--check`` tells whether the database and the queue's tables answer, for a person.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

from weatherapi.metrics import JOBS_OLDEST_READY, JOBS_QUEUE_DEPTH
from weatherapi.queue import queue_available

logger = logging.getLogger(__name__)

QUEUES = ("jobs", "webhooks")


# Tasks ready to run (what KEDA scales on) and how long the oldest has been ready, by queue.
_QUEUE_STATE = """
SELECT q.queue_name, count(j.id) AS ready,
       coalesce(extract(epoch FROM now() - min(coalesce(j.scheduled_at, e.at))), 0) AS oldest
FROM (VALUES ('jobs'), ('webhooks')) AS q(queue_name)
LEFT JOIN procrastinate_jobs j ON j.queue_name = q.queue_name AND j.status = 'todo'
     AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
LEFT JOIN LATERAL (SELECT max(at) AS at FROM procrastinate_events
                   WHERE job_id = j.id AND type IN ('deferred', 'deferred_for_retry', 'retried')) e ON true
GROUP BY q.queue_name
"""


async def _housekeeping(worker_app: Any, *, every: float, stalled_after: float, heartbeat_file: str) -> None:
    """Every ``every`` seconds: run again the tasks of workers that stopped, publish the
    queue's state, and touch the liveness probe's heartbeat file (this loop runs on the
    worker's own event loop: a stuck loop stops the heartbeat)."""
    while True:
        try:
            for job in await worker_app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
                logger.warning("running task %s (%s) again: its worker stopped", job.id, job.task_name)
                await worker_app.job_manager.retry_job(job)
            for row in await worker_app.connector.execute_query_all_async(_QUEUE_STATE):
                JOBS_QUEUE_DEPTH.labels(queue=row["queue_name"]).set(row["ready"])
                JOBS_OLDEST_READY.labels(queue=row["queue_name"]).set(float(row["oldest"]))
        except Exception:  # the next round tries again; the worker keeps working meanwhile
            logger.exception("could not look after the queue")
        else:
            if heartbeat_file:
                Path(heartbeat_file).touch()
        await asyncio.sleep(every)


async def _run(worker_app: Any, options: dict[str, Any]) -> None:
    heartbeat = settings.JOBS_WORKER_HEARTBEAT_SECONDS
    stalled_after = settings.JOBS_WORKER_STALLED_SECONDS
    async with worker_app.open_async():
        recover = asyncio.create_task(_housekeeping(worker_app, every=heartbeat, stalled_after=stalled_after,
                                                    heartbeat_file=settings.JOBS_WORKER_HEARTBEAT_FILE))
        try:
            await worker_app.run_worker_async(
                queues=list(QUEUES), concurrency=options["concurrency"], wait=not options["until_empty"],
                name=options["name"], update_heartbeat_interval=heartbeat, stalled_worker_timeout=stalled_after,
                fetch_job_polling_interval=settings.JOBS_WORKER_POLL_SECONDS, delete_jobs="never",
            )
        finally:
            recover.cancel()


class Command(BaseCommand):
    help = "Run job items and webhook deliveries until stopped (SIGTERM finishes the tasks in hand)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--concurrency", type=int, default=settings.JOBS_WORKER_CONCURRENCY,
                            help="Tasks run at once, each in its own thread.")
        parser.add_argument("--name", default=None, help="The worker's name in the logs.")
        parser.add_argument("--until-empty", action="store_true",
                            help="Stop once no task is waiting (for scripts), instead of waiting for more.")
        parser.add_argument("--check", action="store_true",
                            help="Exit 0 when the database and the queue answer (liveness probe).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not queue_available():
            raise CommandError("The task queue needs PostgreSQL (DATABASE_URL); this server runs on SQLite.")
        if options["check"]:
            if not app.check_connection():
                raise CommandError("The queue's tables are missing: run `python manage.py migrate`.")
            return
        connector = app.connector
        assert isinstance(connector, DjangoConnector)  # noqa: S101 - procrastinate.contrib.django's
        # Django's connection serves the web side (deferring in our transactions); the
        # worker's loop needs an async pool to the same database.
        with app.replace_connector(connector.get_worker_connector()) as worker_app:
            try:
                asyncio.run(_run(worker_app, options))
            except KeyboardInterrupt:
                sys.exit(0)
