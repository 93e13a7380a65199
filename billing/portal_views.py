"""Portal pages: usage and billing of the signed-in user's account (login required)."""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from accounts import selectors as account_selectors
from accounts.models import Account
from accounts.views import PortalView
from billing.charts import daily_bar_chart
from billing.selectors import (
    account_period,
    invoice_get_for_account,
    invoice_list_for_account,
    plan_current_for_account,
    usage_daily_series,
    usage_month_to_date,
)
from billing.throttles import limiter_peek


class DashboardView(PortalView):
    """``/portal/``: the account's plan, this month's usage, credentials and recent events."""

    def get(self, request: HttpRequest) -> HttpResponse:
        # The quota number of /v1/account and the RateLimit headers: the throttle's counter.
        rate = limiter_peek(account_id=self.account.pk)
        context = {
            **self.base_context(),
            "plan": plan_current_for_account(account_id=self.account.pk),
            "period": account_period(
                account_id=self.account.pk, month_counter=rate.month_used if rate.source == "redis" else None
            ),
            "usage": usage_month_to_date(account_id=self.account.pk),
            "counts": account_selectors.credential_counts(account=self.account),
            "events": account_selectors.audit_event_recent(account=self.account),
        }
        return render(request, "portal/dashboard.html", context)


class BillingPortalView(LoginRequiredMixin, View):
    account: Account

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        try:
            self.account = request.user.account  # type: ignore[union-attr]
        except Account.DoesNotExist:
            # Admin-made users get their account when they first open the dashboard.
            return redirect("/portal/")
        return super().dispatch(request, *args, **kwargs)


class UsagePageView(BillingPortalView):
    def get(self, request: HttpRequest) -> HttpResponse:
        end = timezone.now().date()
        days = usage_daily_series(account_id=self.account.pk, start=end - timedelta(days=29), end=end)
        context = {
            "account": self.account,
            "days": days,
            "chart": daily_bar_chart(days),
            "totals": {
                "requests": sum(d.requests for d in days),
                "billable": sum(d.billable for d in days),
                "errors": sum(d.errors for d in days),
            },
        }
        return render(request, "billing/usage.html", context)


class BillingPageView(BillingPortalView):
    def get(self, request: HttpRequest) -> HttpResponse:
        context = {
            "account": self.account,
            "period": account_period(account_id=self.account.pk),
            "invoices": invoice_list_for_account(account_id=self.account.pk),
            "currency": settings.BILLING_CURRENCY,
        }
        return render(request, "billing/billing.html", context)


class InvoiceCsvView(BillingPortalView):
    def get(self, request: HttpRequest, number: str) -> HttpResponse:
        invoice = invoice_get_for_account(account_id=self.account.pk, number=number)
        if invoice is None:
            raise Http404("No such invoice.")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="invoice-{invoice.number}.csv"'
        writer = csv.writer(response)
        writer.writerow(["invoice", "period", "kind", "description", "quantity", "unit_price", "amount", "currency"])
        for line in invoice.lines.all():
            writer.writerow([invoice.number, f"{invoice.period:%Y-%m}", line.kind, line.description, line.quantity,
                             line.unit_price, line.amount, invoice.currency])
        writer.writerow([invoice.number, f"{invoice.period:%Y-%m}", "total", "Total", "", "", invoice.total,
                         invoice.currency])
        return response
