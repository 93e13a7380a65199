"""Writes of the billing app, split by sub-domain; the names here are the public surface."""

from billing.services.plans import plan_upsert, subscription_change

__all__ = ["plan_upsert", "subscription_change"]
