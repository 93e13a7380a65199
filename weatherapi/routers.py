"""Database routing: the task queue's tables exist on PostgreSQL only.

Procrastinate's schema is PL/pgSQL (its queue takes jobs with ``FOR UPDATE SKIP LOCKED``
and wakes workers with ``LISTEN/NOTIFY``); on the embedded default (SQLite) its migrations
are skipped, and what needs the queue says so (``jobs.queue``)."""

from __future__ import annotations

from typing import Any

from django.db import connections

POSTGRESQL_ONLY_APPS = frozenset({"procrastinate"})


class PostgresqlOnlyAppsRouter:
    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if app_label in POSTGRESQL_ONLY_APPS:
            return connections[db].vendor == "postgresql"
        return None
