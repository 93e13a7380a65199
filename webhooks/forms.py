"""Portal forms of the webhooks page."""

from __future__ import annotations

from django import forms

from webhooks.models import WebhookEvent
from webhooks.targets import MAX_URL_LENGTH

SECRET_GRACE_CHOICES = [
    ("0", "Now"),
    ("3600", "In 1 hour"),
    ("86400", "In 24 hours"),
]


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        max_length=MAX_URL_LENGTH,
        label="URL",
        strip=False,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/weather"}),
        help_text="An https:// URL on the public Internet. We POST each event to it as JSON.",
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        initial=list(WebhookEvent.values),
        widget=forms.CheckboxSelectMultiple,
        label="Events",
    )


class WebhookSecretRotateForm(forms.Form):
    grace_seconds = forms.TypedChoiceField(
        choices=SECRET_GRACE_CHOICES,
        coerce=int,
        initial="86400",
        label="Stop signing with the current secret",
        help_text="Until then each request carries two signatures, one per secret, so your receivers "
                  "verify either way while you deploy the new secret.",
    )
