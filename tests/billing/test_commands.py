"""upsert_plan and prune_usage."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Plan

pytestmark = pytest.mark.django_db


def test_upsert_plan_creates_then_updates(capsys):
    call_command("upsert_plan", "startup", "--name", "Startup", "--requests-per-minute", "120", "--included", "5000",
                 "--overage-per-1000", "0.25", "--monthly-fee", "19.00")
    plan = Plan.objects.get(code="startup")
    assert (plan.requests_per_minute, plan.included_requests, plan.overage_per_1000, plan.monthly_fee) == (
        120, 5000, Decimal("0.25"), Decimal("19.00"))
    assert not plan.hard_cap
    call_command("upsert_plan", "startup", "--name", "Startup", "--requests-per-minute", "60", "--included", "100")
    plan.refresh_from_db()
    assert plan.hard_cap and plan.requests_per_minute == 60 and plan.monthly_fee == Decimal("0.00")
    assert "updated" in capsys.readouterr().out


@pytest.mark.parametrize("args", [
    ["--requests-per-minute", "0", "--included", "1"],
    ["--requests-per-minute", "1", "--included", "-1"],
    ["--requests-per-minute", "1", "--included", "1", "--monthly-fee", "abc"],
    ["--requests-per-minute", "1", "--included", "1", "--overage-per-1000", "-1"],
])
def test_upsert_plan_rejects_bad_values(args):
    with pytest.raises(CommandError):
        call_command("upsert_plan", "bad", "--name", "Bad", *args)


def test_seed_demo_plans_match_the_contract():
    call_command("seed_demo")
    free = Plan.objects.get(code="free")
    assert free.requests_per_minute == 60 and free.included_requests == 1_000_000 and free.hard_cap
    assert not Plan.objects.get(code="developer").hard_cap


def test_prune_usage_command(capsys):
    call_command("prune_usage", "--days", "30")
    assert "deleted 0" in capsys.readouterr().out
