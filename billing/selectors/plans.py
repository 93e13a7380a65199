from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from billing.models import BillingSettings, Plan, Subscription
from billing.plans import DEFAULT_PLAN_CODE, STANDARD_PLANS
from billing.pricing import monthly_request_cap


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """What the hot path needs of a plan; cached inside the resolved credential."""

    code: str
    requests_per_minute: int
    included_requests: int
    hard_cap: bool  # the plan has no overage price
    # Billable requests the month may take before the throttle refuses them
    # (``billing.pricing.monthly_request_cap``); None: no cap.
    month_cap: int | None


def plan_limits_default() -> PlanLimits:
    """The standard default plan's limits, as shipped (for when nothing can be read)."""
    free = next(p for p in STANDARD_PLANS if p["code"] == DEFAULT_PLAN_CODE)
    return PlanLimits(
        code=free["code"],
        requests_per_minute=free["requests_per_minute"],
        included_requests=free["included_requests"],
        hard_cap=True,
        month_cap=free["included_requests"],
    )


def plan_current_for_account(*, account_id: int) -> Plan | None:
    return plan_in_force_at(account_id=account_id, when=timezone.now())


def plan_in_force_at(*, account_id: int, when: datetime) -> Plan | None:
    """The plan of the newest subscription started at or before ``when``, else the default plan."""
    subscription = (
        Subscription.objects.filter(account_id=account_id, started_at__lte=when)
        .select_related("plan")
        .order_by("-started_at", "-id")
        .first()
    )
    if subscription is not None:
        return subscription.plan
    return Plan.objects.filter(code=DEFAULT_PLAN_CODE).first()


def spend_cap_for_account(*, account_id: int) -> Decimal | None:
    """The account's monthly spend cap (``BillingSettings``), None when it has none."""
    return BillingSettings.objects.filter(account_id=account_id).values_list("spend_cap", flat=True).first()


def plan_limits_for_account(*, account_id: int) -> PlanLimits:
    plan = plan_current_for_account(account_id=account_id)
    if plan is None:
        return plan_limits_default()
    return PlanLimits(
        code=plan.code,
        requests_per_minute=plan.requests_per_minute,
        included_requests=plan.included_requests,
        hard_cap=plan.hard_cap,
        month_cap=monthly_request_cap(plan=plan, spend_cap=spend_cap_for_account(account_id=account_id)),
    )


def plans_in_force_at(*, when: datetime) -> dict[int, Plan]:
    """Every account's plan at ``when`` (newest subscription started before it): one query."""
    plans: dict[int, Plan] = {}
    subscriptions = (
        Subscription.objects.filter(started_at__lt=when)
        .select_related("plan")
        .order_by("account_id", "-started_at", "-id")
    )
    for subscription in subscriptions.iterator(chunk_size=5000):
        plans.setdefault(subscription.account_id, subscription.plan)
    return plans


def plans_in_force_for_accounts(*, account_ids: Iterable[int], when: datetime) -> dict[int, Plan]:
    """``plans_in_force_at`` for these accounts only (one query); an account without a
    subscription started before ``when`` is left out (the default plan is the caller's)."""
    plans: dict[int, Plan] = {}
    subscriptions = (
        Subscription.objects.filter(account_id__in=list(account_ids), started_at__lt=when)
        .select_related("plan")
        .order_by("account_id", "-started_at", "-id")
    )
    for subscription in subscriptions:
        plans.setdefault(subscription.account_id, subscription.plan)
    return plans


def plan_default() -> Plan | None:
    return Plan.objects.filter(code=DEFAULT_PLAN_CODE).first()
