"""Reads of the billing app, split by sub-domain; the names here are the public surface."""

from billing.selectors.plans import (
    PlanLimits,
    plan_current_for_account,
    plan_in_force_at,
    plan_limits_for_account,
)

__all__ = ["PlanLimits", "plan_current_for_account", "plan_in_force_at", "plan_limits_for_account"]
