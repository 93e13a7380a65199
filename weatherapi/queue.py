"""Deferring tasks on the queue (Procrastinate) in the caller's database transaction.

A task is inserted through Django's own connection (Procrastinate's ``DjangoConnector``),
whatever connector the app runs with (the worker swaps in a psycopg pool): the task and
the rows it is about commit together or not at all, in the web process as in the worker.
No task is lost between a commit and a broker, and none runs for rows that were rolled back.

The queue's tables exist on PostgreSQL only (``weatherapi.routers``); on the embedded
default (SQLite) ``queue_available()`` is false and callers say what that means for them.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connection
from procrastinate import manager
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.tasks import configure_task


def queue_available() -> bool:
    return connection.vendor == "postgresql"


@lru_cache(maxsize=1)
def _job_manager() -> manager.JobManager:
    return manager.JobManager(connector=DjangoConnector(alias="default"))


def task_defer(*, task: str, queue: str, kwargs: dict[str, Any], lock: str | None = None,
               at: datetime | None = None) -> int:
    """Queue ``task`` with ``kwargs`` (``lock``: never run at once with another task of the
    same lock; ``at``: not before then). Returns the queue's job id. Needs PostgreSQL."""
    deferrer = configure_task(name=task, job_manager=_job_manager(), queue=queue, lock=lock, schedule_at=at,
                              task_kwargs=kwargs)
    return deferrer.defer()
