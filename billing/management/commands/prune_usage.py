from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from billing.services.usage import usage_prune


class Command(BaseCommand):
    help = "Delete raw usage events older than USAGE_RETENTION_DAYS (daily rollups and invoices stay)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="override USAGE_RETENTION_DAYS")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else settings.USAGE_RETENTION_DAYS
        deleted = usage_prune(older_than=timezone.now() - timedelta(days=max(1, days)))
        self.stdout.write(f"deleted {deleted} usage events older than {days} days")
