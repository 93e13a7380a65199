"""The jobs queue's tasks (Procrastinate discovers each app's ``tasks`` module)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import close_old_connections
from procrastinate import JobContext, RetryStrategy, builtin_tasks
from procrastinate.contrib.django import app

from jobs import services

logger = logging.getLogger(__name__)

# A task that failed for a passing reason (the database or the metering stores down) runs
# again: every run continues where the job stands (``services.job_run``). After the last
# attempt the job is marked failed and its event sent.
RUN_ATTEMPTS = 20
_TRANSIENT = RetryStrategy(max_attempts=RUN_ATTEMPTS, exponential_wait=2)


@app.task(name=services.RUN_TASK, queue=services.QUEUE, retry=_TRANSIENT, pass_context=True)
def job_run(context: JobContext, job_id: str) -> None:
    # A worker thread: Django's connections are per thread and nobody else closes them.
    close_old_connections()
    try:
        services.job_run(job_id=uuid.UUID(job_id))
    except Exception:
        if context.job.attempts + 1 >= RUN_ATTEMPTS:
            logger.exception("job %s failed for good after %s attempts", job_id, RUN_ATTEMPTS)
            services.job_fail(job_id=uuid.UUID(job_id))
        raise
    finally:
        close_old_connections()


@app.periodic(cron="*/15 * * * *", periodic_id="jobs-prune")
@app.task(name="jobs.prune", queue=services.QUEUE, queueing_lock="jobs.prune")
def jobs_prune(timestamp: int) -> None:
    close_old_connections()
    try:
        jobs, records = services.jobs_prune()
        logger.info("pruned %s expired jobs and %s idempotency records", jobs, records)
    finally:
        close_old_connections()


@app.periodic(cron="0 * * * *", periodic_id="queue-prune")
@app.task(name="jobs.queue_prune", queue=services.QUEUE, queueing_lock="jobs.queue_prune", pass_context=True)
async def queue_prune(context: Any, timestamp: int) -> None:
    """The queue's own finished tasks, after three days (Procrastinate keeps them)."""
    await builtin_tasks.remove_old_jobs(context, max_hours=72, remove_failed=True, remove_cancelled=True,
                                        remove_aborted=True)
