"""Pure pricing: calendar periods and invoice lines from a plan and a billable count.

Shared by ``close_billing_period`` (issued invoices) and ``GET /v1/account`` (the
upcoming invoice), so the preview and the bill can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from billing.models import InvoiceLine, Plan

CENT = Decimal("0.01")


def ceil_to_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_CEILING)


def overage_charge(*, requests: int, price_per_1000: Decimal) -> Decimal:
    """What ``requests`` beyond the included amount cost: the invoice's overage line."""
    return ceil_to_cent(Decimal(requests) * Decimal(price_per_1000) / Decimal(1000))


# The throttle's script compares counts as Lua numbers (doubles), exact up to 2**53: a cap
# beyond it could not be enforced exactly, and no month comes near it; it counts as none.
MAX_REQUEST_CAP = 2**53 - 1


def monthly_request_cap(*, plan: Plan, spend_cap: Decimal | None) -> int | None:
    """How many billable requests a calendar month may take before they are refused
    (``quota_exceeded``), or None when nothing refuses them.

    * A plan without an overage price: its included amount (its hard cap), whatever the cap.
    * A plan with one and no spend cap: None (overage is billed).
    * A plan with one and a spend cap, which counts the monthly fee and the overage
      together: the included amount plus the most overage requests whose line keeps the
      invoice at or under the cap. The fee is owed whatever the usage, so a cap below it
      leaves no overage: the included amount, then refusals.

    Exact: the overage line is ``ceil_to_cent(n × price / 1000)`` and the money left after
    the fee is whole cents, so ``n × price / 1000 <= left`` is the condition, solved as a
    fraction of integers (no rounding); ``overage_charge`` is the same line the invoice prints.
    """
    if plan.overage_per_1000 is None:
        return plan.included_requests
    if spend_cap is None:
        return None
    fee = Decimal(plan.monthly_fee).quantize(CENT)  # as invoice_draft prints it
    left = (Decimal(spend_cap) - fee).quantize(CENT, rounding=ROUND_FLOOR)
    price = Decimal(plan.overage_per_1000)
    if left < 0:
        return plan.included_requests
    if price == 0:
        return None  # overage costs nothing: the invoice is the fee, within the cap
    left_num, left_den = (left * 1000).as_integer_ratio()
    price_num, price_den = price.as_integer_ratio()
    overage = (left_num * price_den) // (left_den * price_num)
    cap = plan.included_requests + overage
    return cap if cap <= MAX_REQUEST_CAP else None


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(period: date) -> date:
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def previous_month(period: date) -> date:
    first = month_start(period)
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def period_bounds(period: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in UTC."""
    start = month_start(period)
    end = next_month(start)
    return datetime(start.year, start.month, 1, tzinfo=UTC), datetime(end.year, end.month, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DraftLine:
    kind: str
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class DraftInvoice:
    plan_code: str
    plan_name: str
    billable_requests: int
    included_requests: int
    lines: tuple[DraftLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00")).quantize(CENT)

    @property
    def overage_requests(self) -> int:
        return next((line.quantity for line in self.lines if line.kind == InvoiceLine.Kind.OVERAGE), 0)


def invoice_draft(*, plan: Plan, billable_requests: int) -> DraftInvoice:
    """The monthly fee, and overage = ceil_to_cent(overage × price per 1,000 / 1,000).

    A hard-capped plan has no overage line: its cap refuses the calls instead (the
    per-process fallback limiter may let a few through while Redis is down; not billed).
    """
    lines: list[DraftLine] = []
    if plan.monthly_fee > 0:
        lines.append(DraftLine(InvoiceLine.Kind.FEE, f"{plan.name} plan, monthly fee", 1,
                               Decimal(plan.monthly_fee), Decimal(plan.monthly_fee).quantize(CENT)))
    if plan.overage_per_1000 is not None:
        overage = max(0, billable_requests - plan.included_requests)
        if overage > 0:
            price = Decimal(plan.overage_per_1000)
            lines.append(DraftLine(
                InvoiceLine.Kind.OVERAGE,
                f"{overage:,} requests beyond the {plan.included_requests:,} included, per 1,000",
                overage, price, overage_charge(requests=overage, price_per_1000=price),
            ))
    return DraftInvoice(plan.code, plan.name, billable_requests, plan.included_requests, tuple(lines))
