"""Portal pages: usage and billing of the signed-in user's account (login required)."""

from __future__ import annotations

import csv
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from accounts import selectors as account_selectors
from accounts.models import Account
from accounts.views import PortalView
from billing.charts import daily_bar_chart
from billing.forms import SpendCapForm, UsagePeriodForm
from billing.selectors import (
    account_period,
    invoice_get_for_account,
    invoice_list_for_account,
    usage_month_to_date,
)
from billing.selectors.usage_report import (
    PERIOD_DAYS,
    Period,
    usage_export_rows,
    usage_period,
    usage_report,
)
from billing.services import spend_cap_set
from billing.throttles import limiter_peek


class DashboardView(PortalView):
    """``/portal/``: the account's plan, this month's usage, credentials and recent events."""

    def get(self, request: HttpRequest) -> HttpResponse:
        # The quota number of /v1/account and the RateLimit headers: the throttle's counter.
        period = account_period(
            account_id=self.account.pk, month_counter=limiter_peek(account_id=self.account.pk).month_counter
        )
        context = {
            **self.base_context(),
            # account_period is None exactly when the account has no plan.
            "plan": period.plan if period is not None else None,
            "period": period,
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


def _period(request: HttpRequest) -> Period | None:
    """The period ``?days=`` asks for (docs: billing/forms.py), None when it is not one we offer."""
    form = UsagePeriodForm(request.GET)
    return usage_period(days=form.cleaned_data["days"]) if form.is_valid() else None


class UsagePageView(BillingPortalView):
    """``/portal/usage/?days=7|30|90``: calls by day, endpoint, credential and error status."""

    def get(self, request: HttpRequest) -> HttpResponse:
        period = _period(request)
        context: dict[str, Any] = {"account": self.account, "periods": PERIOD_DAYS}
        if period is None:
            return render(request, "billing/usage.html", {**context, "bad_period": True}, status=400)
        report = usage_report(account_id=self.account.pk, period=period)
        return render(request, "billing/usage.html",
                      {**context, "report": report, "chart": daily_bar_chart(report.series)})


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection);
# credential names are the user's own text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_START) else text


class UsageCsvView(BillingPortalView):
    """``/portal/usage/export.csv?days=7|30|90``: the period's daily rollup rows."""

    def get(self, request: HttpRequest) -> HttpResponse:
        period = _period(request)
        if period is None:
            return HttpResponse("days must be one of 7, 30 or 90.\n", status=400,
                                content_type="text/plain; charset=utf-8")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        filename = f"usage-{period.start:%Y-%m-%d}-to-{period.end:%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        writer = csv.writer(response)
        writer.writerow(["day", "credential_type", "credential_id", "credential", "endpoint", "mode", "requests",
                         "billable", "errors"])
        for row in usage_export_rows(account_id=self.account.pk, period=period):
            writer.writerow([f"{row.day:%Y-%m-%d}", row.credential_type, row.credential_id, _cell(row.credential),
                             row.endpoint, row.mode, row.requests, row.billable, row.errors])
        return response


def _billing_page(view: BillingPortalView, *, form: SpendCapForm | None = None, status: int = 200) -> HttpResponse:
    period = account_period(account_id=view.account.pk)
    if form is None:
        form = SpendCapForm(initial={"spend_cap": period.spend_cap if period is not None else None})
    context = {
        "account": view.account,
        "period": period,
        "invoices": invoice_list_for_account(account_id=view.account.pk),
        "currency": settings.BILLING_CURRENCY,
        "spend_cap_form": form,
    }
    return render(view.request, "billing/billing.html", context, status=status)


class BillingPageView(BillingPortalView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return _billing_page(self)


class SpendCapView(BillingPortalView):
    """``POST /portal/billing/spend-cap/``: set or clear the cap, then back to the billing
    page (Post/Redirect/Get: a reload sends nothing again)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SpendCapForm(request.POST)
        if not form.is_valid():
            return _billing_page(self, form=form, status=400)
        spend_cap = form.cleaned_data["spend_cap"]
        spend_cap_set(account=self.account, spend_cap=spend_cap)
        if spend_cap is None:
            messages.success(request, "The spend cap is removed: overage is billed without a limit.")
        else:
            messages.success(request, f"The spend cap is {spend_cap:.2f} {settings.BILLING_CURRENCY} a month, "
                                      "from your next call on.")
        response = HttpResponseRedirect(reverse("portal-billing"))
        response.status_code = 303
        return response


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
