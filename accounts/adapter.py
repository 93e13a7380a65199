from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from accounts.axes import client_ip


def public_url(path: str) -> str:
    """An absolute link for an email: ``PUBLIC_BASE_URL`` and ``path``, never the request's
    ``Host`` (any Host the host check lets through, with any port, would otherwise be linked)."""
    return settings.PUBLIC_BASE_URL + path


class PublicSite:
    """What allauth's email templates read as ``current_site`` (the sites framework is not
    installed; Django's ``RequestSite`` would be the request's Host)."""

    def __init__(self) -> None:
        self.domain = urlsplit(settings.PUBLIC_BASE_URL).netloc
        self.name = "Weather API"

    def __str__(self) -> str:
        return self.domain


class AccountAdapter(DefaultAccountAdapter):
    """Every user who signs up gets an account (the billing customer) at once; links in emails
    are built from ``PUBLIC_BASE_URL``; rate limits key on the real client address."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            from accounts.models import Account
            from accounts.services import account_create

            if not Account.objects.filter(owner=user).exists():
                account_create(owner=user)
        return user

    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's rate limits ("signup": 20/m/ip, "login_failed": 10/m/ip, ...) key on this.
        return client_ip(request) or ""

    # --- Links in emails ------------------------------------------------------------------
    def get_reset_password_from_key_url(self, key: str) -> str:
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return public_url(path.replace("UID-KEY", quote(key)))

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        return public_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def send_account_already_exists_mail(self, email: str) -> None:
        self.send_mail(
            "account/email/account_already_exists",
            email,
            {"signup_url": public_url(reverse("account_signup")),
             "password_reset_url": public_url(reverse("account_reset_password"))},
        )

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        context = {**context, "current_site": PublicSite()}
        if "signup_url" in context:  # the unknown-account and account-exists emails
            context["signup_url"] = public_url(reverse("account_signup"))
        super().send_mail(template_prefix, email, context)
