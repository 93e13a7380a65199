"""Portal forms of the billing app."""

from __future__ import annotations

from django import forms

from billing.selectors.usage_report import DEFAULT_PERIOD_DAYS, PERIOD_DAYS


class UsagePeriodForm(forms.Form):
    """``?days=`` of the usage page and its CSV export: 7, 30 or 90; absent or empty means
    30; anything else is a 400 (a link that says 45 days must not quietly show 30)."""

    days = forms.TypedChoiceField(
        choices=[(str(n), f"Last {n} days") for n in PERIOD_DAYS],
        coerce=int,
        required=False,
        empty_value=None,
    )

    def clean_days(self) -> int:
        return self.cleaned_data["days"] or DEFAULT_PERIOD_DAYS
