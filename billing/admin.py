"""Operators' admin for plans, subscriptions, usage rollups and invoices.

Writes go through billing.services, so plan and subscription changes reach cached
credentials at once and are audited. Usage and invoices are read-only: usage is written
by the metering pipeline only, and an issued invoice never changes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.admin import AccountAdmin
from accounts.models import Account
from billing.models import Invoice, InvoiceLine, Plan, Subscription, UsageDaily, UsageErrorDaily
from billing.selectors import plan_current_for_account
from billing.services import plan_upsert, subscription_change


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "monthly_fee", "requests_per_minute", "included_requests", "overage_per_1000",
                    "hard_cap", "is_public")
    search_fields = ("code", "name")

    @admin.display(boolean=True, description="hard cap")
    def hard_cap(self, plan: Plan) -> bool:
        return plan.hard_cap

    def get_readonly_fields(self, request: HttpRequest, obj: Plan | None = None) -> tuple[str, ...]:
        return ("code", "created_at") if obj else ("created_at",)

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        # Through the service: subscribers' cached credentials carry the old limits.
        plan, _ = plan_upsert(
            code=obj.code, name=obj.name, requests_per_minute=obj.requests_per_minute,
            included_requests=obj.included_requests, overage_per_1000=obj.overage_per_1000,
            monthly_fee=obj.monthly_fee,
        )
        if plan.is_public != obj.is_public:
            Plan.objects.filter(pk=plan.pk).update(is_public=obj.is_public)
        obj.pk = plan.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # subscriptions and invoices refer to plans


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Operators add a subscription to move an account to a plan from now on; history stays."""

    list_display = ("account", "plan", "started_at", "created_at")
    list_filter = ("plan",)
    search_fields = ("account__name", "account__owner__email")
    raw_id_fields = ("account",)
    fields = ("account", "plan")
    list_select_related = ("account", "plan")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        created = subscription_change(account=obj.account, plan=obj.plan, actor=request.user)  # type: ignore[arg-type]
        obj.pk = created.pk
        obj.started_at = created.started_at


@admin.register(UsageDaily)
class UsageDailyAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("day", "account", "credential_type", "credential_id", "endpoint", "mode", "requests", "billable",
                    "errors")
    list_filter = ("mode", "endpoint", "credential_type")
    date_hierarchy = "day"
    raw_id_fields = ("account",)
    search_fields = ("account__name",)
    list_select_related = ("account",)


@admin.register(UsageErrorDaily)
class UsageErrorDailyAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("day", "account", "credential_type", "credential_id", "endpoint", "mode", "status", "errors")
    list_filter = ("status", "mode", "endpoint", "credential_type")
    date_hierarchy = "day"
    raw_id_fields = ("account",)
    search_fields = ("account__name",)
    list_select_related = ("account",)


class InvoiceLineInline(_ReadOnly, admin.TabularInline):
    model = InvoiceLine
    fields = ("kind", "description", "quantity", "unit_price", "amount")
    readonly_fields = fields
    extra = 0


@admin.register(Invoice)
class InvoiceAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("number", "account", "period", "plan_code", "billable_requests", "total", "currency", "issued_at")
    list_filter = ("period", "plan_code")
    search_fields = ("number", "account__name", "account__owner__email")
    readonly_fields = ("number", "account", "period", "plan_code", "plan_name", "currency", "billable_requests",
                       "included_requests", "total", "issued_at")
    exclude = ("close_run",)
    inlines = (InvoiceLineInline,)
    list_select_related = ("account",)


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.order_by("monthly_fee", "code"))


@admin.action(description="Change plan of the selected accounts")
def change_plan_action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
    """For the Account admin (below): pick a plan, then every selected
    account is moved to it through ``subscription_change`` (audited, caches invalidated)."""
    if "apply" in request.POST:
        form = ChangePlanForm(request.POST)
        if form.is_valid():
            plan = form.cleaned_data["plan"]
            for account in queryset:
                subscription_change(account=account, plan=plan, actor=request.user)  # type: ignore[arg-type]
            modeladmin.message_user(request, f"{queryset.count()} account(s) moved to {plan.code}.", messages.SUCCESS)
            return None
    else:
        form = ChangePlanForm()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Change plan",
        "form": form,
        "accounts": queryset,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "billing/admin/change_plan.html", context)


# The Account admin belongs to accounts; billing adds what only billing knows (the plan).
admin.site.unregister(Account)


@admin.register(Account)
class BillingAccountAdmin(AccountAdmin):
    list_display = (*AccountAdmin.list_display[:3], "plan", *AccountAdmin.list_display[3:])
    actions = [*AccountAdmin.actions, change_plan_action]

    @admin.display(description="Plan")
    def plan(self, obj: Account) -> str:
        plan = plan_current_for_account(account_id=obj.pk)
        return plan.code if plan else "—"
