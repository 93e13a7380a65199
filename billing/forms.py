"""Portal forms of the billing app."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from billing.selectors.usage_report import DEFAULT_PERIOD_DAYS, PERIOD_DAYS
from billing.services.spend_cap import SPEND_CAP_MAX


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


class SpendCapForm(forms.Form):
    """The billing page's spend cap: an amount, or empty for no cap."""

    spend_cap = forms.DecimalField(
        label="Monthly spend cap",
        required=False,
        min_value=Decimal("0"),
        max_value=SPEND_CAP_MAX,
        max_digits=12,
        decimal_places=2,
        help_text="The most a calendar month may cost, monthly fee and overage together. Past it, billable "
                  "calls are refused with quota_exceeded until the month ends. Leave empty for no cap.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "No cap"}),
    )
