"""Closing a billing period: one immutable invoice per account and month.

* Which accounts: every account created before the period ended (a free account gets a
  0.00 statement, so "one invoice per account and period" has no exceptions).
* Which plan: the plan in force at the end of the period (the newest subscription
  started before it) prices the whole month, fee and included amount. A mid-month
  upgrade thus takes effect for the whole month it happened in; that matches the quota,
  which is switched at once and not prorated either.
* What is billed: live billable requests from the daily rollups (test mode is never
  billable), one aggregate query for all accounts, so 10,000 accounts over 10,000,000
  events close in seconds.
* Twice, or two runs at once: each chunk's transaction first takes the lock of the year's
  ``InvoiceSequence`` row, then skips the accounts invoiced meanwhile, so runs take turns
  and no number is spent twice or wasted; a second run finds every account invoiced. The
  unique (account, period) constraint stays the last word: inserts ignore conflicts, and
  lines go only to the rows carrying the run's own id.
* Numbers: ``WX-<year of issue>-<n>`` (``WX-2026-000123``), consecutive per issuer and year
  in account order within a run; opaque (no account id in them), unique by constraint.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from billing.models import Invoice, InvoiceLine, InvoiceSequence
from billing.pricing import invoice_draft, month_start, period_bounds
from billing.selectors import plan_default, plans_in_force_at, usage_billable_by_account
from weatherapi.errors import InvalidParameter
from weatherapi.metrics import INVOICES_ISSUED

_CHUNK = 1000


ISSUER_PREFIX = "WX"


def invoice_number(*, prefix: str, year: int, sequence: int) -> str:
    return f"{prefix}-{year}-{sequence:06d}"


def _sequence_locked(*, prefix: str, year: int) -> InvoiceSequence:
    """The year's sequence row, locked until the surrounding transaction ends. The lock is
    taken by a write (an UPDATE that changes nothing) rather than SELECT … FOR UPDATE: that
    is a row lock on PostgreSQL and the database's write lock on SQLite, where
    ``select_for_update`` does nothing. The row must exist (created before the transaction)."""
    InvoiceSequence.objects.filter(prefix=prefix, year=year).update(last=F("last"))
    return InvoiceSequence.objects.get(prefix=prefix, year=year)


def billing_period_close(*, period: date, now: datetime | None = None) -> int:
    """Issue the period's missing invoices. Returns how many this call issued."""
    period = month_start(period)
    start, end = period_bounds(period)
    now = now or timezone.now()
    if end > now:
        raise InvalidParameter(f"The period {period:%Y-%m} has not ended yet.")
    run = uuid.uuid4()
    invoiced = set(Invoice.objects.filter(period=period).values_list("account_id", flat=True))
    account_ids = [
        a for a in Account.objects.filter(created_at__lt=end).order_by("id").values_list("id", flat=True)
        if a not in invoiced
    ]
    if not account_ids:
        return 0
    plans = plans_in_force_at(when=end)
    fallback = plan_default()
    billable = usage_billable_by_account(start=start.date(), end=end.date())
    InvoiceSequence.objects.get_or_create(prefix=ISSUER_PREFIX, year=now.year)
    issued = 0
    for offset in range(0, len(account_ids), _CHUNK):
        chunk = account_ids[offset : offset + _CHUNK]
        drafts = {}
        for account_id in chunk:
            plan = plans.get(account_id, fallback)
            if plan is None:
                continue  # no plan at all (no default plan in the database): nothing to price
            drafts[account_id] = invoice_draft(plan=plan, billable_requests=billable.get(account_id, 0))
        with transaction.atomic():
            sequence = _sequence_locked(prefix=ISSUER_PREFIX, year=now.year)
            # Under the lock: what another run invoiced meanwhile is committed and skipped.
            done = set(Invoice.objects.filter(period=period, account_id__in=list(drafts))
                       .values_list("account_id", flat=True))
            todo = [account_id for account_id in drafts if account_id not in done]
            if not todo:
                continue
            invoices = []
            for i, account_id in enumerate(todo, start=sequence.last + 1):
                d = drafts[account_id]
                invoices.append(Invoice(
                    account_id=account_id, period=period,
                    number=invoice_number(prefix=ISSUER_PREFIX, year=now.year, sequence=i),
                    plan_code=d.plan_code, plan_name=d.plan_name, currency=settings.BILLING_CURRENCY,
                    billable_requests=d.billable_requests, included_requests=d.included_requests,
                    total=d.total, issued_at=now, close_run=run,
                ))
            Invoice.objects.bulk_create(invoices, ignore_conflicts=True)
            InvoiceSequence.objects.filter(pk=sequence.pk).update(last=sequence.last + len(todo))
            mine = Invoice.objects.filter(period=period, account_id__in=list(drafts), close_run=run)
            lines = []
            count = 0
            for invoice in mine.only("id", "account_id"):
                count += 1
                lines += [
                    InvoiceLine(invoice_id=invoice.pk, kind=line.kind, description=line.description,
                                quantity=line.quantity, unit_price=line.unit_price, amount=line.amount)
                    for line in drafts[invoice.account_id].lines
                ]
            InvoiceLine.objects.bulk_create(lines, batch_size=2000)
        INVOICES_ISSUED.inc(count)
        issued += count
    return issued
