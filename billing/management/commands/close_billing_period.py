from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from billing.pricing import previous_month
from billing.services.invoices import billing_period_close
from weatherapi.errors import InvalidParameter


class Command(BaseCommand):
    help = "Issue the invoices of a calendar month (UTC; default: the month that just ended). Safe to run twice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", help="YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["period"]:
            match = re.fullmatch(r"(\d{4})-(\d{2})", options["period"])
            if not match or not 1 <= int(match.group(2)) <= 12:
                raise CommandError("--period must be YYYY-MM")
            period = date(int(match.group(1)), int(match.group(2)), 1)
        else:
            period = previous_month(timezone.now().date())
        try:
            issued = billing_period_close(period=period)
        except InvalidParameter as e:
            raise CommandError(e.detail) from e
        self.stdout.write(f"period {period:%Y-%m}: issued {issued} invoices")
