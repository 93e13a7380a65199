"""Portal usage and billing pages: login required, scoped to the user's account."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services
from billing.models import Subscription, UsageDaily, UsageErrorDaily
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


@pytest.mark.parametrize("path", ["/portal/usage/", "/portal/usage/export.csv", "/portal/billing/",
                                  "/portal/billing/invoices/WX-1.csv"])
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


def _rollup(account, day, *, ci=1, endpoint="weather.current", requests=1, billable=0, errors=0, statuses=None):
    UsageDaily.objects.create(day=day, account=account, credential_type="api_key", credential_id=ci,
                              endpoint=endpoint, mode="live", requests=requests, billable=billable, errors=errors)
    for status, n in (statuses or {}).items():
        UsageErrorDaily.objects.create(day=day, account=account, credential_type="api_key", credential_id=ci,
                                       endpoint=endpoint, mode="live", status=status, errors=n)


def _table(html: str, name: str) -> list[list[str]]:
    """The body rows of ``<table data-table=name>`` as lists of cell texts."""
    body = re.search(rf'<table data-table="{name}">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_usage_page_shows_where_the_calls_go(signed_in, account):
    key, _ = services.api_key_create(account=account, mode="live", name="backend")
    today = timezone.now().date()
    _rollup(account, today - timedelta(days=3), ci=key.pk, requests=50, billable=45, errors=5, statuses={429: 5})
    _rollup(account, today, ci=key.pk, endpoint="geocode", requests=8, billable=8)
    html = signed_in.get("/portal/usage/").content.decode()
    assert _table(html, "endpoints") == [["/v1/weather/current", "50", "45", "5"], ["/v1/geocode", "8", "8", "0"]]
    assert _table(html, "credentials") == [[f"backend ({key.prefix}…)", "API key", "58", "53", "5"]]
    assert _table(html, "errors") == [["429 Too Many Requests", "quota_exceeded, rate_limited", "5"]]
    # The daily table lists the days with calls, not thirty rows of zeros.
    assert _table(html, "days") == [[f"{today:%Y-%m-%d}", "8", "8", "0"],
                                    [f"{today - timedelta(days=3):%Y-%m-%d}", "50", "45", "5"]]
    assert 'href="/portal/usage/export.csv?days=30"' in html


def test_calls_made_with_a_key_show_up_on_the_usage_page(settings, signed_in, account, live_key, api_client,
                                                        upstream):
    settings.REDIS_URL = None  # metering straight to the database: the rollups are there when the call returns
    api_client.credentials(HTTP_X_API_KEY=live_key)
    answers = [api_client.get("/v1/weather/current", {"lat": lat, "lon": "0"}).status_code for lat in ("51", "999")]
    answers.append(api_client.get("/v1/geocode", {"q": "London,GB"}).status_code)
    assert answers == [200, 400, 200]
    html = signed_in.get("/portal/usage/?days=7").content.decode()
    key = account.api_keys.get()
    assert _table(html, "endpoints") == [["/v1/weather/current", "2", "1", "1"], ["/v1/geocode", "1", "1", "0"]]
    assert _table(html, "credentials") == [[f"{key.prefix}…", "API key", "3", "2", "1"]]
    assert _table(html, "errors") == [["400 Bad Request", "invalid_parameter", "1"]]


@pytest.mark.parametrize(("query", "bars"), [("", 30), ("?days=7", 7), ("?days=30", 30), ("?days=90", 90), ("?days=", 30)])
def test_usage_page_periods(signed_in, account, query, bars):
    today = timezone.now().date()
    _rollup(account, today - timedelta(days=45), requests=7)  # only in the 90 days
    answer = signed_in.get(f"/portal/usage/{query}")
    html = answer.content.decode()
    assert answer.status_code == 200 and html.count("<rect") == bars
    assert f'aria-current="page">Last {bars} days' in html
    if bars == 90:
        assert _table(html, "days") == [[f"{today - timedelta(days=45):%Y-%m-%d}", "7", "0", "0"]]
    else:
        assert 'data-table="days"' not in html and f"No calls in these {bars} days." in html


@pytest.mark.parametrize("days", ["45", "abc", "-7", "7.0"])
def test_a_period_we_do_not_offer_is_a_400(signed_in, account, days):
    page = signed_in.get("/portal/usage/", {"days": days})
    assert page.status_code == 400 and "Choose a period of 7, 30 or 90 days" in page.content.decode()
    export = signed_in.get("/portal/usage/export.csv", {"days": days})
    assert export.status_code == 400 and export["Content-Type"].startswith("text/plain")


def test_usage_csv(signed_in, account):
    key, _ = services.api_key_create(account=account, mode="live", name="=HYPERLINK(1)")
    today = timezone.now().date()
    _rollup(account, today, ci=key.pk, endpoint="geocode.reverse", requests=3, billable=3)
    _rollup(account, today - timedelta(days=6), ci=key.pk, requests=5, billable=4, errors=1, statuses={404: 1})
    _rollup(account, today - timedelta(days=7), ci=key.pk, requests=99)  # outside the 7 days
    answer = signed_in.get("/portal/usage/export.csv?days=7")
    assert answer.status_code == 200 and answer["Content-Type"] == "text/csv; charset=utf-8"
    start = today - timedelta(days=6)
    assert answer["Content-Disposition"] == f'attachment; filename="usage-{start:%Y-%m-%d}-to-{today:%Y-%m-%d}.csv"'
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    label = f"'=HYPERLINK(1) ({key.prefix}…)"  # a spreadsheet must not run the user's text as a formula
    assert rows == [
        ["day", "credential_type", "credential_id", "credential", "endpoint", "mode", "requests", "billable", "errors"],
        [f"{start:%Y-%m-%d}", "api_key", str(key.pk), label, "/v1/weather/current", "live", "5", "4", "1"],
        [f"{today:%Y-%m-%d}", "api_key", str(key.pk), label, "/v1/geocode/reverse", "live", "3", "3", "0"],
    ]


def test_another_accounts_usage_never_appears(signed_in, account):
    other = AccountFactory()
    their_key, _ = services.api_key_create(account=other, mode="live", name="their project")
    today = timezone.now().date()
    _rollup(other, today, ci=their_key.pk, endpoint="air_quality", requests=777, billable=777, errors=3,
            statuses={503: 3})
    for query in ("", "?days=7", "?days=90"):
        html = signed_in.get(f"/portal/usage/{query}").content.decode()
        assert "777" not in html and "their project" not in html and "/v1/air-quality" not in html
        assert "503" not in html and "No calls in these" in html
    export = signed_in.get("/portal/usage/export.csv?days=90").content.decode()
    assert export.strip().splitlines() == [
        "day,credential_type,credential_id,credential,endpoint,mode,requests,billable,errors"]


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
