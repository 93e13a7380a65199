"""The caller's running period, as ``GET /v1/account`` and the portal show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from billing.models import Plan
from billing.pricing import (
    DraftInvoice,
    invoice_draft,
    month_start,
    monthly_request_cap,
    next_month,
    period_bounds,
)
from billing.selectors.plans import plan_current_for_account, spend_cap_for_account
from billing.selectors.usage import usage_billable_for_account


@dataclass(frozen=True, slots=True)
class AccountPeriod:
    plan: Plan
    period_start: date
    period_end: date  # exclusive: the first day of next month
    resets_at: datetime
    quota_used: int
    billable_requests: int
    upcoming: DraftInvoice
    spend_cap: Decimal | None
    # Billable requests this month before calls are refused (the throttle's cap); None: no cap.
    request_cap: int | None

    @property
    def quota_remaining(self) -> int:
        return max(0, self.plan.included_requests - self.quota_used)


def account_period(*, account_id: int, month_counter: int | None = None) -> AccountPeriod | None:
    """Plan, quota and upcoming invoice of the current calendar month (UTC).

    The quota counts billable requests. Quota used is the stored rollups' billable count,
    or the throttle's monthly counter (``month_counter``: billable answers including those
    still in the usage stream, plus answers being computed) when that is higher. Billable
    requests and the upcoming invoice come from the rollups: what has reached the database.
    """
    plan = plan_current_for_account(account_id=account_id)
    if plan is None:
        return None
    today = timezone.now().date()
    start, end = month_start(today), next_month(today)
    billable = usage_billable_for_account(account_id=account_id, start=start, end=end)
    quota_used = billable if month_counter is None else max(billable, month_counter)
    spend_cap = spend_cap_for_account(account_id=account_id)
    return AccountPeriod(
        plan=plan, period_start=start, period_end=end, resets_at=period_bounds(start)[1],
        quota_used=quota_used, billable_requests=billable,
        upcoming=invoice_draft(plan=plan, billable_requests=billable),
        spend_cap=spend_cap, request_cap=monthly_request_cap(plan=plan, spend_cap=spend_cap),
    )
