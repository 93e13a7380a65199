from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import ApiKey
from accounts.services import account_get_or_create_for_email, api_key_create
from billing.plans import STANDARD_PLANS
from billing.services import plan_upsert

DEMO_EMAIL = "demo@weatherapi.example"


class Command(BaseCommand):
    help = "Create the standard plans and a demo account with a test key. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--print-key", action="store_true",
                            help="create a fresh demo test key and print it on the last line")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        for spec in STANDARD_PLANS:
            plan, created = plan_upsert(**spec)
            self.stderr.write(f"plan {plan.code}: {'created' if created else 'up to date'}")
        account = account_get_or_create_for_email(email=DEMO_EMAIL)
        has_key = ApiKey.objects.filter(account=account, mode="test", revoked_at__isnull=True).exists()
        if options["print_key"] or not has_key:
            # Keys are stored hashed, so a key can only be shown by making a new one.
            _, full_key = api_key_create(account=account, mode="test", name="demo")
            self.stderr.write(f"demo account {DEMO_EMAIL}: new test key (shown once):")
            self.stdout.write(full_key)
        else:
            self.stderr.write(f"demo account {DEMO_EMAIL} already has a test key; --print-key makes a new one")
