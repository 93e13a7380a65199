"""Billing admin: read-only usage and invoices, subscriptions through the service."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.sites import AdminSite

from accounts.models import Account, AuditEvent, User
from billing.admin import (
    InvoiceAdmin,
    SubscriptionAdmin,
    UsageDailyAdmin,
    UsageErrorDailyAdmin,
    change_plan_action,
)
from billing.models import Invoice, Subscription, UsageDaily, UsageErrorDaily
from billing.selectors import plan_current_for_account
from tests.billing.conftest import make_plan
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser(email="ops@example.com", password="x" * 12)
    client.force_login(user)
    return client


def test_usage_and_invoices_are_read_only(rf):
    request = rf.get("/")
    request.user = User(is_staff=True, is_superuser=True)
    for admin_class, model in ((InvoiceAdmin, Invoice), (UsageDailyAdmin, UsageDaily),
                              (UsageErrorDailyAdmin, UsageErrorDaily)):
        model_admin = admin_class(model, AdminSite())
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_admin_pages_render(admin_client):
    for path in ("/admin/billing/plan/", "/admin/billing/subscription/", "/admin/billing/usagedaily/",
                 "/admin/billing/usageerrordaily/", "/admin/billing/invoice/", "/admin/billing/subscription/add/"):
        assert admin_client.get(path).status_code == 200, path


def test_adding_a_subscription_goes_through_the_service(admin_client):
    account = AccountFactory()
    plan = make_plan("pro", overage=Decimal("0.1"))
    answer = admin_client.post("/admin/billing/subscription/add/", {"account": account.pk, "plan": plan.pk})
    assert answer.status_code == 302
    assert plan_current_for_account(account_id=account.pk) == plan
    assert AuditEvent.objects.filter(account=account, action=AuditEvent.Action.PLAN_CHANGED).exists()
    assert not SubscriptionAdmin(Subscription, AdminSite()).has_delete_permission(None)


def test_change_plan_action(rf):
    accounts = [AccountFactory(), AccountFactory()]
    plan = make_plan("biz", overage=Decimal("0.1"))
    ops = User.objects.create_superuser(email="ops2@example.com", password="x" * 12)

    class FakeAdmin:
        admin_site = AdminSite()
        model = Account
        messages: list[str] = []

        def message_user(self, request, message, level):
            self.messages.append(message)

    request = rf.post("/", {"apply": "1", "plan": plan.pk})
    request.user = ops
    queryset = Account.objects.filter(pk__in=[a.pk for a in accounts])
    assert change_plan_action(FakeAdmin(), request, queryset) is None
    assert all(plan_current_for_account(account_id=a.pk) == plan for a in accounts)
    # Without "apply" it shows the form.
    request = rf.post("/", {})
    request.user = ops
    answer = change_plan_action(FakeAdmin(), request, queryset)
    assert answer is not None and answer.template_name == "billing/admin/change_plan.html"
