"""Writes for plans and subscriptions."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Account, AuditEvent, User
from billing.limits import plan_limits_forget
from billing.models import Plan, Subscription
from billing.plans import DEFAULT_PLAN_CODE
from weatherapi.errors import InvalidParameter


@transaction.atomic
def plan_upsert(
    *,
    code: str,
    name: str,
    requests_per_minute: int,
    included_requests: int,
    overage_per_1000: Decimal | None = None,
    monthly_fee: Decimal = Decimal("0.00"),
) -> tuple[Plan, bool]:
    """Create or update a plan by code. Returns (plan, created)."""
    if requests_per_minute < 1:
        raise InvalidParameter("requests per minute must be at least 1")
    if included_requests < 0:
        raise InvalidParameter("included requests must not be negative")
    if monthly_fee < 0 or (overage_per_1000 is not None and overage_per_1000 < 0):
        raise InvalidParameter("prices must not be negative")
    plan, created = Plan.objects.select_for_update().update_or_create(
        code=code,
        defaults={
            "name": name,
            "requests_per_minute": requests_per_minute,
            "included_requests": included_requests,
            "overage_per_1000": overage_per_1000,
            "monthly_fee": monthly_fee,
        },
    )
    if not created:
        # The throttle reads each account's limits from its own cache: make every
        # subscriber re-read them.
        account_ids = set(plan.subscriptions.values_list("account_id", flat=True))
        if plan.code == DEFAULT_PLAN_CODE:
            # Accounts with no subscription at all are on the default plan too.
            account_ids |= set(Account.objects.filter(subscriptions__isnull=True).values_list("id", flat=True))
        ids = sorted(account_ids)
        transaction.on_commit(lambda: plan_limits_forget(account_ids=ids))
    return plan, created


@transaction.atomic
def subscription_change(*, account: Account, plan: Plan, actor: User | None = None) -> Subscription:
    """Move the account to ``plan`` from now on."""
    current = (
        Subscription.objects.filter(account=account, started_at__lte=timezone.now())
        .order_by("-started_at", "-id")
        .first()
    )
    if current is not None and current.plan_id == plan.pk:
        return current
    subscription = Subscription.objects.create(account=account, plan=plan)
    AuditEvent.objects.create(
        account=account,
        actor=actor,
        action=AuditEvent.Action.PLAN_CHANGED,
        target=plan.code,
        details={"from": current.plan.code if current else None},
    )
    transaction.on_commit(lambda: plan_limits_forget(account_ids=[account.pk]))
    return subscription
