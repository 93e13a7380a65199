from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import account_get_or_create_for_email, api_key_create
from billing.models import Plan
from billing.services import subscription_change


class Command(BaseCommand):
    help = "Create an API key (and the user and account if missing). Prints the key alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--test", action="store_true", help="a wx_test_ key answered by the sandbox")
        parser.add_argument("--plan", help="plan code to subscribe the account to")
        parser.add_argument("--name", default="", help="a name for the key")

    def handle(self, *args: Any, **options: Any) -> None:
        plan = None
        if options["plan"]:
            plan = Plan.objects.filter(code=options["plan"]).first()
            if plan is None:
                codes = ", ".join(Plan.objects.values_list("code", flat=True)) or "none"
                raise CommandError(f"No plan {options['plan']!r} (plans: {codes}).")
        account = account_get_or_create_for_email(email=options["email"])
        if plan is not None:
            subscription_change(account=account, plan=plan)
        api_key, full_key = api_key_create(
            account=account, mode="test" if options["test"] else "live", name=options["name"]
        )
        self.stderr.write(f"account {account.pk} ({account.name}), key {api_key.prefix}… mode {api_key.mode}")
        self.stdout.write(full_key)
