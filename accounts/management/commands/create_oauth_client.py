from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.services import account_get_or_create_for_email, oauth_client_create


class Command(BaseCommand):
    help = "Create an OAuth2 client-credentials client. Prints client_id= and client_secret= lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--test", action="store_true", help="a test-mode client answered by the sandbox")
        parser.add_argument("--name", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        account = account_get_or_create_for_email(email=options["email"])
        client, secret = oauth_client_create(
            account=account, name=options["name"], mode="test" if options["test"] else "live"
        )
        self.stdout.write(f"client_id={client.application.client_id}")
        self.stdout.write(f"client_secret={secret}")
