from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Every user who signs up gets an account (the billing customer) at once."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            from accounts.models import Account
            from accounts.services import account_create

            if not Account.objects.filter(owner=user).exists():
                account_create(owner=user)
        return user
