"""Portal forms. Labels are bound to inputs by Django (``id_for_label``)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django import forms
from django.utils import timezone

from accounts.models import CredentialMode

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
