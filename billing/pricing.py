"""Pure pricing: calendar periods and invoice lines from a plan and a billable count.

Shared by ``close_billing_period`` (issued invoices) and ``GET /v1/account`` (the
upcoming invoice), so the preview and the bill can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, Decimal

from billing.models import InvoiceLine, Plan

CENT = Decimal("0.01")


def ceil_to_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_CEILING)


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
                overage, price, ceil_to_cent(Decimal(overage) * price / Decimal(1000)),
            ))
    return DraftInvoice(plan.code, plan.name, billable_requests, plan.included_requests, tuple(lines))
