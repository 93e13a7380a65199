"""Portal usage and billing pages: login required, scoped to the user's account."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Subscription, UsageDaily
from billing.services.invoices import billing_period_close
from tests.billing.conftest import make_plan, subscribe
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, account):
    client.force_login(account.owner)
    return client


def _invoice(account) -> str:
    account.created_at = datetime(2026, 9, 1, tzinfo=UTC)
    account.save(update_fields=["created_at"])
    subscribe(account, make_plan("dev", included=0, overage=Decimal("1.0000"), fee=Decimal("3.00")))
    Subscription.objects.filter(account=account).update(started_at=datetime(2026, 9, 2, tzinfo=UTC))
    UsageDaily.objects.create(day=date(2026, 10, 4), account=account, credential_type="api_key", credential_id=1,
                              endpoint="geocode", mode="live", requests=1500, billable=1500, errors=0)
    billing_period_close(period=date(2026, 10, 1))
    return account.invoices.get().number


@pytest.mark.parametrize("path", ["/portal/usage/", "/portal/billing/", "/portal/billing/invoices/WX-1.csv"])
def test_login_required(client, db, path):
    answer = client.get(path)
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_dashboard_shows_the_plan_and_this_months_usage(signed_in, account):
    subscribe(account, make_plan("dev", included=5000, overage=Decimal("1.0000")))
    UsageDaily.objects.create(day=timezone.now().date(), account=account, credential_type="api_key",
                              credential_id=1, endpoint="geocode", mode="live", requests=4400, billable=4321,
                              errors=79)
    body = signed_in.get("/portal/").content.decode()
    assert "4,321" in body and "5,000" in body and "4,400" in body


def test_usage_page_has_an_svg_chart_and_a_table(signed_in, account):
    today = timezone.now().date()
    UsageDaily.objects.create(day=today - timedelta(days=1), account=account, credential_type="api_key",
                              credential_id=1, endpoint="weather.current", mode="live", requests=42, billable=40,
                              errors=2)
    html = signed_in.get("/portal/usage/").content.decode()
    assert "<svg" in html and html.count("<rect") == 30
    assert "42 calls, 40 billable, 2 errors" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_billing_page_lists_plan_upcoming_and_invoices(signed_in, account):
    number = _invoice(account)
    html = signed_in.get("/portal/billing/").content.decode()
    assert "Plan: Dev" in html and number in html and "4.50 USD" in html
    assert "Download CSV" in html and f"/portal/billing/invoices/{number}.csv" in html


def test_invoice_csv(signed_in, account):
    number = _invoice(account)
    answer = signed_in.get(f"/portal/billing/invoices/{number}.csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = answer.content.decode().strip().splitlines()
    assert rows[0].startswith("invoice,period,kind")
    assert rows[-1].endswith("total,Total,,,4.50,USD")


def test_someone_elses_invoice_is_404(client, account):
    number = _invoice(account)
    other = AccountFactory()
    client.force_login(other.owner)
    assert client.get(f"/portal/billing/invoices/{number}.csv").status_code == 404
    assert number not in client.get("/portal/billing/").content.decode()
