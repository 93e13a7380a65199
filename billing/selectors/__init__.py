"""Reads of the billing app, split by sub-domain; the names here are the public surface."""

from billing.selectors.account import AccountPeriod, account_period
from billing.selectors.invoices import invoice_get_for_account, invoice_list_for_account
from billing.selectors.plans import (
    PlanLimits,
    plan_current_for_account,
    plan_default,
    plan_in_force_at,
    plan_limits_default,
    plan_limits_for_account,
    plans_in_force_at,
    plans_in_force_for_accounts,
    spend_cap_for_account,
)
from billing.selectors.usage import (
    DayUsage,
    UsageTotals,
    usage_billable_by_account,
    usage_billable_for_account,
    usage_billable_for_accounts,
    usage_daily_series,
    usage_month_to_date,
)

__all__ = [
    "AccountPeriod",
    "account_period",
    "DayUsage",
    "PlanLimits",
    "UsageTotals",
    "invoice_get_for_account",
    "invoice_list_for_account",
    "plan_current_for_account",
    "plan_default",
    "plan_in_force_at",
    "plan_limits_default",
    "plan_limits_for_account",
    "plans_in_force_at",
    "plans_in_force_for_accounts",
    "spend_cap_for_account",
    "usage_billable_by_account",
    "usage_billable_for_account",
    "usage_billable_for_accounts",
    "usage_daily_series",
    "usage_month_to_date",
]
