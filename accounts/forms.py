"""Portal forms. Labels are bound to inputs by Django (``id_for_label``)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from allauth.account import forms as allauth_forms
from allauth.account.models import EmailAddress
from django import forms
from django.contrib.auth.hashers import make_password
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import CredentialMode, User

GRACE_CHOICES = [
    ("0", "Now"),
    ("3600", "In 1 hour"),
    ("86400", "In 24 hours"),
]


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="Something to recognise it by, e.g. “production server”.")
    mode = forms.ChoiceField(
        choices=CredentialMode.choices,
        initial=CredentialMode.TEST,
        widget=forms.RadioSelect,
        help_text="Test keys are answered by the sandbox: synthetic data, never billed.",
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires on (optional)",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The key stops working at 00:00 UTC on this day.",
    )

    def clean_expires_on(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        expires_at = datetime.combine(day, time.min, tzinfo=UTC)
        if expires_at <= timezone.now():
            raise forms.ValidationError("Choose a day after today.")
        return expires_at


class ApiKeyRotateForm(forms.Form):
    grace_seconds = forms.TypedChoiceField(
        choices=GRACE_CHOICES,
        coerce=int,
        initial="0",
        label="Revoke the old key",
        help_text="A grace period lets you deploy the new key before the old one stops working.",
    )


class OAuthClientCreateForm(forms.Form):
    name = forms.CharField(max_length=100)
    mode = forms.ChoiceField(
        choices=CredentialMode.choices,
        initial=CredentialMode.TEST,
        widget=forms.RadioSelect,
        help_text="Test clients are answered by the sandbox: synthetic data, never billed.",
    )


def _is_taken(email: str) -> bool:
    """Whether ``email`` belongs to an account: some user's sign-up (login) address, or a
    verified address. An unverified address on someone else's account claims nothing."""
    return (
        User.objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email, verified=True).exists()
    )


class SignupForm(allauth_forms.SignupForm):
    """allauth's sign-up, with two changes (docs/security.md, API2 and API6).

    - A known email costs what a new one does: the password is hashed either way (PBKDF2 is
      nearly all of a new sign-up's time), so the answer's timing does not tell which.
    - Only a taken address (``_is_taken``) counts as an existing account. An unverified
      address parked on another account does not stop its owner from signing up; it is
      removed when they do.
    """

    def validate_unique_email(self, value: str) -> str:
        from allauth.account.adapter import get_adapter

        email = get_adapter().validate_unique_email(value)
        # ACCOUNT_PREVENT_ENUMERATION with mandatory verification: no error, an email instead.
        self.account_already_exists = _is_taken(email)
        return email

    def try_save(self, request: HttpRequest) -> tuple[Any, Any]:
        password = self.cleaned_data.get("password1") or ""
        if self.account_already_exists:
            make_password(password)  # the work set_password() does for a new user
        else:
            EmailAddress.objects.filter(email__iexact=self.cleaned_data["email"], verified=False).delete()
        return super().try_save(request)


class ResetPasswordForm(allauth_forms.ResetPasswordForm):
    """A reset link goes only to a user for whom the address is verified or is their own
    sign-up address, never to another account through an unverified address parked on it."""

    users: list[Any]

    def clean_email(self) -> str:
        email = super().clean_email()
        verified = EmailAddress.objects.filter(email__iexact=email, verified=True).values_list("user_id", flat=True)
        allowed = set(User.objects.filter(Q(email__iexact=email) | Q(pk__in=verified)).values_list("pk", flat=True))
        self.users = [user for user in self.users if user.pk in allowed]
        return email
