from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.services import plan_upsert
from weatherapi.errors import InvalidParameter


def _money(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation as e:
        raise CommandError(f"{value!r} is not a decimal amount") from e
    if not amount.is_finite():
        raise CommandError(f"{value!r} is not a decimal amount")
    return amount


class Command(BaseCommand):
    help = ("Create or update a plan. Without --overage-per-1000 the included amount is a hard "
            "monthly cap.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        parser.add_argument("--name", required=True)
        parser.add_argument("--requests-per-minute", type=int, required=True)
        parser.add_argument("--included", type=int, required=True, help="requests included each month")
        parser.add_argument("--overage-per-1000", type=_money, default=None,
                            help="price per 1,000 requests beyond the included amount")
        parser.add_argument("--monthly-fee", type=_money, default=Decimal("0.00"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            plan, created = plan_upsert(
                code=options["code"], name=options["name"],
                requests_per_minute=options["requests_per_minute"], included_requests=options["included"],
                overage_per_1000=options["overage_per_1000"], monthly_fee=options["monthly_fee"],
            )
        except InvalidParameter as e:
            raise CommandError(e.detail) from e
        cap = "hard cap" if plan.hard_cap else f"overage {plan.overage_per_1000} per 1,000"
        self.stdout.write(
            f"plan {plan.code} {'created' if created else 'updated'}: {plan.requests_per_minute}/min, "
            f"{plan.included_requests} included, {cap}, fee {plan.monthly_fee}"
        )
