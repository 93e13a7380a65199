"""Writes of the billing app, split by sub-domain; the names here are the public surface."""

from billing.services.plans import plan_upsert, subscription_change
from billing.services.spend_cap import spend_cap_set

__all__ = ["plan_upsert", "spend_cap_set", "subscription_change"]
