"""Billing fixtures: plans, subscriptions, a clean limiter, Redis when configured."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from billing.models import Plan
from billing.plans import STANDARD_PLANS
from billing.services import plan_upsert, subscription_change
from billing.throttles import memory_limiter
from weatherapi.redis import redis_reset


@pytest.fixture(autouse=True)
def _clean_limiter() -> Iterator[None]:
    memory_limiter.clear()
    redis_reset()
    yield
    memory_limiter.clear()
    redis_reset()


@pytest.fixture(autouse=True)
def _standard_plans(request) -> None:
    """The standard plans come from a data migration; a transactional test anywhere before
    (ours or another app's) flushes them. Put them back for every database test."""
    if request.node.get_closest_marker("django_db") is None and not (
        {"db", "transactional_db"} & set(request.fixturenames)
    ):
        return
    request.getfixturevalue("_django_db_helper")
    for spec in STANDARD_PLANS:
        Plan.objects.get_or_create(code=spec["code"], defaults={k: v for k, v in spec.items() if k != "code"})


def make_plan(code: str, *, rpm: int = 1000, included: int = 1_000_000,
              overage: Decimal | None = None, fee: Decimal = Decimal("0.00")) -> Plan:
    plan, _ = plan_upsert(code=code, name=code.title(), requests_per_minute=rpm, included_requests=included,
                          overage_per_1000=overage, monthly_fee=fee)
    return plan


def subscribe(account, plan: Plan) -> None:
    subscription_change(account=account, plan=plan)
