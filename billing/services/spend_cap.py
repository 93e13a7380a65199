"""The account's monthly spend cap (docs/design.md, plans and throttles)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from billing.limits import plan_limits_forget
from billing.models import BillingSettings
from weatherapi.errors import InvalidParameter

# BillingSettings.spend_cap: 12 digits, 2 of them decimals.
SPEND_CAP_MAX = Decimal("9999999999.99")


def spend_cap_set(*, account: Account, spend_cap: Decimal | None) -> BillingSettings:
    """Set (or, with None, remove) the account's monthly spend cap: the most it pays for a
    calendar month, monthly fee and overage together. The throttle refuses billable calls
    past what the cap pays for from the account's next request on (its limits are read
    again once this commits), for the rest of the month and the months after; calls
    already answered stay billed, also when the new cap is below what they cost."""
    if spend_cap is not None:
        if not spend_cap.is_finite() or spend_cap < 0:
            raise InvalidParameter("spend_cap must not be negative.", errors={"spend_cap": ["Must be 0 or more."]})
        if spend_cap > SPEND_CAP_MAX or spend_cap % Decimal("0.01") != 0:
            raise InvalidParameter(
                "spend_cap must have at most two decimals and at most 10 digits before them.",
                errors={"spend_cap": ["At most two decimals and at most 10 digits before them."]},
            )
    with transaction.atomic():
        row, _ = BillingSettings.objects.update_or_create(
            account=account, defaults={"spend_cap": spend_cap, "updated_at": timezone.now()}
        )
        transaction.on_commit(lambda: plan_limits_forget(account_ids=[account.pk]))
    return row
